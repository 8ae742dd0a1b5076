"""Retention of verification documents (run by the retention schedule, see
orders/personal_data_documents.py): a decided document's files are crypto-shredded
DOCUMENT_RETENTION_DAYS after the decision; a waiting document's as soon as its order is
closed (refunded, cancelled). The rows stay as the record of the decision."""

import datetime

from django.conf import settings
from django.db.models import Q

from .models import DocumentStatus, OrderStatus, VerificationDocument
from .services.verification import shred_document

CLOSED = (OrderStatus.REFUNDED, OrderStatus.CANCELLED, OrderStatus.EXPIRED)


def documents_to_shred(*, now: datetime.datetime):
    cutoff = now - datetime.timedelta(days=settings.DOCUMENT_RETENTION_DAYS)
    decided = ~Q(status=DocumentStatus.PENDING) & Q(decided_at__lte=cutoff)
    abandoned = Q(status=DocumentStatus.PENDING, order__status__in=CLOSED)
    return (
        VerificationDocument.objects.filter(shredded_at__isnull=True)
        .filter(decided | abandoned)
        .select_related("order")
        .order_by("id")
    )


def shred_expired_documents(*, now: datetime.datetime, dry_run: bool = False) -> list[str]:
    """Shred what is due. One line per document (ids and order numbers only)."""
    lines = []
    for document in documents_to_shred(now=now)[:1000]:
        why = (
            "waiting, order closed"
            if document.status == DocumentStatus.PENDING
            else "past retention"
        )
        lines.append(f"document {document.pk} of order {document.order.number}: {why}")
        if not dry_run:
            shred_document(document)
    return lines
