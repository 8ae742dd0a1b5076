"""Email sent by an outbox handler keeps one Message-ID however often the handler runs (a
runner killed after the SMTP server took the message runs it again): the staff alert and the
signup emails derive it from their outbox message."""

import pytest
from django.core import mail
from django.test import Client, TestCase

from ipmart.core import outbox
from ipmart.core.alerts import alert_staff
from ipmart.core.message_ids import outbox_message_id, stable_message_id
from ipmart.core.models import OutboxMessage
from privacy.services import get_current_policy
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def _run_again(message: OutboxMessage) -> None:
    """As after a runner died between the send and marking the message done."""
    OutboxMessage.objects.filter(pk=message.pk).update(done_at=None, locked_until=None)
    assert outbox.run_message(message.pk) is True


def test_outside_a_handler_there_is_no_outbox_message_id():
    assert outbox_message_id() is None


def test_a_rerun_alert_is_the_same_email_under_the_same_message_id():
    StaffFactory(role="store manager")
    with TestCase.captureOnCommitCallbacks(execute=False):
        alert_staff("Order IPM-1 rescued", "details", kind="rescue")
    message = OutboxMessage.objects.get()
    assert outbox.run_message(message.pk) is True
    _run_again(message)
    first, second = (m.message() for m in mail.outbox)
    assert first["Message-ID"] == second["Message-ID"] == stable_message_id("outbox", message.pk)
    assert first["Subject"] == second["Subject"] == "[IPmart alert] Order IPM-1 rescued"


def test_a_rerun_signup_email_keeps_its_message_id():
    with TestCase.captureOnCommitCallbacks(execute=False):
        Client().post(
            "/accounts/signup/",
            {
                "full_name": "Nurul Aina",
                "email": "nurul@example.com",
                "password1": "a long and unusual passphrase",
                "password2": "a long and unusual passphrase",
                "accept_privacy_policy": "on",
                "policy_id": get_current_policy().pk,
            },
        )
    message = OutboxMessage.objects.get(handler="accounts.tasks.send_signup_email")
    assert outbox.run_message(message.pk) is True
    _run_again(message)
    first, second = (m.message() for m in mail.outbox)
    assert first["Message-ID"] == second["Message-ID"] == stable_message_id("outbox", message.pk)
    assert first["To"] == second["To"] == "nurul@example.com"
