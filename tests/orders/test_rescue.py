"""No paid order is lost: the sweeper fulfils paid orders nothing fulfilled in time, once, and
tells staff; every order sent to review tells staff; order emails go out once even when their
handler runs twice."""

import datetime
import logging

import pytest
from django.core import mail
from django.utils import timezone

from ipmart.core import outbox
from ipmart.core.models import OutboxMessage
from orders import holds
from orders.models import (
    Fulfilment,
    LicenceKey,
    LicenceKeyStatus,
    OrderEmail,
    OrderEvent,
    OrderStatus,
)
from orders.services.fulfilment import rescue_unfulfilled_orders
from orders.services.payments import handle_webhook
from orders.tasks import send_order_email_task
from tests.factories import (
    LicenceKeyFactory,
    OrderFactory,
    OrderLineFactory,
    PaymentAttemptFactory,
    ProductFactory,
    StaffFactory,
)
from tests.orders.test_payment_rules import event

pytestmark = pytest.mark.django_db

FIVE_MINUTES = datetime.timedelta(minutes=5)


def paid_order(*, paid_minutes_ago: int):
    """A paid licence order whose fulfilment never ran (its outbox message was lost)."""
    product = ProductFactory(licence=True)
    order = OrderFactory(
        status=OrderStatus.PAID,
        paid_at=timezone.now() - datetime.timedelta(minutes=paid_minutes_ago),
    )
    line = OrderLineFactory(order=order, product=product)
    LicenceKeyFactory(product=product, status=LicenceKeyStatus.RESERVED, order_line=line)
    return order


@pytest.fixture
def manager():
    return StaffFactory(role="store manager", email="manager@ipmart.test")


def test_a_paid_order_without_fulfilment_is_rescued_once_and_staff_are_alerted(
    manager, caplog, django_capture_on_commit_callbacks
):
    # given an order paid ten minutes ago and never fulfilled, and one paid a minute ago
    stuck = paid_order(paid_minutes_ago=10)
    recent = paid_order(paid_minutes_ago=1)
    # when the sweeper runs, twice
    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        first = rescue_unfulfilled_orders(older_than=FIVE_MINUTES)
    with django_capture_on_commit_callbacks(execute=True):
        second = rescue_unfulfilled_orders(older_than=FIVE_MINUTES)
    # then the stuck order is fulfilled once, the recent one is left to the outbox
    assert (first, second) == ([stuck.number], [])
    stuck.refresh_from_db()
    recent.refresh_from_db()
    assert (stuck.status, recent.status) == (OrderStatus.FULFILLED, OrderStatus.PAID)
    assert Fulfilment.objects.filter(order=stuck).count() == 1
    assert not Fulfilment.objects.filter(order=recent).exists()
    assert list(
        LicenceKey.objects.filter(order_line__order=stuck).values_list("status", flat=True)
    ) == [LicenceKeyStatus.ISSUED]
    # and the customer got the key email once, the store managers one alert, the log one line
    assert sorted(tuple(m.to) for m in mail.outbox) == sorted([(stuck.email,), (manager.email,)])
    alert = next(m for m in mail.outbox if m.to == [manager.email])
    assert stuck.number in alert.subject and "sweeper fulfilled" in alert.subject
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.name for r in errors] == ["ipmart.alerts"]
    assert stuck.number in errors[0].getMessage()
    assert OrderEvent.objects.filter(order=stuck, message__startswith="Rescued").count() == 1


def test_the_lost_message_arriving_after_the_rescue_changes_nothing(
    manager, django_capture_on_commit_callbacks
):
    # given a stuck order whose fulfilment message is still pending (broker was down)
    order = paid_order(paid_minutes_ago=10)
    message = OutboxMessage.objects.create(
        handler="orders.tasks.fulfil_order_task", args=[order.pk]
    )
    with django_capture_on_commit_callbacks(execute=True):
        rescue_unfulfilled_orders(older_than=FIVE_MINUTES)
    emails = len(mail.outbox)
    # when the broker is back and the message finally runs
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.run_message(message.pk) is True
    # then nothing more happens
    assert Fulfilment.objects.filter(order=order).count() == 1
    assert len(mail.outbox) == emails
    assert OrderEmail.objects.filter(order=order).count() == 1


def test_a_rescued_order_a_hold_rule_stops_is_held_and_staff_are_alerted(
    manager, monkeypatch, django_capture_on_commit_callbacks
):
    order = paid_order(paid_minutes_ago=10)
    monkeypatch.setattr(holds, "HOLD_RULES", [lambda order: "needs proof of payment"])
    with django_capture_on_commit_callbacks(execute=True):
        assert rescue_unfulfilled_orders(older_than=FIVE_MINUTES) == [order.number]
    order.refresh_from_db()
    assert order.status == OrderStatus.ON_HOLD
    assert not Fulfilment.objects.exists()
    # staff are alerted, and the customer is told which documents to upload (issue 7's hold)
    assert sorted(m.to for m in mail.outbox) == sorted([[manager.email], [order.email]])
    alert = next(m for m in mail.outbox if m.to == [manager.email])
    assert "put on hold" in alert.subject
    assert OrderEmail.objects.filter(order=order, kind="verification_requested").count() == 1


def test_the_order_email_handler_run_twice_sends_once(django_capture_on_commit_callbacks):
    order = paid_order(paid_minutes_ago=0)
    assert send_order_email_task(order.pk, "paid") is True
    assert send_order_email_task(order.pk, "paid") is False
    assert [m.to for m in mail.outbox] == [[order.email]]
    assert list(OrderEmail.objects.filter(order=order).values_list("kind", flat=True)) == ["paid"]


def test_a_failed_send_leaves_no_guard_row_so_the_retry_sends(monkeypatch):
    from django.core.mail.backends.locmem import EmailBackend

    order = paid_order(paid_minutes_ago=0)

    def smtp_down(self, messages):
        raise ConnectionError("smtp down")

    monkeypatch.setattr(EmailBackend, "send_messages", smtp_down)
    with pytest.raises(ConnectionError):
        send_order_email_task(order.pk, "paid")
    assert not OrderEmail.objects.exists()
    monkeypatch.undo()
    assert send_order_email_task(order.pk, "paid") is True
    assert len(mail.outbox) == 1


def test_an_order_sent_to_review_alerts_the_store_managers(
    manager, caplog, django_capture_on_commit_callbacks
):
    # given an order awaiting payment
    product = ProductFactory(licence=True, price_sen=10000)
    order = OrderFactory(subtotal_sen=10000, tax_sen=800)
    line = OrderLineFactory(order=order, product=product)
    LicenceKeyFactory(product=product, status=LicenceKeyStatus.RESERVED, order_line=line)
    attempt = PaymentAttemptFactory(order=order)
    # when the gateway reports a different amount
    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        handle_webhook(event(attempt, "CAPTURED", amount=10801), key_id="k")
    # then the order is under review and staff know
    order.refresh_from_db()
    assert order.status == OrderStatus.NEEDS_REVIEW
    assert [m.to for m in mail.outbox] == [[manager.email]]
    assert mail.outbox[0].subject == f"[IPmart alert] Order {order.number} needs review"
    assert "10801" in mail.outbox[0].body
    assert [r.name for r in caplog.records if r.levelno == logging.ERROR] == ["ipmart.alerts"]
