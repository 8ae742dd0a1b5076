"""Refunds: some units of some lines (and maybe the shipping) of a paid order, or all of it,
given back through the gateway, each one a credit note with its own gapless number.

One service, `refund_order_lines`, is what every path calls (the admin's confirm page, the
verification path that gives up on an order, `refund_order` for a whole order). It works in
three steps, because the gateway call must not happen inside a transaction that holds the
order's row lock:

1. under the order's lock: validate and price the refund (`plan_refund`), write it as
   *requested* with its lines and the idempotency key (at most one requested refund per order:
   a database constraint), commit;
2. ask the gateway with the refund's idempotency key (retried on 5xx with the same key, so the
   gateway refunds at most once);
3. under the order's lock again: mark it done, take the next credit note number, count the
   refunded units and amount on the lines and the order, revoke the refunded licence keys (a
   reserved key that the customer never saw goes back to the pool), put goods back in stock
   (never twice: `goods_back_in_stock`),
   move a fully refunded order to *refunded*, write the order's history and the staff audit row,
   and queue the refund email (outbox, once per credit note).

A refund the gateway reports by webhook (`payment.refunded`: the whole payment given back, from
the gateway's back office or as the echo of the store's own refund) goes through
`record_gateway_refund`, which records through step 3 whatever the store has not recorded yet
and never asks the gateway to refund again.

A second submit with the same idempotency key finds the first refund: done, it is returned as
is; still requested, the gateway is asked again with the same key (it replays its answer or says
it is busy); failed, it is refused. A gateway error marks the refund failed and changes nothing
else. Amounts include tax: for `q` of a line's `n` units the tax is the line's tax for `k + q`
units minus its tax for `k` (the units refunded before), each rounded half up, so refunding a
line in parts adds up to exactly what was paid for it."""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from ipmart.core.audit import record_staff_change
from ipmart.core.money import format_ringgit
from ipmart.core.outbox import enqueue
from orders import gateway
from orders.catalogue import bump_catalogue_version
from orders.models import (
    AttemptStatus,
    DocumentSequence,
    Fulfilment,
    LicenceKey,
    LicenceKeyStatus,
    Order,
    OrderEventKind,
    OrderLine,
    OrderStatus,
    PaymentAttempt,
    ProductKind,
    Refund,
    RefundLine,
    RefundStatus,
)

from .checkout import add_to_stock, lock_order, release_reservation
from .errors import ShopError
from .history import move_order, record_event

REFUNDABLE = (
    OrderStatus.PAID,
    OrderStatus.ON_HOLD,
    OrderStatus.FULFILLED,
    OrderStatus.NEEDS_REVIEW,
)
CREDIT_NOTE_SEQUENCE = "credit_note"
# Refused by plan_refund and by accepting the payment after review (services/review.py).
REVERSED_PAYMENT_MESSAGE = gettext_lazy(
    "The customer's bank took payment %(reference)s back (a chargeback): the money is no "
    "longer with the store, so there is nothing to refund or accept. Contest the chargeback "
    "at the gateway."
)


def credit_note_number(value: int) -> str:
    return f"CN-{value:06d}"


@dataclass(frozen=True)
class PlannedLine:
    line: OrderLine
    quantity: int
    amount_sen: int  # tax included
    tax_sen: int


@dataclass(frozen=True)
class RefundPlan:
    """What a refund would give back, priced (nothing written)."""

    attempt: PaymentAttempt
    lines: list[PlannedLine]
    shipping_sen: int
    amount_sen: int
    left_sen: int  # what could still be refunded before this one


def _line_tax(line: OrderLine, units: int) -> int:
    """The line's tax for its first `units` units, rounded half up (all units: exactly its tax)."""
    return (line.tax_sen * units * 2 + line.quantity) // (2 * line.quantity)


def price_units(line: OrderLine, quantity: int) -> tuple[int, int]:
    """(amount with tax, tax) of the next `quantity` units of `line` to be refunded."""
    done = line.refunded_quantity
    tax = _line_tax(line, done + quantity) - _line_tax(line, done)
    return line.unit_price_sen * quantity + tax, tax


def shipping_left_sen(order: Order, lines: list[OrderLine]) -> int:
    """The shipping still refundable: what the order charged beyond its lines (nothing until
    shipping charges exist), less what refunds gave back already."""
    charged = max(order.total_sen - sum(line.total_sen for line in lines), 0)
    refunded = (
        Refund.objects.filter(order=order, status=RefundStatus.DONE).aggregate(
            total=Sum("shipping_sen")
        )["total"]
        or 0
    )
    return max(charged - refunded, 0)


# Attempt statuses in which the gateway holds (or held) the customer's money.
CAPTURED_STATUSES = (AttemptStatus.PAID, AttemptStatus.NEEDS_REVIEW, AttemptStatus.REFUNDED)


def paying_attempt(order: Order) -> PaymentAttempt | None:
    """The payment that pays for the order: its first capture (`apply_payment_status` marks
    it), whatever the order of the checkouts' creation. Refunds of the order go to it; another
    capture of the order is a duplicate, sent to review for staff to refund at the gateway."""
    return order.attempts.filter(pays_for_order=True).first()


def paid_sen(order: Order, attempt: PaymentAttempt) -> int:
    """What refunds may add up to: what the gateway captured (a capture under review for
    another amount: that amount, not the one asked for), never more than the order's total;
    nothing when it captured nothing or another currency (refunded at the gateway, by staff)."""
    captured = attempt.captured
    if captured is None or captured[1] != order.currency:
        return 0
    return min(captured[0], order.total_sen)


def plan_refund(
    order: Order, *, lines: Mapping[int, int] | None, include_shipping: bool = False
) -> RefundPlan:
    """Check and price a refund of `lines` ({order line id: units}; None: every unit not yet
    refunded, and the shipping) of `order`. Raises ShopError naming what is wrong."""
    if order.status not in REFUNDABLE:
        raise ShopError(_("This order has no payment to refund."))
    attempt = paying_attempt(order)
    if attempt is None or not attempt.gateway_payment_id or attempt.captured is None:
        raise ShopError(_("This order has no captured payment at the gateway."))
    if attempt.status == AttemptStatus.REVERSED:
        raise ShopError(REVERSED_PAYMENT_MESSAGE % {"reference": attempt.merchant_reference})
    if attempt.captured[1] != order.currency:
        raise ShopError(
            _(
                "The gateway captured this payment in %(currency)s, not in the order's "
                "%(order_currency)s: refund it at the gateway."
            )
            % {"currency": attempt.captured[1], "order_currency": order.currency}
        )
    if Refund.objects.filter(order=order, status=RefundStatus.REQUESTED).exists():
        raise ShopError(_("A refund of this order is still being processed. Try again shortly."))
    order_lines = list(OrderLine.objects.filter(order=order).order_by("id"))
    by_id = {line.pk: line for line in order_lines}
    if lines is None:
        wanted = {line.pk: line.refundable_quantity for line in order_lines}
        wanted = {pk: quantity for pk, quantity in wanted.items() if quantity}
        include_shipping = True
    else:
        wanted = {int(pk): int(quantity) for pk, quantity in lines.items() if int(quantity)}
    planned = []
    for pk, quantity in sorted(wanted.items()):
        line = by_id.get(pk)
        if line is None:
            raise ShopError(_("That line is not part of this order."))
        if quantity < 0 or quantity > line.refundable_quantity:
            raise ShopError(
                _("%(product)s: at most %(n)d unit(s) can be refunded.")
                % {"product": line.product_name, "n": line.refundable_quantity}
            )
        amount, tax = price_units(line, quantity)
        planned.append(PlannedLine(line, quantity, amount, tax))
    shipping = shipping_left_sen(order, order_lines) if include_shipping else 0
    amount = sum(item.amount_sen for item in planned) + shipping
    if amount <= 0:
        raise ShopError(_("Choose at least one unit to refund."))
    left = paid_sen(order, attempt) - order.refunded_sen
    if amount > left:
        raise ShopError(
            _("%(amount)s is more than the %(left)s left to refund on this order.")
            % {"amount": format_ringgit(amount), "left": format_ringgit(left)}
        )
    return RefundPlan(attempt, planned, shipping, amount, left)


def refund_order_lines(
    order: Order,
    *,
    lines: Mapping[int, int] | None,
    reason: str,
    acting_user: User,
    include_shipping: bool = False,
    return_to_stock: bool = False,
    idempotency_key: uuid.UUID | str | None = None,
) -> Refund:
    """Refund `lines` ({order line id: units}; None: the whole rest of the order, shipping
    included) through the gateway, as the module docstring describes. `return_to_stock` puts
    refunded goods that were already shipped back in stock (goods never shipped always go
    back). The same `idempotency_key` twice refunds once and returns the same refund. Raises
    ShopError (nothing refunded, nothing else changed; a gateway refusal leaves the refund
    row failed)."""
    key = uuid.UUID(str(idempotency_key)) if idempotency_key else uuid.uuid4()
    with transaction.atomic():
        order = lock_order(order)
        refund = Refund.objects.filter(idempotency_key=key).first()
        if refund is not None and refund.order_id != order.pk:
            raise ShopError(_("This refund belongs to another order."))
        if refund is not None and refund.status == RefundStatus.DONE:
            return refund
        if refund is not None and refund.status == RefundStatus.FAILED:
            raise ShopError(_("This refund failed at the gateway. Start a new refund."))
        if refund is None:
            plan = plan_refund(order, lines=lines, include_shipping=include_shipping)
            try:
                with transaction.atomic():
                    refund = _write_refund(
                        order,
                        plan,
                        attempt=plan.attempt,
                        reason=reason,
                        idempotency_key=key,
                        return_to_stock=return_to_stock,
                        acting_user=acting_user,
                    )
            except IntegrityError as error:
                raise ShopError(
                    _("A refund of this order is still being processed. Try again shortly.")
                ) from error
        attempt = refund.attempt
    try:
        answer = gateway.refund_payment(
            attempt.gateway_payment_id,
            amount_sen=refund.amount_sen,
            currency=order.currency,
            reference=f"{order.number}-R{refund.pk}"[:30],
            idempotency_key=str(key),
        )
    except gateway.GatewayBusy as error:
        raise ShopError(
            _("The gateway is still processing this refund. Reload the order in a minute.")
        ) from error
    except gateway.GatewayError as error:
        failed = Refund.objects.filter(pk=refund.pk, status=RefundStatus.REQUESTED).update(
            status=RefundStatus.FAILED, gateway_status=str(error)[:60]
        )
        if not failed and Refund.objects.filter(pk=refund.pk, status=RefundStatus.DONE).exists():
            # The gateway's own report of the payment refunded recorded this refund meanwhile
            # (record_gateway_refund): the money went back, so say so.
            return Refund.objects.get(pk=refund.pk)
        raise ShopError(
            _(
                "The gateway did not refund (%(error)s). Nothing was refunded and the order is unchanged."
            )
            % {"error": error}
        ) from error
    return _record_refund(refund, answer=answer, acting_user=acting_user)


def _write_refund(
    order: Order,
    plan: RefundPlan,
    *,
    attempt: PaymentAttempt,
    reason: str,
    idempotency_key: uuid.UUID | None,
    return_to_stock: bool,
    acting_user: User | None,
) -> Refund:
    """Step 1's rows: the refund of `plan`, as requested, and its lines (the caller holds the
    order's lock). Raises IntegrityError while another refund of the order is requested."""
    refund = Refund.objects.create(
        order=order,
        attempt=attempt,
        amount_sen=plan.amount_sen,
        shipping_sen=plan.shipping_sen,
        reason=reason.strip()[:200] or "refund",
        idempotency_key=idempotency_key,
        return_to_stock=return_to_stock,
        created_by=acting_user,
    )
    RefundLine.objects.bulk_create(
        RefundLine(
            refund=refund,
            order_line=item.line,
            quantity=item.quantity,
            amount_sen=item.amount_sen,
            tax_sen=item.tax_sen,
        )
        for item in plan.lines
    )
    return refund


def refund_order(order: Order, *, reason: str, acting_user: User) -> Refund:
    """Refund everything of `order` not refunded yet, shipping included: `refund_order_lines`
    with lines=None (kept for the callers that refund a whole order)."""
    return refund_order_lines(order, lines=None, reason=reason, acting_user=acting_user)


def _next_credit_note_number() -> str:
    """The next credit note number; the caller's transaction holds the sequence row's lock
    until it commits, so numbers are consecutive and never given twice."""
    sequence, _created = DocumentSequence.objects.select_for_update().get_or_create(
        sequence=CREDIT_NOTE_SEQUENCE
    )
    DocumentSequence.objects.filter(pk=sequence.pk).update(last_value=F("last_value") + 1)
    return credit_note_number(sequence.last_value + 1)


@transaction.atomic
def _record_refund(refund: Refund, *, answer: dict[str, Any], acting_user: User | None) -> Refund:
    """Step 3: the gateway refunded; record everything that follows, once."""
    order = lock_order(refund.order)
    refund = Refund.objects.select_for_update().get(pk=refund.pk)
    if refund.status == RefundStatus.DONE:
        # A second submit with the same key got here first, or the gateway's webhook about
        # the payment did (record_gateway_refund), which knows no refund id: keep this one's.
        gateway_refund_id = str(answer.get("id") or "")[:100]
        if gateway_refund_id and not refund.gateway_refund_id:
            refund.gateway_refund_id = gateway_refund_id
            refund.save(update_fields=["gateway_refund_id"])
        return refund
    refund.status = RefundStatus.DONE
    refund.gateway_refund_id = str(answer.get("id") or "")[:100]
    refund.gateway_status = str(answer.get("status") or "")[:60]
    refund.refunded_at = timezone.now()
    refund.credit_note_number = _next_credit_note_number()
    refund.save(
        update_fields=[
            "status",
            "gateway_refund_id",
            "gateway_status",
            "refunded_at",
            "credit_note_number",
        ]
    )
    refund_lines = list(refund.lines.select_related("order_line"))
    restock: dict[int, int] = {}
    revoked = released = 0
    for item in refund_lines:
        line = item.order_line
        OrderLine.objects.filter(pk=line.pk).update(
            refunded_quantity=F("refunded_quantity") + item.quantity
        )
        if line.kind == ProductKind.LICENCE:
            revoked_now, released_now = take_back_keys(line, item.quantity)
            revoked += revoked_now
            released += released_now
        elif goods_back_in_stock(order, line, return_to_stock=refund.return_to_stock):
            restock[line.product_id] = restock.get(line.product_id, 0) + item.quantity
    add_to_stock(restock)
    if restock or released:
        bump_catalogue_version()

    before_status = order.status
    before_refunded = order.refunded_sen
    order.refunded_sen += refund.amount_sen
    order.save(update_fields=["refunded_sen"])
    fully = order.refunded_sen >= paid_sen(order, refund.attempt)
    if fully:
        PaymentAttempt.objects.filter(pk=refund.attempt_id).update(status=AttemptStatus.REFUNDED)
    message = (
        f"{refund.credit_note_number}: {format_ringgit(refund.amount_sen)} refunded "
        f"({_summary(refund_lines, refund.shipping_sen)}): {refund.reason}"
    )
    if fully and order.status != OrderStatus.REFUNDED:
        move_order(
            order, OrderStatus.REFUNDED, event=OrderEventKind.REFUNDED, message=message,
            actor=acting_user,
        )  # fmt: skip
    else:  # partly, or the gateway's refund webhook moved it already
        record_event(order, OrderEventKind.REFUNDED, message, actor=acting_user)
        if not fully:
            _close_if_nothing_left_to_ship(order, acting_user)
    changes = {
        "refunded": [format_ringgit(before_refunded), format_ringgit(order.refunded_sen)],
        "credit_note": ["", str(refund.credit_note_number)],
    }
    if order.status != before_status:
        changes["status"] = [
            str(OrderStatus(before_status).label),
            str(OrderStatus(order.status).label),
        ]
    if revoked:
        changes["licence_keys_revoked"] = ["", str(revoked)]
    record_staff_change(
        acting_user,
        order,
        action="refund",
        changes=changes,
        detail=f"{refund.credit_note_number}: {refund.reason}"[:200],
    )
    enqueue("orders.tasks.send_refund_email_task", refund.pk)
    return refund


def goods_back_in_stock(order: Order, line: OrderLine, *, return_to_stock: bool) -> bool:
    """Whether refunded units of a goods line go back in stock: shipped ones when the refund
    says they came back; unshipped ones while the order still holds them. An order cancelled or
    expired before its payment arrived (then refunded from review) gave its goods back when it
    closed (`stock_released`): putting them back again would count them twice."""
    if line.shipped_at is not None:
        return return_to_stock
    return not order.stock_released


def take_back_keys(line: OrderLine, quantity: int) -> tuple[int, int]:
    """Revoke `quantity` of the line's keys, newest first: issued ones become revoked (never
    back in the pool); reserved ones, which the customer never saw, go back to the pool.
    Returns (revoked, released)."""
    keys = list(
        LicenceKey.objects.select_for_update()
        .filter(order_line=line, status__in=[LicenceKeyStatus.RESERVED, LicenceKeyStatus.ISSUED])
        .order_by("-id")[:quantity]
    )
    reserved = [key.pk for key in keys if key.status == LicenceKeyStatus.RESERVED]
    issued = [key.pk for key in keys if key.status == LicenceKeyStatus.ISSUED]
    if reserved:
        LicenceKey.objects.filter(pk__in=reserved).update(
            status=LicenceKeyStatus.AVAILABLE, order_line=None
        )
    if issued:
        LicenceKey.objects.filter(pk__in=issued).update(status=LicenceKeyStatus.REVOKED)
    return len(issued), len(reserved)


def _close_if_nothing_left_to_ship(order: Order, acting_user: User | None) -> None:
    """A paid, fulfilled order whose only unshipped goods were all refunded is complete."""
    if order.status != OrderStatus.PAID or not Fulfilment.objects.filter(order=order).exists():
        return
    waiting = OrderLine.objects.filter(
        order=order,
        kind=ProductKind.PHYSICAL,
        shipped_at__isnull=True,
        refunded_quantity__lt=F("quantity"),
    )
    if not waiting.exists():
        move_order(
            order,
            OrderStatus.FULFILLED,
            event=OrderEventKind.FULFILLED,
            message="nothing left to ship after the refund",
            actor=acting_user,
        )


def _summary(refund_lines: list[RefundLine], shipping_sen: int) -> str:
    parts = [f"{item.quantity} × {item.order_line.product_name}" for item in refund_lines]
    if shipping_sen:
        parts.append(f"shipping {format_ringgit(shipping_sen)}")
    return ", ".join(parts)


# Stored in English like every refund reason (staff read it; the customer's email and credit
# note show the credit note's lines, not the reason).
GATEWAY_REFUND_REASON = "refunded at the payment gateway"


@transaction.atomic
def record_gateway_refund(
    attempt: PaymentAttempt, *, refunded_sen: int, source: str
) -> Refund | None:
    """The gateway reports `attempt`'s payment refunded in full, `refunded_sen` given back in
    all: record what the store has not recorded yet, through step 3 (credit note, keys revoked,
    goods back in stock, the order refunded, its history, the audit row by nobody, the refund
    email), without asking the gateway for anything. Call it with the order's row locked
    (`apply_payment_status` does), so concurrent copies of the webhook run one after another:

    - the store's own refund still *requested* (its answer not recorded yet: the webhook
      overtook it, or the process that sent it died) is recorded as its member of staff made
      it, once; that refund's own step 3 then finds it done;
    - whatever the gateway gave back beyond the store's refunds of this payment is one refund of
      everything not refunded yet, shipping included (the gateway does not say which lines);
    - nothing when the store's refunds already add up to it: the echo of a refund it recorded, a
      copy of a webhook already applied.

    A refunded duplicate capture (not `paying_attempt`: the capture that sent a paid order to
    review) takes nothing back: its refund enters the order's history only. When the order's
    own payment is refunded at the gateway while a duplicate still holds the customer's money
    (and the store never refunded that payment itself), the duplicate becomes the order's
    payment (later refunds go to it), nothing is taken back, and the order goes to review. An
    order that never counted as paid (still awaiting payment, or closed unpaid) gives back what
    it still holds (`release_reservation`) and is refunded, with no credit note (nothing was
    invoiced). A difference the store cannot explain (the gateway gave back another amount, or
    more than is left) sends the order to review. `source` names the report in the order's
    history ("<payment reference> via webhook <event id>"). Returns the refund recorded for what
    was missing, or None."""
    order = lock_order(attempt.order)
    attempt = PaymentAttempt.objects.get(pk=attempt.pk)
    if not attempt.pays_for_order:
        record_event(
            order,
            OrderEventKind.NOTE,
            f"{format_ringgit(refunded_sen)} refunded at the gateway; another payment still "
            f"pays for the order, nothing taken back: {source}",
        )
        return None
    duplicate = (
        order.attempts.exclude(pk=attempt.pk)
        .filter(status__in=[AttemptStatus.PAID, AttemptStatus.NEEDS_REVIEW])
        .exclude(gateway_payment_id="")
        .order_by("created_at", "id")
        .first()
    )
    refunded_by_store = attempt.refunds.exclude(status=RefundStatus.FAILED).exists()
    if duplicate is not None and not refunded_by_store:
        PaymentAttempt.objects.filter(pk=attempt.pk).update(pays_for_order=False)
        PaymentAttempt.objects.filter(pk=duplicate.pk).update(pays_for_order=True)
        record_event(
            order,
            OrderEventKind.NEEDS_REVIEW,
            f"{format_ringgit(refunded_sen)} refunded at the gateway; the duplicate payment "
            f"{duplicate.merchant_reference} now pays for the order, nothing taken back: {source}",
        )
        return None
    recorded = _recorded_sen(attempt)
    requested = (
        Refund.objects.select_for_update()
        .filter(order=order, attempt=attempt, status=RefundStatus.REQUESTED)
        .first()
    )
    if requested is not None and recorded + requested.amount_sen <= refunded_sen:
        _record_refund(requested, answer={"status": "REFUNDED"}, acting_user=requested.created_by)
        recorded += requested.amount_sen
        order = lock_order(order)
    missing = refunded_sen - recorded
    if missing <= 0:
        return None
    if order.status not in REFUNDABLE:
        if order.status != OrderStatus.REFUNDED:
            release_reservation(order)
            move_order(
                order,
                OrderStatus.REFUNDED,
                event=OrderEventKind.REFUNDED,
                message=f"{format_ringgit(missing)} refunded at the gateway before the order "
                f"counted as paid; its reservation released: {source}",
            )
        return None
    try:
        plan = plan_refund(order, lines=None)
    except ShopError as error:
        record_event(
            order,
            OrderEventKind.NEEDS_REVIEW,
            f"The gateway refunded {format_ringgit(missing)} that the store could not record "
            f"({error}): {source}",
        )
        return None
    refund = _write_refund(
        order,
        plan,
        attempt=attempt,
        reason=GATEWAY_REFUND_REASON,
        idempotency_key=None,
        return_to_stock=False,
        acting_user=None,
    )
    refund = _record_refund(refund, answer={"status": "REFUNDED"}, acting_user=None)
    if plan.amount_sen != missing:
        record_event(
            order,
            OrderEventKind.NEEDS_REVIEW,
            f"The gateway refunded {format_ringgit(missing)}; {refund.credit_note_number} "
            f"records the {format_ringgit(plan.amount_sen)} left on the order: {source}",
        )
    return refund


def _recorded_sen(attempt: PaymentAttempt) -> int:
    """What the store's done refunds of this payment gave back."""
    done = Refund.objects.filter(attempt=attempt, status=RefundStatus.DONE)
    return done.aggregate(total=Sum("amount_sen"))["total"] or 0


def can_refund(order: Order) -> bool:
    """Whether a refund may be offered for the order (the service and the gateway still have
    the last word): a paid state and something left to give back."""
    return order.status in REFUNDABLE and order.refunded_sen < order.total_sen
