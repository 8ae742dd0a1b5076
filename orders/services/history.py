"""An order's history. Every change of an order's status goes through `move_order`, which
writes the event that says why in the same transaction; other facts go through `record_event`."""

from django.utils import timezone

from accounts.models import User
from orders.models import Order, OrderEvent, OrderStatus


def record_event(
    order: Order, kind: str, message: str = "", *, actor: User | None = None
) -> OrderEvent:
    return OrderEvent.objects.create(order=order, kind=kind, message=message[:300], actor=actor)


def move_order(
    order: Order,
    status: str,
    *,
    event: str,
    message: str = "",
    actor: User | None = None,
) -> None:
    """Set `order.status` (the caller holds the order's row lock) and record the event."""
    order.status = status
    fields = ["status"]
    if status == OrderStatus.PAID and order.paid_at is None:
        order.paid_at = timezone.now()
        fields.append("paid_at")
    order.save(update_fields=fields)
    record_event(order, event, message, actor=actor)
