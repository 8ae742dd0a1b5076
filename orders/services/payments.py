"""Payments through the gateway's hosted checkout.

Rules (DESIGN.md "Payments"): the browser's return proves nothing — its RETURNMAC is compared
in constant time and then the gateway is asked; webhooks are verified on the raw body and stored
once per event id; every status goes through `apply_payment_status`, under a row lock on the
order and its attempt, forward only, with amount and currency checked; fulfilment is queued
after commit and happens once; a payment the gateway reports refunded is recorded as a refund
by `refunds.record_gateway_refund` (credit note, keys revoked), once; a payment the customer's
bank took back after the capture (a chargeback or reversal) sends the order to review and alerts
staff, once, whatever the order's state (`_record_reversal`); the gateway's early warning of a
chargeback (CHARGEBACK_NOTIFICATION, still captured) keeps the payment paid and alerts staff
once (`_record_chargeback_warning`)."""

import datetime
import logging
import uuid
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import User
from ipmart.core.alerts import alert_staff
from ipmart.core.money import format_ringgit
from ipmart.core.outbox import enqueue
from orders import gateway
from orders.models import (
    ATTEMPT_RANK,
    IN_FLIGHT_ATTEMPT_STATUSES,
    AttemptStatus,
    LicenceKey,
    LicenceKeyStatus,
    Order,
    OrderEventKind,
    OrderStatus,
    PaymentAttempt,
    WebhookEvent,
)
from privacy.services import record_disclosure

from .checkout import lock_order
from .errors import PaymentError
from .history import move_order, record_event
from .refunds import CAPTURED_STATUSES, paying_attempt, record_gateway_refund

logger = logging.getLogger(__name__)

# The gateway's early warning of a chargeback (statusCategory COMPLETED: still captured).
CHARGEBACK_WARNING = "CHARGEBACK_NOTIFICATION"

GATEWAY_NAME = "Worldline (payment gateway, formerly Global Collect)"

# Gateway statusCategory (and hosted checkout status) → what it means for the attempt.
CATEGORY_TO_STATUS = {
    "COMPLETED": AttemptStatus.PAID,
    "UNSUCCESSFUL": AttemptStatus.FAILED,
    "REFUNDED": AttemptStatus.REFUNDED,
    "REVERSED": AttemptStatus.REVERSED,
    "CREATED": AttemptStatus.PENDING,
    "PENDING_PAYMENT": AttemptStatus.PENDING,
    "PENDING_MERCHANT": AttemptStatus.PENDING,
    "PENDING_CONNECT_OR_3RD_PARTY": AttemptStatus.PENDING,
    "ACCOUNT_VERIFIED": AttemptStatus.PENDING,
}


def has_payment_in_flight(order: Order) -> bool:
    return order.attempts.filter(status__in=IN_FLIGHT_ATTEMPT_STATUSES).exists()


# --- Starting a payment --------------------------------------------------------------------


@transaction.atomic
def _prepare_attempt(order: Order, *, acting_user: User) -> tuple[PaymentAttempt, bool]:
    """Pick the attempt to send the customer to: the one already open at the gateway (a double
    click or the back button), one whose creation failed before (same idempotency key), or a
    new one. Returns (attempt, already_created)."""
    order = lock_order(order)
    if order.user_id != acting_user.pk:
        raise PaymentError(_("This is not your order."))
    if not order.can_pay:
        raise PaymentError(_("This order cannot be paid any more."))
    fresh_after = timezone.now() - datetime.timedelta(minutes=settings.ORDER_RESERVATION_MINUTES)
    open_attempt = (
        order.attempts.filter(status=AttemptStatus.CREATED, created_at__gte=fresh_after)
        .order_by("-created_at")
        .first()
    )
    if open_attempt is not None:
        return open_attempt, bool(open_attempt.hosted_checkout_id)
    number = order.attempts.count() + 1
    attempt = PaymentAttempt.objects.create(
        order=order,
        # The gateway's hosted page shows this reference: the first attempt carries the order
        # number itself, so the customer sees the number of their receipt; a retry (a new
        # checkout needs a new reference) adds "-2", "-3"… after it.
        merchant_reference=order.number if number == 1 else f"{order.number}-{number}",
        idempotency_key=uuid.uuid4(),
        amount_sen=order.total_sen,
        currency=order.currency,
    )
    return attempt, False


def start_payment(order: Order, *, acting_user: User, return_url: str, locale: str) -> str:
    """Create (or reuse) a hosted checkout for `order` and return the gateway URL to send the
    customer to. Records the disclosure of the customer's data to the gateway.

    The gateway is called outside any database transaction; a second click meanwhile reuses the
    attempt and its idempotency key, so the gateway replays the same checkout. Raises
    PaymentError with a message for the customer."""
    attempt, created = _prepare_attempt(order, acting_user=acting_user)
    if created:
        if _still_open_at_gateway(attempt):
            return attempt.redirect_url
        # The gateway forgot or finished that checkout: start a new one (or refuse, if the
        # answer just paid or closed the order).
        attempt, created = _prepare_attempt(order, acting_user=acting_user)
        if created:
            return attempt.redirect_url
    customer = {
        "merchantCustomerId": str(order.user_id),
        "contactDetails": {"emailAddress": order.email},
        "billingAddress": {"countryCode": order.billing_country},
        "locale": locale,
    }
    try:
        checkout = gateway.create_hosted_checkout(
            merchant_reference=attempt.merchant_reference,
            idempotency_key=str(attempt.idempotency_key),
            amount_sen=attempt.amount_sen,
            currency=attempt.currency,
            return_url=return_url,
            customer=customer,
            locale=locale,
        )
    except gateway.GatewayBusy as error:
        raise PaymentError(
            _("Your payment is already being set up. Please wait a moment.")
        ) from error
    except gateway.GatewayError as error:
        raise PaymentError(
            _(
                "The payment provider is not available right now. Your order is kept; please try again."
            )
        ) from error
    if not gateway.redirect_host_allowed(checkout.redirect_url):
        logger.error("gateway sent an unexpected redirect host for %s", attempt.merchant_reference)
        with transaction.atomic():
            PaymentAttempt.objects.filter(pk=attempt.pk).update(status=AttemptStatus.FAILED)
        raise PaymentError(_("The payment provider answered unexpectedly. Please try again later."))
    with transaction.atomic():
        attempt = PaymentAttempt.objects.select_for_update().get(pk=attempt.pk)
        if not attempt.hosted_checkout_id:
            attempt.hosted_checkout_id = checkout.checkout_id
            attempt.returnmac = checkout.returnmac
            attempt.redirect_url = checkout.redirect_url
            attempt.save(
                update_fields=["hosted_checkout_id", "returnmac", "redirect_url", "updated_at"]
            )
            record_event(
                order,
                OrderEventKind.PAYMENT_STARTED,
                f"Hosted checkout {attempt.merchant_reference}",
                actor=acting_user,
            )
            record_disclosure(
                order.user,
                recipient=GATEWAY_NAME,
                # Stored in English; marked so the privacy centre shows them translated.
                data_categories=[
                    gettext_noop("email address"),
                    gettext_noop("billing country"),
                    gettext_noop("customer number"),
                    gettext_noop("order amount"),
                ],
                purpose=gettext_noop("Processing the card payment for your order"),
                reference=order.number,
            )
    return attempt.redirect_url


def _still_open_at_gateway(attempt: PaymentAttempt) -> bool:
    """Ask the gateway about a checkout the customer is about to be sent back to. A checkout it
    no longer knows is closed as abandoned; a finished one gets its status applied. When the
    gateway cannot answer, assume the checkout is still open (the old behaviour)."""
    if not attempt.hosted_checkout_id:
        return False  # never created at the gateway: nothing to go back to
    try:
        status = gateway.get_hosted_checkout(attempt.hosted_checkout_id)
    except gateway.CheckoutUnknown:
        close_unknown_checkout(attempt, source="pay")
        return False
    except gateway.GatewayError:
        return True
    payment = ((status.get("createdPaymentOutput") or {}).get("payment")) or None
    attempt = apply_payment_status(
        attempt, payment=payment, checkout_status=status.get("status"), source="pay"
    )
    return attempt.status == AttemptStatus.CREATED


@transaction.atomic
def close_unknown_checkout(attempt: PaymentAttempt, *, source: str) -> bool:
    """The gateway answers 404 for this attempt's hosted checkout: close the attempt as
    abandoned (expired), so it no longer blocks paying again or cancelling, and the order's
    reservation expires as usual. If the customer did pay after all, the gateway's webhook
    still moves the attempt forward (expired → paid) and the usual rules apply. Returns True
    when this call closed it."""
    order = lock_order(attempt.order)
    closed = PaymentAttempt.objects.filter(
        pk=attempt.pk, status__in=IN_FLIGHT_ATTEMPT_STATUSES
    ).update(status=AttemptStatus.EXPIRED, gateway_status="UNKNOWN_HOSTED_CHECKOUT")
    if closed:
        record_event(
            order,
            OrderEventKind.PAYMENT_CANCELLED,
            f"{attempt.merchant_reference}: the gateway no longer knows this checkout "
            f"({source}); closed as abandoned",
        )
    return bool(closed)


def refresh_payments_in_flight(order: Order) -> None:
    """Ask the gateway about each of the order's attempts still in flight and apply what it
    says (a checkout it no longer knows is closed as abandoned). Calls the gateway outside any
    transaction; a gateway that cannot answer leaves the attempts as they are."""
    attempts = order.attempts.filter(
        status__in=IN_FLIGHT_ATTEMPT_STATUSES, hosted_checkout_id__isnull=False
    )
    for attempt in list(attempts):
        _still_open_at_gateway(attempt)


def cancel_unpaid_order(order: Order, *, acting_user: User) -> Order:
    """The customer cancels an order awaiting payment. Attempts still in flight are checked
    with the gateway first, so a checkout it forgot (or one the customer cancelled there) does
    not block the cancellation. Raises CheckoutError like `cancel_order`."""
    from .checkout import cancel_order

    refresh_payments_in_flight(order)
    return cancel_order(order, acting_user=acting_user)


# --- Applying a status ---------------------------------------------------------------------


def _interpret(
    payment: dict[str, Any] | None, checkout_status: str | None
) -> tuple[str | None, dict[str, Any]]:
    """What a gateway answer means for the attempt: (new status or None, facts)."""
    facts: dict[str, Any] = {
        "payment_id": "",
        "gateway_status": checkout_status or "",
        "amount": None,
        "currency": None,
        "card_country": "",
        "refunded": None,
    }
    if payment:
        output = payment.get("paymentOutput") or {}
        money = output.get("amountOfMoney") or {}
        facts.update(
            payment_id=str(payment.get("id") or ""),
            gateway_status=str(payment.get("status") or ""),
            amount=money.get("amount"),
            currency=money.get("currencyCode"),
            card_country=_card_country(output),
            refunded=output.get("amountRefunded"),
        )
        category = (payment.get("statusOutput") or {}).get("statusCategory")
        return CATEGORY_TO_STATUS.get(str(category)), facts
    if checkout_status == "CANCELLED_BY_CONSUMER":
        return AttemptStatus.CANCELLED, facts
    return None, facts


def _card_country(output: dict[str, Any]) -> str:
    """The card's issuing country when the gateway reports one (ISO 3166 alpha-2). Connect v1's
    card output does not carry it today; a gateway or acquirer that adds `countryCode` to the
    card is read here, and the verification hold rule compares it with the billing country."""
    card = (output.get("cardPaymentMethodSpecificOutput") or {}).get("card") or {}
    country = str(card.get("countryCode") or "")
    return country.upper() if len(country) == 2 and country.isalpha() else ""


# Attempt outcomes that leave the order as it is and only enter its history.
ATTEMPT_EVENTS: dict[str, str] = {
    AttemptStatus.FAILED: OrderEventKind.PAYMENT_FAILED,
    AttemptStatus.CANCELLED: OrderEventKind.PAYMENT_CANCELLED,
    AttemptStatus.PENDING: OrderEventKind.PAYMENT_PENDING,
}
REVIEWABLE_WHEN_UNPAID = (OrderStatus.PENDING_PAYMENT, OrderStatus.EXPIRED, OrderStatus.CANCELLED)


@transaction.atomic
def apply_payment_status(
    attempt: PaymentAttempt,
    *,
    payment: dict[str, Any] | None,
    checkout_status: str | None = None,
    source: str,
) -> PaymentAttempt:
    """Apply what the gateway says about `attempt` (a PaymentResponse dict and/or the hosted
    checkout's status). Forward only; a captured payment whose amount or currency differs from
    the attempt puts the order under review and fulfils nothing. Queues fulfilment after commit
    the first time the order becomes paid; records a payment refunded at the gateway as a
    refund (`record_gateway_refund`) the first time it is reported. Safe to call any number of
    times, concurrently."""
    order = lock_order(attempt.order)
    attempt = PaymentAttempt.objects.select_for_update().get(pk=attempt.pk)
    new_status, facts = _interpret(payment, checkout_status)
    if new_status is None:
        return attempt
    amount = facts["amount"]
    captured = new_status == AttemptStatus.PAID and isinstance(amount, int) and amount >= 0
    if new_status == AttemptStatus.PAID and (
        facts["amount"] != attempt.amount_sen or facts["currency"] != attempt.currency
    ):
        new_status = AttemptStatus.NEEDS_REVIEW
        reason = (
            f"Gateway reported {facts['currency']} {facts['amount']} for "
            f"{attempt.currency} {attempt.amount_sen} ({attempt.merchant_reference})."
        )
    else:
        reason = ""
    # The bank opened a chargeback: the payment stays captured (COMPLETED), staff are warned.
    warning = facts["gateway_status"] == CHARGEBACK_WARNING and new_status == AttemptStatus.PAID
    if new_status == attempt.status:
        if warning:
            _record_chargeback_warning(order, attempt, source=source)
        return attempt
    if ATTEMPT_RANK[new_status] <= ATTEMPT_RANK[attempt.status]:
        logger.info("ignored backward status %s → %s (%s)", attempt.status, new_status, source)
        return attempt
    previous = attempt.status
    attempt.status = new_status
    attempt.gateway_payment_id = facts["payment_id"] or attempt.gateway_payment_id
    attempt.gateway_status = facts["gateway_status"]
    attempt.card_country = facts["card_country"] or attempt.card_country
    if captured:
        # What the gateway took, which a mismatch makes differ from what was asked: refunds of
        # it add up to at most this (`refunds.paid_sen`), and staff see it.
        attempt.captured_sen = amount
        attempt.captured_currency = str(facts["currency"] or "")[:3]
    paying = paying_attempt(order)
    if paying is None and new_status in CAPTURED_STATUSES and attempt.gateway_payment_id:
        # The order's first capture pays for it (refunds go to it); a later one is a duplicate.
        attempt.pays_for_order = True
        paying = attempt
    attempt.save(
        update_fields=[
            "status",
            "gateway_payment_id",
            "gateway_status",
            "card_country",
            "captured_sen",
            "captured_currency",
            "pays_for_order",
            "updated_at",
        ]
    )

    reference = f"{attempt.merchant_reference} via {source}"
    if new_status == AttemptStatus.PAID and order.status == OrderStatus.PENDING_PAYMENT:
        move_order(order, OrderStatus.PAID, event=OrderEventKind.PAID, message=reference)
        enqueue("orders.tasks.fulfil_order_task", order.pk)
    elif new_status == AttemptStatus.PAID:
        # Money arrived for an order that is closed or already paid: a person decides.
        if order.status in REVIEWABLE_WHEN_UNPAID:
            why = f"Paid after the order was {order.status}: refund or re-reserve. {reference}"
        else:
            why = f"Another payment captured for an order already {order.status}: {reference}"
        if paying is not None and paying.pk != attempt.pk:
            why += (
                f" (the order is paid by {paying.merchant_reference}; "
                "refund this one at the gateway)"
            )
        if order.status == OrderStatus.NEEDS_REVIEW:
            record_event(order, OrderEventKind.NOTE, why)
        else:
            move_order(
                order, OrderStatus.NEEDS_REVIEW, event=OrderEventKind.NEEDS_REVIEW, message=why
            )
    elif new_status == AttemptStatus.NEEDS_REVIEW:
        why = reason or f"Gateway reported {facts['gateway_status']}: {reference}"
        if order.status in REVIEWABLE_WHEN_UNPAID:
            move_order(
                order, OrderStatus.NEEDS_REVIEW, event=OrderEventKind.NEEDS_REVIEW, message=why
            )
        else:
            record_event(order, OrderEventKind.NEEDS_REVIEW, why)
    elif new_status == AttemptStatus.REVERSED:
        _record_reversal(order, attempt, previous=previous, facts=facts, reference=reference)
    elif new_status == AttemptStatus.REFUNDED:
        # Refunded at the gateway (its back office) or the echo of the store's own refund:
        # recorded as a refund, once, keys revoked; the gateway is not asked to refund again.
        refunded = facts["refunded"]
        if not isinstance(refunded, int):  # the gateway did not say: all it took
            refunded = attempt.captured[0] if attempt.captured else attempt.amount_sen
        record_gateway_refund(
            attempt,
            refunded_sen=refunded,
            source=reference,
        )
    else:
        record_event(order, ATTEMPT_EVENTS[new_status], reference)
    if warning and attempt.status == AttemptStatus.PAID:
        _record_chargeback_warning(order, attempt, source=source)
    return attempt


def _record_chargeback_warning(order: Order, attempt: PaymentAttempt, *, source: str) -> None:
    """The gateway reports CHARGEBACK_NOTIFICATION for `attempt`, captured (the caller holds
    the order's and the attempt's locks): the customer's bank opened a chargeback, but the
    money is still the store's, so the payment stays paid and the order goes on. The first
    report writes an order event and one staff alert (outbox) to contest it in time; copies
    of the webhook, polls and returns find `chargeback_warned_at` set and write nothing."""
    if attempt.chargeback_warned_at is not None:
        return
    attempt.chargeback_warned_at = timezone.now()
    attempt.gateway_status = CHARGEBACK_WARNING
    attempt.save(update_fields=["chargeback_warned_at", "gateway_status", "updated_at"])
    why = (
        f"Chargeback notified for payment {attempt.merchant_reference} "
        f"({format_ringgit(attempt.amount_sen)}): the customer's bank disputes it; the payment "
        f"is still captured. Contest it at the gateway. {attempt.merchant_reference} via {source}"
    )
    record_event(order, OrderEventKind.NOTE, why)
    alert_staff(
        f"Order {order.number}: chargeback notified by the bank",
        f"Order {order.number}: {why}",
        kind="chargeback warning",
    )


def _record_reversal(
    order: Order,
    attempt: PaymentAttempt,
    *,
    previous: str,
    facts: dict[str, Any],
    reference: str,
) -> None:
    """The customer's bank took `attempt`'s payment back (CHARGEBACKED or REVERSED), reported
    for the first time (the caller holds the order's lock and moved the attempt). The order
    goes to review whatever its state, so nothing more is fulfilled or shipped for money the
    store no longer has (fulfilment and shipping act only on paid orders), and neither the
    store's refund nor "Accept the payment" will act on it; staff are alerted once, with what
    the customer already received. Licence keys already issued are kept, not revoked: a
    chargeback is often disputed and won, and revoking a paying customer's key is not
    undone by the bank's later decision; staff decide (and revoke by hand) after reading it."""
    amount, currency = facts["amount"], facts["currency"]
    if not isinstance(amount, int):
        amount, currency = attempt.amount_sen, attempt.currency
    money = format_ringgit(amount) if currency == order.currency else f"{currency} {amount}"
    issued = LicenceKey.objects.filter(
        order_line__order=order, status=LicenceKeyStatus.ISSUED
    ).count()
    shipped = order.lines.filter(shipped_at__isnull=False).exists()
    delivered = f"{issued} licence key(s) issued, kept" if issued else "no licence key issued"
    if shipped:
        delivered += "; goods shipped"
    why = (
        f"Payment {attempt.merchant_reference} {facts['gateway_status'] or 'REVERSED'} "
        f"({money}) after it was {previous}: the bank took the money back. Order was "
        f"{order.status}; {delivered}. Contest it at the gateway. {reference}"
    )
    subject = f"Order {order.number}: payment taken back by the bank ({facts['gateway_status']})"
    if order.status == OrderStatus.NEEDS_REVIEW:
        record_event(order, OrderEventKind.NEEDS_REVIEW, why, alert_subject=subject)
    else:
        move_order(
            order,
            OrderStatus.NEEDS_REVIEW,
            event=OrderEventKind.NEEDS_REVIEW,
            message=why,
            alert_subject=subject,
        )


# --- The browser's return ------------------------------------------------------------------


def handle_return(*, hosted_checkout_id: str, returnmac: str) -> PaymentAttempt | None:
    """The customer came back from the hosted page. Returns None (and changes nothing) unless
    the RETURNMAC matches the checkout's; then asks the gateway and applies its answer. A
    replayed return only re-applies the gateway's current status, which changes nothing."""
    if not hosted_checkout_id or not returnmac:
        return None
    if len(hosted_checkout_id) > 100 or "\x00" in hosted_checkout_id:
        return None  # not an id the gateway gave (PostgreSQL refuses NUL in a query: a 500)
    attempt = PaymentAttempt.objects.filter(hosted_checkout_id=hosted_checkout_id).first()
    if attempt is None or not constant_time_compare(attempt.returnmac, returnmac):
        return None
    try:
        status = gateway.get_hosted_checkout(hosted_checkout_id)
    except gateway.CheckoutUnknown:
        close_unknown_checkout(attempt, source="return")
        attempt.refresh_from_db()
        return attempt
    except gateway.GatewayError:
        logger.warning("status lookup failed on return for %s", attempt.merchant_reference)
        return attempt
    payment = ((status.get("createdPaymentOutput") or {}).get("payment")) or None
    return apply_payment_status(
        attempt, payment=payment, checkout_status=status.get("status"), source="return"
    )


# --- Webhooks ------------------------------------------------------------------------------


class WebhookOutcome:
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    UNKNOWN_REFERENCE = "unknown reference"
    IGNORED = "ignored"


def handle_webhook(event: dict[str, Any], *, key_id: str) -> str:
    """Store a verified webhook event once and apply it. A duplicate event id changes nothing.
    An event for a payment the store does not know is acknowledged (so the gateway stops
    retrying) and logged. Raises only on a real failure, so the gateway retries."""
    event_id = str(event.get("id") or "")
    payment = event.get("payment") or None
    reference = (
        ((payment or {}).get("paymentOutput") or {}).get("references", {}).get("merchantReference")
    )
    checkout_id = ((payment or {}).get("hostedCheckoutSpecificOutput") or {}).get(
        "hostedCheckoutId"
    )
    with transaction.atomic():
        try:
            with transaction.atomic():
                stored = WebhookEvent.objects.create(
                    event_id=event_id,
                    event_type=str(event.get("type") or "")[:60],
                    key_id=key_id[:100],
                    payload=event,
                )
        except IntegrityError:
            return WebhookOutcome.DUPLICATE
        attempt = None
        if reference:
            attempt = PaymentAttempt.objects.filter(merchant_reference=reference).first()
        if attempt is None and checkout_id:
            attempt = PaymentAttempt.objects.filter(hosted_checkout_id=checkout_id).first()
        if attempt is None or payment is None:
            outcome = WebhookOutcome.UNKNOWN_REFERENCE if payment else WebhookOutcome.IGNORED
            logger.warning("webhook %s: %s (%s)", event_id, outcome, reference)
        else:
            apply_payment_status(attempt, payment=payment, source=f"webhook {event_id}")
            outcome = WebhookOutcome.APPLIED
        stored.result = outcome
        stored.save(update_fields=["result"])
    return outcome


# --- Reconciliation ------------------------------------------------------------------------


def reconcile_attempt(
    attempt: PaymentAttempt, *, abandon_after: datetime.timedelta
) -> PaymentAttempt:
    """Ask the gateway about an attempt whose customer never came back and apply the answer.
    A checkout still in progress after `abandon_after` is closed as expired; one the gateway
    no longer knows (404) is closed at once."""
    if not attempt.hosted_checkout_id:
        if timezone.now() - attempt.created_at > abandon_after:
            with transaction.atomic():
                PaymentAttempt.objects.filter(
                    pk=attempt.pk, status=AttemptStatus.CREATED, hosted_checkout_id__isnull=True
                ).update(status=AttemptStatus.EXPIRED)
        return attempt
    try:
        status = gateway.get_hosted_checkout(attempt.hosted_checkout_id)
    except gateway.CheckoutUnknown:
        close_unknown_checkout(attempt, source="reconciliation")
        attempt.refresh_from_db()
        return attempt
    payment = ((status.get("createdPaymentOutput") or {}).get("payment")) or None
    attempt = apply_payment_status(
        attempt, payment=payment, checkout_status=status.get("status"), source="reconciliation"
    )
    # Still on the hosted page long after the customer left: the checkout is abandoned.
    if (
        attempt.status == AttemptStatus.CREATED
        and status.get("status") == "IN_PROGRESS"
        and timezone.now() - attempt.created_at > abandon_after
    ):
        with transaction.atomic():
            order = lock_order(attempt.order)
            closed = PaymentAttempt.objects.filter(
                pk=attempt.pk, status=AttemptStatus.CREATED
            ).update(status=AttemptStatus.EXPIRED)
            if closed:  # not if a webhook moved it on meanwhile
                record_event(
                    order,
                    OrderEventKind.PAYMENT_CANCELLED,
                    f"{attempt.merchant_reference}: checkout abandoned",
                )
    return attempt
