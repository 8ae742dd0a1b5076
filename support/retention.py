"""Retention of customer service data: resolved and closed inquiries (with their messages and
emails) are deleted SUPPORT_RETENTION_DAYS after their last activity; their attachments are
crypto-shredded in the vault first."""

import datetime

from django.conf import settings
from django.db import transaction

from .models import FINISHED_STATUSES, Inquiry
from .services import attachments_of, shred_attachments


def delete_expired_inquiries(*, now: datetime.datetime, dry_run: bool) -> list[str]:
    """One line per inquiry that goes (or would go): its reference, nothing personal."""
    cutoff = now - datetime.timedelta(days=settings.SUPPORT_RETENTION_DAYS)
    expired = Inquiry.objects.filter(status__in=FINISHED_STATUSES, updated_at__lt=cutoff)
    lines = [
        f"support inquiry {reference} deleted (last activity before {cutoff:%Y-%m-%d})"
        for reference in expired.order_by("id").values_list("reference", flat=True)
    ]
    if not dry_run and lines:
        with transaction.atomic():
            shred_attachments(attachments_of(expired))
            expired.delete()
    return lines
