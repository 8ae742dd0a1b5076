"""Transactional email about an order, in the customer's preferred language."""

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import translation

from .models import LicenceKey, LicenceKeyStatus, Order, OrderEmail

KINDS = {"paid", "shipped", "refunded"}


def send_order_email(order: Order, kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown order email {kind!r}")
    keys = []
    if kind == "paid":
        keys = list(
            LicenceKey.objects.filter(order_line__order=order, status=LicenceKeyStatus.ISSUED)
            .select_related("order_line")
            .order_by("order_line_id", "id")
        )
    context = {
        "order": order,
        "lines": list(order.lines.all()),
        "keys": keys,
        "shipment": order.shipments.order_by("-shipped_at").first(),
        "site_url": settings.SITE_URL,
    }
    with translation.override(order.user.preferred_language):
        subject = render_to_string(f"orders/email/{kind}_subject.txt", context).strip()
        body = render_to_string(f"orders/email/{kind}.txt", context)
    EmailMessage(subject=subject, body=body, to=[order.email]).send()


def send_order_email_once(order: Order, kind: str) -> bool:
    """Send the order's `kind` email unless it was sent already. The guard row is inserted and
    the email sent in one transaction: a concurrent second run waits on the unique index and
    then sends nothing; a send that fails rolls the claim back so the outbox retries it.
    Returns True when this call sent it."""
    if kind not in KINDS:
        raise ValueError(f"unknown order email {kind!r}")
    with transaction.atomic():
        try:
            with transaction.atomic():
                OrderEmail.objects.create(order=order, kind=kind)
        except IntegrityError:
            return False
        send_order_email(order, kind)
    return True
