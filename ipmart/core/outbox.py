"""Durable side effects (a transactional outbox).

A service that changes state and needs something to happen afterwards (fulfil an order, send an
email, start a campaign batch) calls `enqueue("app.tasks.handler", *ids)` inside its transaction.
The row commits or rolls back with the state change. After commit it is handed to Celery at once
(`relay`); if the broker is down at that moment the row waits and the beat sweeper
(`relay_pending`) hands it over again until a runner has finished it. Handlers are plain functions
(or Celery tasks, called in-process) that take ids, load rows, call a service and are safe to run
twice. Services name handlers by dotted path, so they never import their app's tasks module.
A message keeps the id of the request that enqueued it; its handler's log lines carry it.
"""

from __future__ import annotations

import contextvars
import datetime
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string

from .models import OutboxMessage
from .request_id import current_request_id, request_id_context

logger = logging.getLogger(__name__)
_running: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "outbox_message", default=None
)


def running_message_id() -> int | None:
    """The id of the outbox message whose handler is running now (None outside a handler): an
    email a handler sends derives its stable Message-ID from it (ipmart.core.message_ids)."""
    return _running.get()


def enqueue(handler: str, *args: Any) -> OutboxMessage:
    """Record that `handler(*args)` must run after the current transaction commits. Args must be
    JSON (ids, short codes; never personal data). Raises ImportError for an unknown handler, so a
    typo fails in the service's own tests, not later in a worker."""
    import_string(handler)
    request_id = current_request_id()
    message = OutboxMessage.objects.create(
        handler=handler, args=list(args), request_id="" if request_id == "-" else request_id
    )
    transaction.on_commit(lambda: relay(message.pk))
    return message


def relay(message_id: int) -> bool:
    """Hand one message to the broker. Never raises: a broker that cannot be reached leaves the
    message for the sweeper. Returns True when the broker took it."""
    from .tasks import run_outbox_message

    lease = datetime.timedelta(seconds=settings.OUTBOX_RELAY_LEASE_SECONDS)
    OutboxMessage.objects.filter(pk=message_id, done_at__isnull=True).update(
        relay_after=timezone.now() + lease, relays=F("relays") + 1
    )
    try:
        run_outbox_message.apply_async((message_id,), retry=False)
    except Exception as error:  # the broker is down: the sweeper relays it later
        logger.warning("outbox %s not relayed (%s); the sweeper will retry", message_id, error)
        OutboxMessage.objects.filter(pk=message_id, done_at__isnull=True).update(
            relay_after=timezone.now(), last_error=f"relay: {error}"[:500]
        )
        return False
    return True


def relay_pending(*, limit: int = 500) -> int:
    """Relay every pending message whose time has come and that no runner holds (the beat
    sweeper). Returns how many the broker took."""
    now = timezone.now()
    due = (
        OutboxMessage.objects.filter(done_at__isnull=True, relay_after__lte=now)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .order_by("relay_after")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(relay(pk) for pk in list(due))


def _backoff(attempts: int) -> datetime.timedelta:
    return datetime.timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def run_message(message_id: int) -> bool:
    """Run one message's handler unless it is done or another runner holds it. The claim is a
    guarded UPDATE, so concurrent runners (a relay and a sweep of the same row) run it once at a
    time. A handler that raises is logged and retried later with backoff. Returns True when this
    call finished the message."""
    now = timezone.now()
    lease = datetime.timedelta(seconds=settings.OUTBOX_RUN_LEASE_SECONDS)
    claimed = (
        OutboxMessage.objects.filter(pk=message_id, done_at__isnull=True)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(locked_until=now + lease, attempts=F("attempts") + 1)
    )
    if not claimed:
        return False
    message = OutboxMessage.objects.get(pk=message_id)
    handler: Callable[..., Any] = import_string(message.handler)
    # the handler's log lines carry the id of the request that enqueued the message
    token = _running.set(message.pk)
    try:
        with request_id_context(message.request_id):
            return _run_handler(message, handler)
    finally:
        _running.reset(token)


def _run_handler(message: OutboxMessage, handler: Callable[..., Any]) -> bool:
    try:
        handler(*message.args)
    except Exception as error:
        logger.exception(
            "outbox %s (%s) failed on attempt %s", message.pk, message, message.attempts
        )
        OutboxMessage.objects.filter(pk=message.pk).update(
            locked_until=None,
            relay_after=timezone.now() + _backoff(message.attempts),
            last_error=f"{type(error).__name__}: {error}"[:500],
        )
        return False
    OutboxMessage.objects.filter(pk=message.pk).update(
        done_at=timezone.now(), locked_until=None, last_error=""
    )
    return True


def purge_done(*, older_than: datetime.timedelta) -> int:
    """Delete messages finished before `older_than` ago (kept a while for inspection)."""
    deleted, _ = OutboxMessage.objects.filter(
        done_at__isnull=False, done_at__lt=timezone.now() - older_than
    ).delete()
    return deleted
