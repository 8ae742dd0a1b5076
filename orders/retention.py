"""Retention rules of the shop, run by privacy's one retention schedule (`manage.py retention`).

Each takes `now` and `dry_run` and returns one line per thing that goes (or would go), naming it
by id or order number, never by personal data. With dry_run=True nothing changes.

Verification documents: a decided document's files are crypto-shredded DOCUMENT_RETENTION_DAYS
after the decision; a waiting document's as soon as its order is closed (refunded, cancelled,
expired). The rows stay as the record of the decision."""

import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from privacy.models import AccountClosure

from .models import (
    Cart,
    DocumentStatus,
    Fulfilment,
    LicenceKey,
    Order,
    OrderStatus,
    PaymentAttempt,
    Refund,
    Shipment,
    VerificationDocument,
)
from .personal_data import webhook_events_for
from .services.verification import shred_document

BATCH = 500


def years_before(moment: datetime.datetime, years: int) -> datetime.datetime:
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year - years, day=28)


def delete_stale_anonymous_carts(*, now, dry_run: bool) -> list[str]:
    cutoff = now - datetime.timedelta(days=settings.ANONYMOUS_CART_RETENTION_DAYS)
    carts = list(
        Cart.objects.filter(user__isnull=True, updated_at__lt=cutoff).order_by("pk")[:BATCH]
    )
    lines = [f"anonymous cart {cart.pk}" for cart in carts]
    if not dry_run and carts:
        Cart.objects.filter(pk__in=[cart.pk for cart in carts]).delete()
    return lines


def _delete_orders(order_ids: list[int]) -> None:
    """Delete orders and every row that points to them (issued keys included)."""
    with transaction.atomic():
        for document in VerificationDocument.objects.filter(order_id__in=order_ids):
            shred_document(document)  # long past its own retention: normally already shredded
        VerificationDocument.objects.filter(order_id__in=order_ids).delete()
        webhook_events_for(order_ids).delete()
        Refund.objects.filter(order_id__in=order_ids).delete()
        Shipment.objects.filter(order_id__in=order_ids).delete()
        Fulfilment.objects.filter(order_id__in=order_ids).delete()
        PaymentAttempt.objects.filter(order_id__in=order_ids).delete()
        LicenceKey.objects.filter(order_line__order_id__in=order_ids).delete()
        Order.objects.filter(pk__in=order_ids).delete()  # lines and events cascade


def delete_old_unpaid_orders(*, now, dry_run: bool) -> list[str]:
    """Orders that expired or were cancelled without ever being paid are no tax record."""
    cutoff = now - datetime.timedelta(days=settings.UNPAID_ORDER_RETENTION_DAYS)
    orders = list(
        Order.objects.filter(
            status__in=[OrderStatus.EXPIRED, OrderStatus.CANCELLED],
            paid_at__isnull=True,
            placed_at__lt=cutoff,
            refunds__isnull=True,
            shipments__isnull=True,
        )
        .exclude(lines__licence_keys__isnull=False)
        .order_by("placed_at", "pk")
        .values_list("pk", "number")[:BATCH]
    )
    if not dry_run and orders:
        _delete_orders([pk for pk, _ in orders])
    return [f"unpaid order {number}" for _, number in orders]


def delete_orders_of_closed_accounts(*, now, dry_run: bool) -> list[str]:
    cutoff = years_before(now, settings.ORDER_RETENTION_YEARS)
    closed = AccountClosure.objects.values("user_id")
    orders = list(
        Order.objects.filter(user_id__in=closed, placed_at__lt=cutoff)
        .order_by("placed_at", "pk")
        .values_list("pk", "number")[:BATCH]
    )
    if not dry_run and orders:
        _delete_orders([pk for pk, _ in orders])
    return [f"order {number} of a closed account" for _, number in orders]


CLOSED_ORDER_STATUSES = (OrderStatus.REFUNDED, OrderStatus.CANCELLED, OrderStatus.EXPIRED)


def documents_to_shred(*, now: datetime.datetime):
    cutoff = now - datetime.timedelta(days=settings.DOCUMENT_RETENTION_DAYS)
    decided = ~Q(status=DocumentStatus.PENDING) & Q(decided_at__lte=cutoff)
    abandoned = Q(status=DocumentStatus.PENDING, order__status__in=CLOSED_ORDER_STATUSES)
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
