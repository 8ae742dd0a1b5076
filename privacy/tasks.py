"""Celery tasks of privacy. Each takes ids, loads rows, calls a service, and is safe to run
twice (the export's status, the closure notice's row and the rules' own conditions guard them)."""

from celery import shared_task
from django.utils import timezone

from .models import AccountClosure, BreachAffected, DataExport


@shared_task(acks_late=True, reject_on_worker_lost=True)
def build_export_task(export_id: int) -> bool:
    from .rights import build_export

    export = DataExport.objects.filter(pk=export_id).first()
    return bool(export) and build_export(export)


@shared_task
def send_export_ready_email_task(export_id: int) -> bool:
    from .rights import send_export_ready_email

    export = DataExport.objects.filter(pk=export_id).select_related("user").first()
    return bool(export) and send_export_ready_email(export)


@shared_task
def send_closure_notice_task(closure_id: int) -> bool:
    from .rights import send_closure_notice

    closure = AccountClosure.objects.filter(pk=closure_id).first()
    return bool(closure) and send_closure_notice(closure)


@shared_task
def send_breach_notice_task(affected_id: int) -> bool:
    from .breach_notices import send_breach_notice

    affected = BreachAffected.objects.filter(pk=affected_id).first()
    return bool(affected) and send_breach_notice(affected)


@shared_task
def retention_task() -> dict[str, int]:
    """The one retention schedule (beat, daily): every discovered rule, for real."""
    from .retention import run_rules

    return {name: len(lines) for name, lines in run_rules(now=timezone.now(), dry_run=False)}
