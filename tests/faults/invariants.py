"""The one assertion every fault test ends with: whatever broke on the way, the store is in a
state a customer and an accountant would accept."""

import logging
import time
from collections import Counter

from django.core import mail
from django.utils import timezone

from ipmart.core.models import OutboxMessage
from orders.models import (
    IN_FLIGHT_ATTEMPT_STATUSES,
    Fulfilment,
    LicenceKey,
    LicenceKeyStatus,
    Order,
    OrderStatus,
)

# Statuses in which an order must have exactly one fulfilment row.
FULFILLED_ONCE = (OrderStatus.FULFILLED,)
NEVER_FULFILLED = (
    OrderStatus.PENDING_PAYMENT,
    OrderStatus.ON_HOLD,
    OrderStatus.NEEDS_REVIEW,
    OrderStatus.CANCELLED,
    OrderStatus.EXPIRED,
)


def server_errors(records) -> list[str]:
    """5xx answers the store logged (Django logs each one on `django.request` at ERROR)."""
    return [
        record.getMessage()
        for record in records
        if record.name == "django.request"
        and record.levelno >= logging.ERROR
        and getattr(getattr(record, "response", None), "status_code", 500) >= 500
    ]


def settle(timeout: float = 30.0) -> None:
    """Let side effects already under way finish (a live server thread or a worker still
    running an outbox message) before judging: wait until no message is pending, or give up
    after `timeout` and let the assertion report what is left."""
    deadline = time.monotonic() + timeout
    while OutboxMessage.objects.filter(done_at__isnull=True).exists():
        if time.monotonic() > deadline:
            return
        time.sleep(0.05)


def assert_store_invariants(log_records=(), *, explained_5xx: tuple[str, ...] = ()) -> None:
    """Every paid order fulfilled exactly once (paid orders with goods to post: fulfilled and
    waiting, keys issued); no reservation held past its time; no outbox message left undone;
    no email sent twice; no 5xx in the logs unless the test explains it (a substring of the
    log line, e.g. the path it expected to fail)."""
    settle()
    problems = []
    fulfilments = Counter(Fulfilment.objects.values_list("order_id", flat=True))
    now = timezone.now()
    for order in Order.objects.all():
        count = fulfilments.get(order.pk, 0)
        if order.status in FULFILLED_ONCE and count != 1:
            problems.append(f"{order.number} {order.status} with {count} fulfilments")
        if order.status == OrderStatus.PAID and count != 1:
            problems.append(f"{order.number} paid but {count} fulfilments")
        if order.status in NEVER_FULFILLED and count:
            problems.append(f"{order.number} {order.status} yet fulfilled")
        if count:
            unissued = LicenceKey.objects.filter(order_line__order=order).exclude(
                status=LicenceKeyStatus.ISSUED
            )
            if unissued.exists():
                problems.append(f"{order.number} fulfilled with keys not issued")
        held_past_time = order.reserved_until <= now and not order.stock_released
        if (
            order.status in (OrderStatus.EXPIRED, OrderStatus.CANCELLED)
            and not order.stock_released
        ):
            problems.append(f"{order.number} {order.status} still holds its reservation")
        if (
            order.status == OrderStatus.PENDING_PAYMENT
            and held_past_time
            and not order.attempts.filter(status__in=IN_FLIGHT_ATTEMPT_STATUSES).exists()
        ):
            problems.append(f"{order.number} holds its reservation past its time")
    pending = list(OutboxMessage.objects.filter(done_at__isnull=True))
    if pending:
        problems.append(f"outbox messages not done: {[str(m) for m in pending]}")
    sent = Counter((tuple(m.to), m.subject) for m in mail.outbox)
    problems += [f"email sent {n} times: {key}" for key, n in sent.items() if n > 1]
    problems += [
        f"unexplained 5xx: {line}"
        for line in server_errors(log_records)
        if not any(reason in line for reason in explained_5xx)
    ]
    assert problems == [], "store invariants broken:\n" + "\n".join(problems)
