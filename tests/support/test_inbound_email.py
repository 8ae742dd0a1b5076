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
from tests.factories import documents as files

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


# --- attachments: the same intake and vault as the web form --------------------------------


@pytest.fixture
def vault_dir(settings, tmp_path):
    from tests.orders.verification_helpers import use_vault_dir

    return use_vault_dir(settings, tmp_path)


def _with_files(payload: dict, *named_files) -> dict:
    payload = dict(payload)
    payload["attachment-count"] = str(len(named_files))
    for number, (name, data) in enumerate(named_files, start=1):
        payload[f"attachment-{number}"] = files.upload(name, data, "application/octet-stream")
    return payload


def test_an_emailed_pdf_and_image_join_the_thread_encrypted_and_a_refused_one_is_noted(
    client, vault_dir
):
    # given
    from privacy import vault
    from tests.orders.verification_helpers import MARKER, stored_files

    customer = CustomerFactory(email="siti@example.com")
    inquiry = InquiryFactory(user=customer, status=Status.WAITING)
    pdf = files.text_pdf(["Receipt", MARKER])
    payload = _with_files(
        mailgun_payload(recipient=reply_address(inquiry), sender="siti@example.com"),
        ("receipt.pdf", pdf),
        ("photo.png", files.png(30, 20)),
        ("card.pdf", files.text_pdf(["Card 4111 1111 1111 1111"])),
    )

    # when
    response = client.post(URL, payload)

    # then
    assert response.status_code == 200
    reply = inquiry.messages.get(kind=MessageKind.CUSTOMER, channel="email")
    kept = list(reply.attachments.order_by("id"))
    assert [(a.original_name, a.content_type) for a in kept] == [
        ("receipt.pdf", "application/pdf"),
        ("photo.png", "image/png"),
    ]
    assert vault.read_bytes(kept[0].file) == pdf
    assert [p.page for p in kept[0].previews.all()] == [1]
    [note] = inquiry.messages.filter(kind=MessageKind.NOTE)
    assert note.body == (
        "Email attachment refused: card.pdf: The document shows a full card number. Cover all "
        "but the last four digits of the card number, then upload it again."
    )
    blobs = stored_files(vault_dir)
    assert len(blobs) == 4  # two files, two previews; the refused one never stored
    assert all(MARKER.encode() not in path.read_bytes() for path in blobs)


def test_an_oversize_emailed_file_is_dropped_while_streaming_and_noted(client, vault_dir):
    from support.attachments import MAX_BYTES

    customer = CustomerFactory(email="siti@example.com")
    inquiry = InquiryFactory(user=customer)
    payload = _with_files(
        mailgun_payload(recipient=reply_address(inquiry), sender="siti@example.com"),
        ("huge.png", files.png() + b"\x00" * MAX_BYTES),
    )
    assert client.post(URL, payload).status_code == 200
    reply = inquiry.messages.get(kind=MessageKind.CUSTOMER, channel="email")
    assert reply.attachments.count() == 0
    note = inquiry.messages.get(kind=MessageKind.NOTE)
    assert note.body == "Email attachment refused: huge.png: The file is larger than 5 MB."
    from tests.orders.verification_helpers import stored_files

    assert stored_files(vault_dir) == []


def test_a_held_emails_attachments_are_not_kept(client, vault_dir):
    from privacy.models import VaultFile

    inquiry = InquiryFactory(user=CustomerFactory(email="siti@example.com"))
    payload = _with_files(
        mailgun_payload(recipient=reply_address(inquiry), sender="stranger@example.com"),
        ("photo.png", files.png()),
    )
    assert client.post(URL, payload).status_code == 200
    assert InboundEmail.objects.get().status == InboundStatus.HELD
    assert VaultFile.objects.count() == 0
    note = inquiry.messages.get(kind=MessageKind.NOTE)
    assert note.body == "Held email from another sender: its 1 attachment(s) were not kept."
