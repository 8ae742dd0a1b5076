"""An order's history. Every change of an order's status goes through `move_order`, which
writes the event that says why in the same transaction; other facts go through `record_event`.
Every "needs review" event alerts staff (`ipmart.core.alerts`), whichever path wrote it."""

from django.utils import timezone

from accounts.models import User
from ipmart.core.alerts import alert_staff
from orders.models import Order, OrderEvent, OrderEventKind, OrderStatus


def record_event(
    order: Order,
    kind: str,
    message: str = "",
    *,
    actor: User | None = None,
    alert_subject: str = "",
) -> OrderEvent:
    """Append to the order's history. An order sent to review also alerts staff (log line and
    an email to the store managers, committed with the event), under `alert_subject` when the
    caller names the reason (default: "Order … needs review")."""
    event = OrderEvent.objects.create(order=order, kind=kind, message=message[:300], actor=actor)
    if kind == OrderEventKind.NEEDS_REVIEW:
        alert_staff(
            alert_subject or f"Order {order.number} needs review",
            f"Order {order.number} was sent to review: {message[:300]}",
            kind="order review",
        )
    return event


def move_order(
    order: Order,
    status: str,
    *,
    event: str,
    message: str = "",
    actor: User | None = None,
    alert_subject: str = "",
) -> None:
    """Set `order.status` (the caller holds the order's row lock) and record the event."""
    order.status = status
    fields = ["status"]
    if status == OrderStatus.PAID and order.paid_at is None:
        order.paid_at = timezone.now()
        fields.append("paid_at")
    order.save(update_fields=fields)
    record_event(order, event, message, actor=actor, alert_subject=alert_subject)
