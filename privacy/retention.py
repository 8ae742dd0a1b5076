"""The one retention schedule: every app's RETENTION_RULES (privacy.registry), run by the daily
beat task `privacy.tasks.retention_task` and by `manage.py retention [--dry-run]`; and the
rules of privacy itself. Lines name things by id or reference, never by personal data."""

from __future__ import annotations

import datetime
import logging

from django.conf import settings

from . import registry
from .exports import delete_export_file
from .models import (
    AccessLog,
    ClosureNotice,
    DataExport,
    DataExportStatus,
    PolicyAcceptance,
)

logger = logging.getLogger(__name__)
BATCH = 500


def run_rules(*, now, dry_run: bool) -> list[tuple[str, list[str]]]:
    """Run every discovered rule; one (rule name, lines) pair each. A rule that fails is logged
    and reported, and the others still run."""
    results = []
    for rule in registry.retention_rules():
        try:
            lines = rule.run(now=now, dry_run=dry_run)
        except Exception:
            logger.exception("retention rule %r failed", rule.name)
            lines = [f"FAILED: {rule.name} (see the log)"]
        results.append((rule.name, lines))
    return results


def delete_expired_exports(*, now, dry_run: bool) -> list[str]:
    """Archives past their link's expiry are crypto-shredded in the vault (key and blob); the
    row stays as "expired" (the customer sees it was prepared and is gone)."""
    exports = list(
        DataExport.objects.select_related("vault_file")
        .filter(status=DataExportStatus.READY, expires_at__lte=now)
        .order_by("pk")[:BATCH]
    )
    if not dry_run:
        for export in exports:
            delete_export_file(export)
            export.status = DataExportStatus.EXPIRED
            export.vault_file = None
            export.save(update_fields=["status", "vault_file"])
    return [f"data export {export.pk}" for export in exports]


def forget_old_ip_addresses(*, now, dry_run: bool) -> list[str]:
    """IP addresses (and browsers) older than IP_ADDRESS_RETENTION_DAYS leave the policy
    acceptances and the access log (the log's trigger allows exactly this one change)."""
    cutoff = now - datetime.timedelta(days=settings.IP_ADDRESS_RETENTION_DAYS)
    acceptances = list(
        PolicyAcceptance.objects.filter(accepted_at__lt=cutoff)
        .exclude(ip_address__isnull=True, user_agent="")
        .order_by("pk")
        .values_list("pk", flat=True)[:BATCH]
    )
    accesses = list(
        AccessLog.objects.filter(at__lt=cutoff, ip_address__isnull=False)
        .order_by("pk")
        .values_list("pk", flat=True)[:BATCH]
    )
    if not dry_run:
        PolicyAcceptance.objects.filter(pk__in=acceptances).update(ip_address=None, user_agent="")
        AccessLog.objects.filter(pk__in=accesses).update(ip_address=None)
    return [f"IP address of policy acceptance {pk}" for pk in acceptances] + [
        f"IP address of access log entry {pk}" for pk in accesses
    ]


def delete_old_closure_notices(*, now, dry_run: bool) -> list[str]:
    """A final email that could not be sent within CLOSURE_NOTICE_RETENTION_DAYS is given up:
    the old address must not stay."""
    cutoff = now - datetime.timedelta(days=settings.CLOSURE_NOTICE_RETENTION_DAYS)
    notices = list(
        ClosureNotice.objects.filter(created_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:BATCH]
    )
    if not dry_run:
        ClosureNotice.objects.filter(pk__in=notices).delete()
    return [f"unsent closure notice {pk}" for pk in notices]
