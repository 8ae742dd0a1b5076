"""Resolving an order under review by accepting its payment ("Accept the payment and fulfil" on
the order's admin page).

`payments.apply_payment_status` sends an order to review when a payment is captured for another
amount or currency, after the order was cancelled or expired, a second time, or when the
gateway reports a reversal (never accepted: the bank took the money back). Staff may accept the payment only when it settles the order
exactly: the payment that pays for the order (`PaymentAttempt.pays_for_order`) captured the
order's total in its currency, and no other payment of the order still holds the customer's
money (a duplicate is refunded at the gateway first). Anything else is resolved by a refund,
here or at the gateway; `plan_acceptance` names what stands in the way.

Accepting, under the order's row lock: an order whose reservation was released when it closed
unpaid (`Order.stock_released`) takes its stock and licence keys again (products locked in id
order, keys claimed with SKIP LOCKED, as the checkout does; not enough of either refuses and
changes nothing); the order becomes paid and its fulfilment is queued through the outbox, where
the unique Fulfilment row keeps it to once and the hold rules and the customer's email work as
for any payment. An order fulfilled before its review (a duplicate capture) goes back to where
it was, paid with goods waiting or completed, and nothing is queued or sent again. The order's
history and the staff audit trail record who accepted which payment.

An order whose payment the bank took back (a chargeback, `AttemptStatus.REVERSED`) is never
accepted; when the store has lost it, staff close it as lost (`close_lost_payment`): keys
revoked, unshipped goods back in stock once, the order cancelled, the customer told. A
chargeback won afterwards is not taken back here: the gateway then reports the payment
captured again, which the reversal outranks, so staff settle it at the gateway."""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from accounts.models import User
from ipmart.core.audit import record_staff_change
from ipmart.core.money import format_ringgit
from ipmart.core.outbox import enqueue
from orders.catalogue import bump_catalogue_version
from orders.models import (
    AttemptStatus,
    Fulfilment,
    LicenceKey,
    LicenceKeyStatus,
    Order,
    OrderEventKind,
    OrderStatus,
    PaymentAttempt,
    Product,
    ProductKind,
)

from .catalogue import alert_low_key_pools
from .checkout import add_to_stock, claim_licence_keys, lock_order
from .errors import ShopError
from .history import move_order
from .refunds import REVERSED_PAYMENT_MESSAGE, goods_back_in_stock, paying_attempt, take_back_keys


@dataclass(frozen=True)
class Acceptance:
    """What accepting the order's payment would do (nothing written)."""

    attempt: PaymentAttempt
    reserve_again: bool  # the order's reservation was released: stock and keys taken again
    fulfil: bool  # no fulfilment yet: it is queued (else the order was fulfilled before)
    status: str  # the order's status afterwards


@dataclass(frozen=True)
class _Needs:
    goods: dict[int, int]  # product id → units to take from stock
    keys: list[tuple[int, int, int]]  # (product id, keys, order line id) to claim
    names: dict[int, str]  # product id → name as the order shows it


def _money(amount_sen: int, currency: str, order: Order) -> str:
    if currency == order.currency:
        return format_ringgit(amount_sen)
    ringgit, sen = divmod(amount_sen, 100)
    return f"{currency} {ringgit:,}.{sen:02d}"


def _needs(order: Order) -> _Needs:
    """What the order must hold again: its units not refunded, less the keys it still has."""
    goods: dict[int, int] = {}
    keys: list[tuple[int, int, int]] = []
    names: dict[int, str] = {}
    held: dict[int, int] = {}
    for line_id in LicenceKey.objects.filter(
        order_line__order=order, status__in=[LicenceKeyStatus.RESERVED, LicenceKeyStatus.ISSUED]
    ).values_list("order_line", flat=True):
        held[line_id] = held.get(line_id, 0) + 1
    for line in order.lines.order_by("id"):
        units = line.quantity - line.refunded_quantity
        names[line.product_id] = line.product_name
        if line.kind == ProductKind.PHYSICAL and units > 0:
            goods[line.product_id] = goods.get(line.product_id, 0) + units
        elif line.kind == ProductKind.LICENCE and units - held.get(line.pk, 0) > 0:
            keys.append((line.product_id, units - held.get(line.pk, 0), line.pk))
    return _Needs(goods, keys, names)


def _short_of(needs: _Needs, stock: dict[int, int], keys_left: dict[int, int]) -> list[str]:
    short = [needs.names[pk] for pk, units in needs.goods.items() if stock.get(pk, 0) < units]
    wanted: dict[int, int] = {}
    for product_id, quantity, _line in needs.keys:
        wanted[product_id] = wanted.get(product_id, 0) + quantity
    short += [needs.names[pk] for pk, n in wanted.items() if keys_left.get(pk, 0) < n]
    return sorted(set(short))


def _shortage_error(names: list[str]) -> ShopError:
    return ShopError(
        _(
            "Not enough left to fulfil this order again: %(names)s. Nothing was changed: add "
            "stock or licence keys and try again, or refund the payment."
        )
        % {"names": ", ".join(names)}
    )


def plan_acceptance(order: Order) -> Acceptance:
    """Check that staff may accept `order`'s payment and say what accepting would do. Raises
    ShopError naming what stands in the way (and what to do instead). Reads only; the stock
    and keys it finds are checked again under locks by `accept_payment`."""
    if order.status != OrderStatus.NEEDS_REVIEW:
        raise ShopError(
            _("Order %(number)s is not under review (it is: %(status)s). Nothing was changed.")
            % {"number": order.number, "status": OrderStatus(order.status).label}
        )
    attempt = paying_attempt(order)
    if attempt is None:
        raise ShopError(
            _(
                "No captured payment pays for this order, so there is no payment to accept. "
                "Check the payments with the gateway."
            )
        )
    if attempt.status == AttemptStatus.REVERSED:
        raise ShopError(REVERSED_PAYMENT_MESSAGE % {"reference": attempt.merchant_reference})
    captured = attempt.captured
    settles = captured == (order.total_sen, order.currency)
    if captured is not None and not settles and attempt.status != AttemptStatus.REFUNDED:
        raise ShopError(
            _(
                "The gateway captured %(captured)s for this order's %(total)s: a payment of "
                "another amount cannot be accepted. Refund it at the gateway (or settle the "
                "difference there) instead."
            )
            % {"captured": _money(*captured, order), "total": format_ringgit(order.total_sen)}
        )
    if attempt.status != AttemptStatus.PAID or not settles:
        raise ShopError(
            _(
                "Payment %(reference)s is not a capture the store can accept (%(status)s at "
                "the gateway). Resolve it at the gateway."
            )
            % {
                "reference": attempt.merchant_reference,
                "status": attempt.gateway_status or AttemptStatus(attempt.status).label,
            }
        )
    for other in order.attempts.exclude(pk=attempt.pk).filter(
        status__in=[AttemptStatus.PAID, AttemptStatus.NEEDS_REVIEW]
    ):
        if other.captured is not None:
            raise ShopError(
                _(
                    "Payment %(reference)s also captured %(amount)s for this order. Refund it "
                    "at the gateway first (the order is paid by %(paying)s), then accept."
                )
                % {
                    "reference": other.merchant_reference,
                    "amount": _money(*other.captured, order),
                    "paying": attempt.merchant_reference,
                }
            )
    if order.stock_released:
        needs = _needs(order)
        stock = dict(Product.objects.filter(pk__in=list(needs.goods)).values_list("pk", "stock"))
        keys_left: dict[int, int] = {}
        for product_id in LicenceKey.objects.filter(
            product_id__in=[product_id for product_id, _n, _line in needs.keys],
            status=LicenceKeyStatus.AVAILABLE,
        ).values_list("product_id", flat=True):
            keys_left[product_id] = keys_left.get(product_id, 0) + 1
        if short := _short_of(needs, stock, keys_left):
            raise _shortage_error(short)
    fulfilled = Fulfilment.objects.filter(order=order).exists()
    if not fulfilled:
        status = OrderStatus.PAID
    elif order.lines.filter(
        kind=ProductKind.PHYSICAL,
        shipped_at__isnull=True,
        refunded_quantity__lt=F("quantity"),
    ).exists():
        status = OrderStatus.PAID  # fulfilled before its review; goods still wait to be shipped
    else:
        status = OrderStatus.FULFILLED
    return Acceptance(
        attempt=attempt, reserve_again=order.stock_released, fulfil=not fulfilled, status=status
    )


def _reserve_again(order: Order) -> None:
    """Take the order's stock and keys again (the caller holds the order's lock). Raises
    ShopError when there is not enough; the caller's transaction then undoes what was taken."""
    needs = _needs(order)
    products = {
        product.pk: product
        for product in Product.objects.select_for_update()
        .filter(pk__in=list(needs.goods) + [product_id for product_id, _n, _l in needs.keys])
        .order_by("pk")
    }
    short = [needs.names[pk] for pk, units in needs.goods.items() if products[pk].stock < units]
    if short:
        raise _shortage_error(sorted(short))
    add_to_stock({pk: -units for pk, units in needs.goods.items()})
    claimed = claim_licence_keys(needs.keys)
    short = [
        needs.names[product_id]
        for product_id, quantity, line_id in needs.keys
        if claimed.get(line_id, 0) < quantity
    ]
    if short:
        raise _shortage_error(sorted(set(short)))
    if needs.keys:
        alert_low_key_pools(product_id for product_id, _n, _line in needs.keys)
    order.stock_released = False
    order.save(update_fields=["stock_released"])
    bump_catalogue_version()


@transaction.atomic
def accept_payment(order: Order, *, acting_user: User) -> Acceptance:
    """Staff accept the payment of `order`, under review, and the order goes on as paid (see
    the module docstring): its reservation taken again if it was released, the order paid (or
    back to where it was, if fulfilled before its review), its fulfilment queued once through
    the outbox, an event in its history and a staff audit row. Raises ShopError, changing
    nothing, when `plan_acceptance` refuses (a second click or another member of staff who
    got there first: the order is no longer under review) or stock or keys ran out."""
    order = lock_order(order)
    plan = plan_acceptance(order)
    if plan.reserve_again:
        _reserve_again(order)
    reference = plan.attempt.merchant_reference
    message = f"Payment {reference} ({format_ringgit(order.total_sen)}) accepted after review"
    if plan.reserve_again:
        message += "; stock and licence keys reserved again"
    move_order(
        order,
        plan.status,
        event=OrderEventKind.PAID if plan.status == OrderStatus.PAID else OrderEventKind.FULFILLED,
        message=message if plan.fulfil else message + "; the order was fulfilled before",
        actor=acting_user,
    )
    if plan.fulfil:
        enqueue("orders.tasks.fulfil_order_task", order.pk)
    changes = {"status": [str(OrderStatus.NEEDS_REVIEW.label), str(OrderStatus(plan.status).label)]}
    if plan.reserve_again:
        changes["stock_released"] = ["yes", "no"]
    record_staff_change(
        acting_user,
        order,
        action="accept payment",
        changes=changes,
        detail=f"{reference}: {format_ringgit(order.total_sen)} accepted after review",
    )
    return plan


# --- Closing an order whose payment the bank took back ----------------------------------------


@dataclass(frozen=True)
class Closure:
    """What closing a charged-back order would do (nothing written)."""

    attempt: PaymentAttempt
    keys_to_revoke: int  # issued keys that stop working
    restock: dict[int, int]  # product id → unshipped units going back in stock


def plan_closure(order: Order) -> Closure:
    """Check that staff may close `order` as lost (under review, its paying payment reversed
    by the bank) and say what closing does. Raises ShopError naming what stands in the way
    (a second click: the order is no longer under review). Reads only."""
    if order.status != OrderStatus.NEEDS_REVIEW:
        raise ShopError(
            _("Order %(number)s is not under review (it is: %(status)s). Nothing was changed.")
            % {"number": order.number, "status": OrderStatus(order.status).label}
        )
    attempt = paying_attempt(order)
    if attempt is None or attempt.status != AttemptStatus.REVERSED:
        raise ShopError(
            _(
                "The payment of this order was not reversed by the bank, so the order cannot be "
                "closed as lost. Accept or refund the payment instead."
            )
        )
    keys = LicenceKey.objects.filter(
        order_line__order=order, status=LicenceKeyStatus.ISSUED
    ).count()
    restock: dict[int, int] = {}
    for line in order.lines.filter(kind=ProductKind.PHYSICAL).order_by("id"):
        units = line.quantity - line.refunded_quantity
        if units > 0 and goods_back_in_stock(order, line, return_to_stock=False):
            restock[line.product_id] = restock.get(line.product_id, 0) + units
    return Closure(attempt=attempt, keys_to_revoke=keys, restock=restock)


@transaction.atomic
def close_lost_payment(order: Order, *, acting_user: User) -> Closure:
    """Staff close `order`, under review because the bank took its payment back (a chargeback
    the store lost or will not contest). Under the order's lock: its licence keys are revoked
    as a refund revokes them (issued ones never go back to the pool; reserved ones, never
    seen, do), its unshipped goods go back in stock once (not when its reservation was
    released already; `stock_released` is set so nothing returns them again), and the order
    is cancelled: no refund was made, so it is not "refunded" and has no credit note; it was
    paid, so retention keeps it as a tax record. The order's history, the staff audit trail
    and the customer's email (outbox, once) record it. Raises ShopError, changing nothing,
    when `plan_closure` refuses (a second click finds the order no longer under review)."""
    order = lock_order(order)
    plan = plan_closure(order)
    revoked = released = 0
    for line in order.lines.filter(kind=ProductKind.LICENCE).order_by("id"):
        revoked_now, released_now = take_back_keys(line, line.quantity)
        revoked += revoked_now
        released += released_now
    add_to_stock(plan.restock)
    if plan.restock or released:
        bump_catalogue_version()
    was_released = order.stock_released
    order.stock_released = True
    order.save(update_fields=["stock_released"])
    reference = plan.attempt.merchant_reference
    message = (
        f"Payment {reference} lost to the bank's reversal: order closed; "
        f"{revoked} licence key(s) revoked, {sum(plan.restock.values())} unit(s) back in stock"
    )
    move_order(
        order, OrderStatus.CANCELLED, event=OrderEventKind.CANCELLED, message=message,
        actor=acting_user,
    )  # fmt: skip
    changes = {
        "status": [str(OrderStatus.NEEDS_REVIEW.label), str(OrderStatus.CANCELLED.label)],
    }
    if revoked:
        changes["licence_keys_revoked"] = ["", str(revoked)]
    if not was_released:
        changes["stock_released"] = ["no", "yes"]
    record_staff_change(
        acting_user,
        order,
        action="close lost payment",
        changes=changes,
        detail=f"{reference}: reversed by the bank, order closed",
    )
    enqueue("orders.tasks.send_order_email_task", order.pk, "payment_reversed")
    return plan
