"""`manage.py retention [--dry-run]`: run every retention rule the apps declare, now."""

import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from privacy import registry
from privacy.retention import run_rules


class Command(BaseCommand):
    help = (
        "Run every declared retention rule (with --dry-run: print what would go, change nothing)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Change nothing; list only.")
        parser.add_argument(
            "--now",
            help="Pretend it is this ISO 8601 moment (to see what a later run would remove).",
        )

    def handle(self, *args, dry_run: bool, now: str | None, **options):
        moment = timezone.now()
        if now:
            try:
                moment = datetime.datetime.fromisoformat(now)
            except ValueError as error:
                raise CommandError(f"--now: {error}") from error
            if timezone.is_naive(moment):
                moment = timezone.make_aware(moment)
        verb = "would delete" if dry_run else "deleted"
        periods = {rule.name: (rule.setting, rule.period) for rule in registry.retention_rules()}
        for name, lines in run_rules(now=moment, dry_run=dry_run):
            setting, period = periods[name]
            self.stdout.write(f"{name} ({setting}={period}): {len(lines)} {verb}")
            for line in lines:
                self.stdout.write(f"  {line}")
