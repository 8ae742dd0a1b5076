"""Email replies through Mailgun's inbound route (forward() to our anymail webhook). The tests
post Mailgun's own "fully parsed" form payload, signed as Mailgun signs it: HMAC-SHA256 of
timestamp + token with the webhook signing key."""

import hashlib
import hmac
import json
import time
import uuid

import pytest

from support.inbound import strip_reply
from support.models import InboundEmail, InboundStatus, MessageKind, Status
from support.tokens import reply_address
from tests.factories import CustomerFactory, InquiryFactory

pytestmark = pytest.mark.django_db

URL = "/support/email/mailgun/inbound/"
KEY = "test-mailgun-signing-key"  # ipmart/settings/test.py

QUOTED_REPLY = """Yes, it is order IPM-ABCD-EFGH.

Thanks,
Siti

On Mon, 30 Nov 2026 at 10:00, IPmart Customer Service <support+1-abc@ipmart.com.my> wrote:
> Could you tell us the order number?
> --
> IPmart Customer Service
"""


def mailgun_payload(*, recipient, sender, text=QUOTED_REPLY, key=KEY, token=None, message_id=None):
    timestamp = str(int(time.time()))
    token = token or uuid.uuid4().hex + uuid.uuid4().hex[:18]
    message_id = message_id or f"<{uuid.uuid4().hex}@mail.example.com>"
    headers = [
        ["Received", "by mx.example.com"],
        ["From", f"Siti <{sender}>"],
        ["To", f"IPmart Customer Service <{recipient}>"],
        ["Subject", "Re: Key not working (SUP-AAAA-BBBB)"],
        ["Message-Id", message_id],
        ["Date", "Mon, 30 Nov 2026 10:05:00 +0800"],
        ["Content-Type", 'text/plain; charset="utf-8"'],
    ]
    return {
        "recipient": recipient,
        "sender": sender,
        "from": f"Siti <{sender}>",
        "subject": "Re: Key not working (SUP-AAAA-BBBB)",
        "body-plain": text,
        "stripped-text": text.split("\n\nOn Mon")[0],
        "stripped-signature": "",
        "attachment-count": "0",
        "message-headers": json.dumps(headers),
        "Message-Id": message_id,
        "timestamp": timestamp,
        "token": token,
        "signature": hmac.new(
            key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256
        ).hexdigest(),
    }


def test_a_signed_reply_from_the_customer_joins_the_right_thread_and_reopens_it(client):
    # given
    customer = CustomerFactory(email="siti@example.com")
    inquiry = InquiryFactory(user=customer, status=Status.WAITING)
    other = InquiryFactory(user=customer, subject="Key not working")  # same subject elsewhere

    # when
    response = client.post(
        URL, mailgun_payload(recipient=reply_address(inquiry), sender="SITI@example.com")
    )

    # then
    assert response.status_code == 200
    inquiry.refresh_from_db()
    assert inquiry.status == Status.OPEN
    reply = inquiry.messages.last()
    assert (reply.kind, reply.channel) == (MessageKind.CUSTOMER, "email")
    assert reply.body == "Yes, it is order IPM-ABCD-EFGH.\n\nThanks,\nSiti"
    assert other.messages.count() == 1
    assert InboundEmail.objects.get().status == InboundStatus.ADDED


def test_a_guest_reply_joins_the_thread_without_any_csrf_token():
    # given a client that enforces CSRF as browsers' requests are checked
    from django.test import Client

    inquiry = InquiryFactory(email="guest@example.com")
    client = Client(enforce_csrf_checks=True)

    # when
    response = client.post(
        URL, mailgun_payload(recipient=reply_address(inquiry), sender="guest@example.com")
    )

    # then
    assert response.status_code == 200
    assert inquiry.messages.count() == 2


def test_a_forged_signature_changes_nothing(client):
    inquiry = InquiryFactory(email="guest@example.com")
    payload = mailgun_payload(
        recipient=reply_address(inquiry), sender="guest@example.com", key="not-the-key"
    )
    response = client.post(URL, payload)
    assert response.status_code == 400
    assert inquiry.messages.count() == 1 and InboundEmail.objects.count() == 0


@pytest.mark.parametrize(
    "tamper",
    [
        lambda a: a.replace("+", "+9", 1),  # another inquiry's id, same mac
        lambda a: (
            a[: a.index("@") - 1] + ("0" if a[a.index("@") - 1] != "0" else "1") + a[a.index("@") :]
        ),
        lambda a: a.split("+")[0] + "@" + a.split("@")[1],  # the bare mailbox
    ],
    ids=["other id", "changed mac", "no token"],
)
def test_a_tampered_token_changes_nothing(client, tamper):
    inquiry = InquiryFactory(email="guest@example.com")
    payload = mailgun_payload(recipient=tamper(reply_address(inquiry)), sender="guest@example.com")
    response = client.post(URL, payload)
    assert response.status_code == 200  # accepted from Mailgun, and ignored
    assert inquiry.messages.count() == 1 and InboundEmail.objects.count() == 0


def test_a_revoked_access_key_invalidates_the_reply_address(client):
    inquiry = InquiryFactory(email="guest@example.com")
    address = reply_address(inquiry)
    type(inquiry).objects.filter(pk=inquiry.pk).update(access_key="rotated")
    client.post(URL, mailgun_payload(recipient=address, sender="guest@example.com"))
    assert inquiry.messages.count() == 1


def test_an_unknown_sender_is_held_for_an_agent_and_not_added(client, agent):
    # given
    inquiry = InquiryFactory(email="guest@example.com", status=Status.RESOLVED)

    # when
    client.post(
        URL, mailgun_payload(recipient=reply_address(inquiry), sender="someone@else.example")
    )

    # then
    inquiry.refresh_from_db()
    assert inquiry.messages.count() == 1 and inquiry.status == Status.RESOLVED
    held = InboundEmail.objects.get()
    assert (held.status, held.from_address) == (InboundStatus.HELD, "someone@else.example")

    # and an agent can add it after checking
    client.force_login(agent)
    client.post(
        "/admin/support/inboundemail/",
        {"action": "add_to_thread", "_selected_action": [held.pk], "index": 0},
    )
    held.refresh_from_db()
    assert held.status == InboundStatus.ACCEPTED
    assert inquiry.messages.count() == 2


def test_a_replayed_payload_changes_nothing(client):
    # given
    inquiry = InquiryFactory(email="guest@example.com")
    payload = mailgun_payload(recipient=reply_address(inquiry), sender="guest@example.com")
    client.post(URL, payload)

    # when: the same signed payload again, and the same email under a new signature
    again = client.post(URL, payload)
    same_mail = mailgun_payload(
        recipient=reply_address(inquiry),
        sender="guest@example.com",
        message_id=json.loads(payload["message-headers"])[4][1],
    )
    client.post(URL, same_mail)

    # then
    assert again.status_code == 200
    assert inquiry.messages.count() == 2
    assert InboundEmail.objects.count() == 1


def test_the_webhook_is_off_without_a_signing_key(client, settings):
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": ""}
    inquiry = InquiryFactory(email="guest@example.com")
    payload = mailgun_payload(recipient=reply_address(inquiry), sender="guest@example.com", key="")
    assert client.post(URL, payload).status_code == 404
    assert inquiry.messages.count() == 1


@pytest.mark.parametrize(
    "text, kept",
    [
        ("Fine now.\n\n-- \nSiti Aminah\n+60 12", "Fine now."),
        ("Thanks!\n\nSent from my iPhone", "Thanks!"),
        ("Hi\n> quoted line\nstill mine", "Hi\nstill mine"),
        ("Ok\n\n-----Original Message-----\nFrom: IPmart", "Ok"),
        ("Baik.\n\nPada 30 Nov 2026, IPmart <support@ipmart.com.my> menulis:\n> Soalan", "Baik."),
        (
            "Sure\n\nOn Mon, 30 Nov 2026 at 10:00, IPmart\n<support@ipmart.com.my> wrote:\n> x",
            "Sure",
        ),
    ],
)
def test_quoted_text_and_signatures_are_stripped(text, kept):
    assert strip_reply(text) == kept
