"""An order email is sent at least once and never twice on purpose: its guard row is claimed
"sending" (committed) before the SMTP conversation and marked "sent" after it; a runner that
died mid-send leaves "sending", and the retry after the lease sends again under the same
Message-ID, so the receiving side recognises the copy. Through a real SMTP server (aiosmtpd)."""

import datetime

import pytest
from django.utils import timezone

from ipmart.core.message_ids import stable_message_id
from orders.emails import send_order_email, send_order_email_once
from orders.models import OrderEmail, OrderEmailState
from tests.factories import OrderFactory
from tests.marketing.conftest import smtp_server  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp(settings, smtp_server):  # noqa: F811
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.OUTBOX_RUN_LEASE_SECONDS = 600
    return smtp_server


def _guard(order):
    return list(OrderEmail.objects.filter(order=order).values_list("kind", "state"))


def test_the_message_id_is_stable_per_order_and_kind_and_names_no_number():
    order = OrderFactory()
    paid = stable_message_id("order", order.pk, "paid")
    assert paid == stable_message_id("order", order.pk, "paid")
    assert paid != stable_message_id("order", order.pk, "shipped")
    assert paid != stable_message_id("order", order.pk + 1, "paid")
    assert paid.startswith("<") and paid.endswith("@ipmart.com.my>")
    assert order.number not in paid


def test_a_sent_email_carries_the_stable_id_and_is_not_sent_again(smtp):
    order = OrderFactory()
    assert send_order_email_once(order, "paid") is True
    assert send_order_email_once(order, "paid") is False
    [message] = smtp.messages()
    assert message["Message-ID"] == stable_message_id("order", order.pk, "paid")
    assert _guard(order) == [("paid", OrderEmailState.SENT)]


def test_a_runner_that_died_mid_send_is_retried_with_the_same_message_id(smtp):
    # given a runner that claimed the email, had it taken by the SMTP server, and died before
    # marking it sent (the claim is older than the runner's lease)
    order = OrderFactory()
    send_order_email(order, "paid")
    OrderEmail.objects.create(
        order=order,
        kind="paid",
        state=OrderEmailState.SENDING,
        claimed_at=timezone.now() - datetime.timedelta(seconds=601),
    )
    # when the outbox retries the handler
    assert send_order_email_once(order, "paid") is True
    # then the second copy has the first one's Message-ID (the receiver drops it as a duplicate)
    first, second = smtp.messages()
    assert first["Message-ID"] == second["Message-ID"]
    assert first["Message-ID"] == stable_message_id("order", order.pk, "paid")
    plain = ("plain",)
    assert (first["Subject"], first.get_body(plain).get_content()) == (
        second["Subject"],
        second.get_body(plain).get_content(),
    )
    assert _guard(order) == [("paid", OrderEmailState.SENT)]
    # and nothing more is ever sent
    assert send_order_email_once(order, "paid") is False
    assert smtp.count() == 2


def test_a_claim_still_within_the_lease_is_left_to_its_runner(smtp):
    # given a runner that is sending the email right now
    order = OrderFactory()
    OrderEmail.objects.create(order=order, kind="paid", state=OrderEmailState.SENDING)
    # when a second run (a relay and a sweep of the same message) comes
    assert send_order_email_once(order, "paid") is False
    # then it sends nothing and leaves the claim alone
    assert smtp.count() == 0
    assert _guard(order) == [("paid", OrderEmailState.SENDING)]


def test_a_refused_send_lets_go_of_the_claim(smtp, settings):
    order = OrderFactory()
    settings.EMAIL_PORT = 1  # nothing listens: the SMTP conversation fails
    with pytest.raises(OSError):
        send_order_email_once(order, "paid")
    assert _guard(order) == []
    settings.EMAIL_PORT = smtp.port
    assert send_order_email_once(order, "paid") is True
    assert smtp.count() == 1
