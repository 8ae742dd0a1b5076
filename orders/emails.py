"""Transactional email about an order, in the customer's preferred language."""

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import translation

from .models import (
    DocumentKind,
    LicenceKey,
    LicenceKeyStatus,
    Order,
    OrderEmail,
    VerificationDocument,
)

KINDS = {"paid", "shipped", "refunded", "verification_requested"}


def _send(order: Order, template: str, context: dict) -> None:
    context = {"order": order, "site_url": settings.SITE_URL, **context}
    with translation.override(order.user.preferred_language):
        subject = render_to_string(f"orders/email/{template}_subject.txt", context).strip()
        body = render_to_string(f"orders/email/{template}.txt", context)
    EmailMessage(subject=subject, body=body, to=[order.email]).send()


def verification_context() -> dict:
    """What the customer is told about verification (email and order page)."""
    required = [DocumentKind(kind).label for kind in settings.VERIFICATION_REQUIRED_KINDS]
    return {
        "required_kinds": required,
        "retention_days": settings.DOCUMENT_RETENTION_DAYS,
        "max_files": settings.VERIFICATION_MAX_FILES,
        "max_mb": settings.DOCUMENT_MAX_UPLOAD_MB,
    }


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
        "lines": list(order.lines.all()),
        "keys": keys,
        "shipment": order.shipments.order_by("-shipped_at").first(),
    }
    if kind == "verification_requested":
        context.update(verification_context())
    _send(order, kind, context)


def send_document_rejected_email(document: VerificationDocument) -> None:
    _send(
        document.order,
        "document_rejected",
        {"document": document, **verification_context()},
    )


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
