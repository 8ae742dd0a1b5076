"""Transactional email about an order, in the customer's preferred language."""

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation

from .models import LicenceKey, LicenceKeyStatus, Order

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
