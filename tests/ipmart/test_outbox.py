"""The transactional outbox: a side effect commits or rolls back with its state change, runs
once after commit, and waits for the sweeper when the broker cannot take it."""

import datetime

import pytest
from django.db import transaction
from django.utils import timezone

from ipmart.core import outbox
from ipmart.core.models import OutboxMessage
from ipmart.core.tasks import run_outbox_message

CALLS: list[tuple] = []


def record_call(*args):
    CALLS.append(args)


def fail_once(*args):
    if not any(c == ("failed", *args) for c in CALLS):
        CALLS.append(("failed", *args))
        raise RuntimeError("first attempt fails")
    CALLS.append(args)


@pytest.fixture(autouse=True)
def _clear_calls():
    CALLS.clear()


HANDLER = f"{__name__}.record_call"


@pytest.mark.django_db(transaction=True)
def test_message_runs_once_after_commit():
    with transaction.atomic():
        outbox.enqueue(HANDLER, 7, "paid")
        assert CALLS == []  # nothing runs before the commit

    assert CALLS == [(7, "paid")]
    message = OutboxMessage.objects.get()
    assert message.done_at is not None and message.attempts == 1
    assert outbox.run_message(message.pk) is False  # done: a second relay runs nothing
    assert CALLS == [(7, "paid")]


@pytest.mark.django_db(transaction=True)
def test_rolled_back_state_change_leaves_no_message():
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox.enqueue(HANDLER, 1)
        raise RuntimeError("the state change fails after the message was written")

    assert OutboxMessage.objects.count() == 0
    assert CALLS == []


@pytest.mark.django_db
def test_unknown_handler_is_refused_when_enqueued():
    with pytest.raises(ImportError):
        outbox.enqueue("orders.tasks.no_such_task", 1)
    assert OutboxMessage.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_broker_down_leaves_message_for_the_sweeper(monkeypatch):
    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(run_outbox_message, "apply_async", broker_down)
    with transaction.atomic():
        outbox.enqueue(HANDLER, 3)

    message = OutboxMessage.objects.get()
    assert CALLS == [] and message.done_at is None
    assert message.last_error.startswith("relay: broker unreachable")

    monkeypatch.undo()  # the broker is back
    assert outbox.relay_pending() == 1
    assert CALLS == [(3,)]
    assert OutboxMessage.objects.get().done_at is not None
    assert outbox.relay_pending() == 0


@pytest.mark.django_db(transaction=True)
def test_failing_handler_is_retried_later_with_backoff():
    with transaction.atomic():
        outbox.enqueue(f"{__name__}.fail_once", 5)

    message = OutboxMessage.objects.get()
    assert message.done_at is None and message.attempts == 1
    assert message.last_error == "RuntimeError: first attempt fails"
    assert message.relay_after > timezone.now()
    assert outbox.relay_pending() == 0  # not due yet

    OutboxMessage.objects.update(relay_after=timezone.now())
    assert outbox.relay_pending() == 1
    assert CALLS == [("failed", 5), (5,)]
    assert OutboxMessage.objects.get().done_at is not None


@pytest.mark.django_db
def test_a_held_message_is_not_run_by_a_second_runner():
    message = OutboxMessage.objects.create(
        handler=HANDLER, args=[9], locked_until=timezone.now() + datetime.timedelta(minutes=5)
    )
    assert outbox.run_message(message.pk) is False
    assert CALLS == []

    OutboxMessage.objects.update(locked_until=timezone.now() - datetime.timedelta(seconds=1))
    assert outbox.run_message(message.pk) is True  # the lease of a killed runner has passed
    assert CALLS == [(9,)]


@pytest.mark.django_db
def test_finished_messages_are_purged_after_the_keep_period():
    old = OutboxMessage.objects.create(
        handler=HANDLER, done_at=timezone.now() - datetime.timedelta(days=8)
    )
    recent = OutboxMessage.objects.create(handler=HANDLER, done_at=timezone.now())
    pending = OutboxMessage.objects.create(handler=HANDLER)

    assert outbox.purge_done(older_than=datetime.timedelta(days=7)) == 1
    assert set(OutboxMessage.objects.values_list("pk", flat=True)) == {recent.pk, pending.pk}
    assert not OutboxMessage.objects.filter(pk=old.pk).exists()
