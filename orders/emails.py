"""Transactional email about an order, in the customer's preferred language, as text and HTML
through the shared layout (`ipmart.core.mail`). The templates are `templates/orders/email/
<kind>.txt`, `<kind>.html` and `<kind>_subject.txt`."""

import datetime

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from ipmart.core.mail import send_email
from ipmart.core.message_ids import stable_message_id

from .models import (
    DocumentKind,
    LicenceKey,
    LicenceKeyStatus,
    Order,
    OrderEmail,
    OrderEmailState,
    Refund,
    RefundStatus,
    VerificationDocument,
)

KINDS = {"paid", "shipped", "refunded", "verification_requested", "payment_reversed"}


def order_email_context(order: Order) -> dict:
    return {
        "order": order,
        "order_url": settings.SITE_URL + reverse("orders:detail", args=[order.number]),
    }


def _send(order: Order, template: str, context: dict, *, message_id: str) -> None:
    send_email(
        f"orders/email/{template}",
        {**order_email_context(order), **context},
        to=[order.email],
        language=order.user.preferred_language,
        # stable: a resend after a worker died mid-send is recognised as the same email
        headers={"Message-ID": message_id},
    )


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
    if kind == "payment_reversed":
        context["keys_revoked"] = LicenceKey.objects.filter(
            order_line__order=order, status=LicenceKeyStatus.REVOKED
        ).exists()
    if kind == "refunded":
        latest = order.refunds.filter(status=RefundStatus.DONE).order_by("-refunded_at").first()
        if latest is not None:
            context.update(refund_context(latest))
    _send(order, kind, context, message_id=stable_message_id("order", order.pk, kind))


def refund_context(refund: Refund) -> dict:
    """What the refund email says: the credit note, its lines and amounts (tax included)."""
    from django.urls import reverse

    refund_lines = list(refund.lines.select_related("order_line").order_by("id"))
    return {
        "refund": refund,
        "credit_note": refund.credit_note_number,
        "refund_lines": refund_lines,
        "refund_amount_sen": refund.amount_sen,
        "refund_shipping_sen": refund.shipping_sen,
        "keys_revoked": any(item.order_line.kind == "licence" for item in refund_lines),
        "fully_refunded": refund.order.status == "refunded",
        "credit_note_url": settings.SITE_URL
        + reverse("orders:credit_note", args=[refund.order.number, refund.credit_note_number]),
    }


def send_refund_email_once(refund: Refund) -> bool:
    """Send the refund's email once per credit note (guard row "refunded:<number>", claimed as
    `send_order_email_once` claims its own). Returns True when this call sent it."""
    order = refund.order

    def send() -> None:
        _send(
            order,
            "refunded",
            {"lines": list(order.lines.all()), "keys": [], **refund_context(refund)},
            message_id=stable_message_id("credit-note", refund.pk),
        )

    return _send_once(order, f"refunded:{refund.credit_note_number}", send)


def send_key_replaced_email_once(key: LicenceKey) -> bool:
    """Email the customer `key`, which replaced a faulty key of their order, once per new key
    (guard row "key_replaced:<id>"). Names the old key by its last characters only. Returns
    True when this call sent it."""
    order = key.order_line.order
    replaced = LicenceKey.objects.filter(replaced_by=key).first()

    def send() -> None:
        _send(
            order,
            "key_replaced",
            {"key": key, "line": key.order_line, "replaced": replaced},
            message_id=stable_message_id("key-replaced", key.pk),
        )

    return _send_once(order, f"key_replaced:{key.pk}", send)


def send_document_rejected_email(document: VerificationDocument) -> None:
    _send(
        document.order,
        "document_rejected",
        {"document": document, **verification_context()},
        message_id=stable_message_id("document-rejected", document.pk),
    )


def send_order_email_once(order: Order, kind: str) -> bool:
    """Send the order's `kind` email unless it was sent already (at least once, never twice on
    purpose). The guard row is claimed "sending" and committed before the SMTP conversation,
    and marked "sent" after it: a concurrent second run finds it claimed and sends nothing; a
    send that fails lets go of the claim so the outbox retries it. A row still "sending" after
    the runner's lease (OUTBOX_RUN_LEASE_SECONDS) was left by a runner that died mid-send; the
    SMTP server may or may not have taken that copy and cannot be asked, so the email is sent
    again with the same Message-ID, which mail providers and clients recognise as the same
    email. Returns True when this call sent it."""
    if kind not in KINDS:
        raise ValueError(f"unknown order email {kind!r}")
    return _send_once(order, kind, lambda: send_order_email(order, kind))


def _send_once(order: Order, guard: str, send) -> bool:
    """Claim the OrderEmail row (`order`, `guard`) "sending" in its own committed transaction,
    call `send`, then mark it "sent" (see send_order_email_once)."""
    now = timezone.now()
    lease = datetime.timedelta(seconds=settings.OUTBOX_RUN_LEASE_SECONDS)
    with transaction.atomic():
        try:
            with transaction.atomic():
                claim = OrderEmail.objects.create(
                    order=order, kind=guard, state=OrderEmailState.SENDING, claimed_at=now
                )
        except IntegrityError:
            claim = OrderEmail.objects.select_for_update().get(order=order, kind=guard)
            if claim.state == OrderEmailState.SENT or claim.claimed_at > now - lease:
                return False  # sent, or being sent by a runner that is still alive
            claim.claimed_at = now
            claim.save(update_fields=["claimed_at"])
    try:
        send()
    except BaseException:
        OrderEmail.objects.filter(pk=claim.pk, state=OrderEmailState.SENDING).delete()
        raise
    OrderEmail.objects.filter(pk=claim.pk).update(
        state=OrderEmailState.SENT, sent_at=timezone.now()
    )
    return True


def send_key_pool_low_email(products) -> None:
    """Email every active store manager that these products' key pools are below threshold."""
    from django.contrib.auth import get_user_model
    from django.db.models import Count, Q
    from django.urls import reverse
    from django.utils.translation import gettext as _

    from accounts.roles import STORE_MANAGER

    from .models import Product

    managers = get_user_model().objects.filter(
        is_active=True, is_staff=True, groups__name=STORE_MANAGER
    )
    recipients = sorted({user.email for user in managers})
    if not recipients:
        return
    counted = Product.objects.filter(pk__in=[p.pk for p in products]).annotate(
        left=Count("licence_keys", filter=Q(licence_keys__status=LicenceKeyStatus.AVAILABLE))
    )
    lines = []
    for product in counted.order_by("name"):
        url = settings.SITE_URL + reverse("admin:orders_product_import_keys", args=[product.pk])
        lines.append(
            _(
                "Only %(left)d licence key(s) are left for %(name)s (alert below %(threshold)d).\n"
                "Import more keys: %(url)s\n"
            )
            % {
                "left": product.left,
                "name": product.name,
                "threshold": product.key_low_threshold,
                "url": url,
            }
        )
    names = ", ".join(product.name for product in counted.order_by("name"))
    EmailMessage(
        subject=_("Licence keys running low: %(name)s") % {"name": names},
        body="\n".join(lines),
        to=recipients,
    ).send()
