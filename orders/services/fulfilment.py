"""After payment: licence keys issued once, physical goods shipped. Refunds are in refunds.py
(re-exported here for the callers that import them from this module)."""

import datetime
import logging

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from ipmart.core.alerts import alert_staff
from ipmart.core.audit import record_staff_change
from ipmart.core.outbox import enqueue
from orders.holds import hold_reasons
from orders.models import (
    Fulfilment,
    LicenceKey,
    LicenceKeyStatus,
    Order,
    OrderEventKind,
    OrderStatus,
    ProductKind,
    Shipment,
)

from .checkout import lock_order
from .errors import ShopError
from .history import move_order, record_event
from .refunds import can_refund as can_refund  # moved to refunds.py; re-exported
from .refunds import refund_order as refund_order
from .refunds import refund_order_lines as refund_order_lines

logger = logging.getLogger(__name__)


def _email_after_commit(order: Order, kind: str) -> None:
    enqueue("orders.tasks.send_order_email_task", order.pk, kind)


@transaction.atomic
def fulfil_order(order: Order) -> bool:
    """Issue the paid order's reserved licence keys and email them, exactly once (the unique
    Fulfilment row is the guard). An order that a hold rule stops goes on hold instead. Orders
    with goods to post stay "paid" until shipped. Returns True when this call fulfilled it."""
    order = lock_order(order)
    if order.status != OrderStatus.PAID:
        return False
    reasons = hold_reasons(order)
    if reasons:
        move_order(
            order, OrderStatus.ON_HOLD, event=OrderEventKind.HELD, message="; ".join(reasons)
        )
        _email_after_commit(order, "verification_requested")
        return False
    try:
        with transaction.atomic():
            Fulfilment.objects.create(order=order)
    except IntegrityError:
        return False
    issued = LicenceKey.objects.filter(
        order_line__order=order, status=LicenceKeyStatus.RESERVED
    ).update(status=LicenceKeyStatus.ISSUED, issued_at=timezone.now())
    needs_shipping = order.lines.filter(kind=ProductKind.PHYSICAL, shipped_at__isnull=True).exists()
    message = f"{issued} licence key(s) issued"
    if needs_shipping:
        record_event(order, OrderEventKind.FULFILLED, message + "; goods await shipping")
    else:
        move_order(order, OrderStatus.FULFILLED, event=OrderEventKind.FULFILLED, message=message)
    _email_after_commit(order, "paid")
    return True


def rescue_unfulfilled_orders(*, older_than: datetime.timedelta, limit: int = 200) -> list[str]:
    """Fulfil every order paid more than `older_than` ago that still has no fulfilment (its
    outbox message lost, failing, or never written), each in its own transaction, and alert
    staff about each one this call fulfilled or put on hold. The unique Fulfilment row keeps it
    to once even when the outbox delivers the original message later. Returns the numbers of
    the orders rescued."""
    due = (
        Order.objects.filter(
            status=OrderStatus.PAID,
            paid_at__lte=timezone.now() - older_than,
            fulfilment__isnull=True,
        )
        .order_by("paid_at")
        .values_list("pk", flat=True)[:limit]
    )
    rescued = []
    for order_id in list(due):
        with transaction.atomic():
            order = Order.objects.get(pk=order_id)
            fulfilled = fulfil_order(order)
            order.refresh_from_db(fields=["status"])
            if not fulfilled and order.status != OrderStatus.ON_HOLD:
                continue  # fulfilled meanwhile by the outbox, or no longer paid
            outcome = "fulfilled" if fulfilled else "put on hold"
            record_event(order, OrderEventKind.NOTE, f"Rescued by the sweeper: {outcome}.")
            alert_staff(
                f"Order {order.number} was paid but not fulfilled: the sweeper {outcome} it",
                f"Order {order.number} was paid at {order.paid_at:%Y-%m-%d %H:%M %Z} and had no "
                f"fulfilment {older_than} later; the sweeper {outcome} it. Check why its "
                "fulfilment did not run (worker, broker, outbox messages in admin).",
                kind="order rescued",
            )
            rescued.append(order.number)
    return rescued


@transaction.atomic
def mark_shipped(
    order: Order, *, carrier: str, tracking_number: str, acting_user: User
) -> Shipment:
    """Record the shipment of the order's goods and email the customer. Raises ShopError if the
    order is not paid and fulfilled, or has nothing left to ship."""
    order = lock_order(order)
    if order.status != OrderStatus.PAID or not Fulfilment.objects.filter(order=order).exists():
        raise ShopError(_("Only a paid order whose goods are waiting can be shipped."))
    if not carrier.strip() or not tracking_number.strip():
        raise ShopError(_("Give the carrier and the tracking number."))
    now = timezone.now()
    updated = order.lines.filter(kind=ProductKind.PHYSICAL, shipped_at__isnull=True).update(
        shipped_at=now
    )
    if not updated:
        raise ShopError(_("This order has nothing left to ship."))
    shipment = Shipment.objects.create(
        order=order,
        carrier=carrier.strip(),
        tracking_number=tracking_number.strip(),
        shipped_at=now,
        shipped_by=acting_user,
    )
    before = order.status
    move_order(
        order,
        OrderStatus.FULFILLED,
        event=OrderEventKind.SHIPPED,
        actor=acting_user,
        message=f"{shipment.carrier} {shipment.tracking_number}",
    )
    record_staff_change(
        acting_user,
        order,
        action="ship",
        changes={"status": [OrderStatus(before).label, OrderStatus(order.status).label]},
        detail=f"{shipment.carrier} {shipment.tracking_number}",
    )
    _email_after_commit(order, "shipped")
    return shipment


MAX_SHIPPING_CSV_BYTES = 1024 * 1024


def _shipping_rows(data: bytes) -> list[tuple[int, str, str, str]]:
    """(line number, order number, carrier, tracking number) of each row; a header row
    ("order", …) is skipped."""
    import csv
    import io

    if len(data) > MAX_SHIPPING_CSV_BYTES:
        raise ShopError(_("The file is larger than 1 MB."))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ShopError(_("The file is not UTF-8 text (CSV).")) from error
    rows = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if number == 1 and cells[0].lower() in {"order", "order number", "number"}:
            continue
        cells += [""] * (3 - len(cells))
        rows.append((number, cells[0].upper(), cells[1], cells[2]))
    return rows


@transaction.atomic
def ship_orders_from_csv(data: bytes, *, acting_user: User) -> list[Shipment]:
    """Mark shipped every order in a CSV of `order number, carrier, tracking number` rows. All
    or nothing: any row that cannot be shipped (unknown order, not paid and waiting, nothing
    left to ship, missing carrier or tracking number, order repeated) refuses the whole file,
    naming each bad line. Each order gets its shipment, event and email as `mark_shipped`."""
    rows = _shipping_rows(data)
    if not rows:
        raise ShopError(_("The file holds no orders."))
    numbers = [number for _line, number, _carrier, _tracking in rows]
    orders = {
        order.number: order
        for order in Order.objects.filter(number__in=numbers).order_by("pk").select_for_update()
    }
    waiting = set(
        Order.objects.filter(
            number__in=numbers,
            status=OrderStatus.PAID,
            fulfilment__isnull=False,
            lines__kind=ProductKind.PHYSICAL,
            lines__shipped_at__isnull=True,
        ).values_list("number", flat=True)
    )
    errors, seen = [], set()
    for line, number, carrier, tracking in rows:
        if number in seen:
            errors.append(_("line %(line)d: order %(number)s is repeated"))
        elif number not in orders:
            errors.append(_("line %(line)d: no order %(number)s"))
        elif number not in waiting:
            errors.append(_("line %(line)d: order %(number)s is not waiting to be shipped"))
        elif not carrier or not tracking:
            errors.append(
                _("line %(line)d: order %(number)s needs a carrier and a tracking number")
            )
        else:
            seen.add(number)
            continue
        errors[-1] = errors[-1] % {"line": line, "number": number or "?"}
        seen.add(number)
    if errors:
        raise ShopError(_("Nothing shipped: %(errors)s.") % {"errors": "; ".join(errors)})
    return [
        mark_shipped(
            orders[number], carrier=carrier, tracking_number=tracking, acting_user=acting_user
        )
        for _line, number, carrier, tracking in rows
    ]


def can_ship(order: Order, *, has_fulfilment: bool, has_unshipped_goods: bool) -> bool:
    """What `mark_shipped` accepts, for deciding whether to offer it."""
    return order.status == OrderStatus.PAID and has_fulfilment and has_unshipped_goods
