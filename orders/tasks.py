"""Celery tasks of the shop. Each takes ids, loads rows, calls a service, and is safe to run
twice."""

import datetime

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from .models import IN_FLIGHT_ATTEMPT_STATUSES, Order, OrderStatus, PaymentAttempt


@shared_task(acks_late=True, reject_on_worker_lost=True)
def fulfil_order_task(order_id: int) -> bool:
    from .services.fulfilment import fulfil_order

    order = Order.objects.filter(pk=order_id).first()
    return bool(order) and fulfil_order(order)


@shared_task
def send_order_email_task(order_id: int, kind: str) -> bool:
    """Send an order email once (the OrderEmail row guards it, so a second run sends nothing)."""
    from .emails import send_order_email_once

    order = Order.objects.filter(pk=order_id).first()
    return order is not None and send_order_email_once(order, kind)


@shared_task
def send_refund_email_task(refund_id: int) -> bool:
    """Send a refund's email (its credit note) once: the OrderEmail row per credit note
    guards it."""
    from .emails import send_refund_email_once
    from .models import Refund

    refund = Refund.objects.filter(pk=refund_id).select_related("order__user").first()
    return refund is not None and send_refund_email_once(refund)


@shared_task
def send_key_replaced_email_task(key_id: int) -> bool:
    """Email the customer the key that replaced a faulty one, once (the OrderEmail row per new
    key guards it)."""
    from .emails import send_key_replaced_email_once
    from .models import LicenceKey

    key = (
        LicenceKey.objects.filter(pk=key_id, order_line__isnull=False)
        .select_related("order_line__order__user")
        .first()
    )
    return key is not None and send_key_replaced_email_once(key)


@shared_task
def rescue_unfulfilled_orders_task() -> list[str]:
    """Beat: fulfil paid orders that nothing fulfilled in time (and alert staff about each)."""
    from .services.fulfilment import rescue_unfulfilled_orders

    older_than = datetime.timedelta(minutes=settings.FULFILMENT_RESCUE_AFTER_MINUTES)
    return rescue_unfulfilled_orders(older_than=older_than)


@shared_task
def reconcile_payments_task() -> dict:
    """Ask the gateway about attempts whose customer never came back, then expire unpaid orders
    whose reservation time is over."""
    from .services.checkout import expire_order
    from .services.payments import reconcile_attempt

    grace = datetime.timedelta(minutes=settings.PAYMENT_RECONCILE_AFTER_MINUTES)
    abandon_after = datetime.timedelta(minutes=settings.GATEWAY_CHECKOUT_TIMEOUT_MINUTES)
    now = timezone.now()
    checked = expired = 0
    stale = PaymentAttempt.objects.filter(
        status__in=IN_FLIGHT_ATTEMPT_STATUSES, created_at__lte=now - grace
    ).select_related("order")
    for attempt in stale[:500]:
        try:
            reconcile_attempt(attempt, abandon_after=abandon_after)
            checked += 1
        except Exception:  # one gateway hiccup must not stop the others
            import logging

            logging.getLogger(__name__).exception("reconcile %s failed", attempt.merchant_reference)
    for order in Order.objects.filter(status=OrderStatus.PENDING_PAYMENT, reserved_until__lte=now)[
        :500
    ]:
        expired += expire_order(order)
    return {"checked": checked, "expired": expired}


@shared_task
def send_document_email_task(document_id: int) -> None:
    """Tell the customer a document was rejected and why (they may upload again)."""
    from .emails import send_document_rejected_email
    from .models import VerificationDocument

    document = VerificationDocument.objects.filter(pk=document_id).select_related("order").first()
    if document is not None:
        send_document_rejected_email(document)


@shared_task
def send_key_pool_low_email_task(product_ids: list[int]) -> None:
    """Tell the store managers which licence key pools ran low (once per crossing: the service
    marked the products before enqueuing this; running it twice sends the email twice, which
    is harmless)."""
    from .emails import send_key_pool_low_email
    from .models import Product

    products = list(Product.objects.filter(pk__in=product_ids).order_by("name"))
    if products:
        send_key_pool_low_email(products)
