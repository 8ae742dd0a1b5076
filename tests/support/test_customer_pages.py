"""The customer side of customer service: the inquiry form (customers and guests, rate limit,
honeypot, bad input), the acknowledgement email, threads, guest links and the rating link."""

import re

import pytest
from django.core import mail, signing
from django.urls import reverse

from support import tokens
from support.models import Inquiry, Message, MessageKind, Rating, Status
from support.services import MAX_MESSAGE_CHARS, reply_as_agent, resolve_inquiry
from tests.factories import CustomerFactory, InquiryFactory, OrderFactory

pytestmark = pytest.mark.django_db

ASK = "/support/ask/"


def guest_form(**changes):
    data = {
        "name": "Siti Guest",
        "email": "siti@example.com",
        "category": "licence_key",
        "subject": "Key not working",
        "message": "The key for my order says invalid.",
        "website": "",
    }
    data.update(changes)
    return data


def _link(body: str, prefix: str) -> str:
    return re.search(rf"https?://\S+({re.escape(prefix)}\S+)", body).group(1)


# --- sending an inquiry


def test_a_guest_sends_an_inquiry_and_gets_a_reference_and_a_signed_link(
    client, django_capture_on_commit_callbacks
):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(ASK, guest_form())

    # then
    assert response.status_code == 302 and response["Location"] == "/support/ask/sent/"
    inquiry = Inquiry.objects.get()
    assert re.fullmatch(r"SUP-[A-Z2-9]{4}-[A-Z2-9]{4}", inquiry.reference)
    assert (inquiry.user, inquiry.email, inquiry.status) == (None, "siti@example.com", Status.NEW)
    assert list(inquiry.messages.values_list("body", flat=True)) == [
        "The key for my order says invalid."
    ]
    assert inquiry.reference in client.get(response["Location"]).content.decode()
    [email] = mail.outbox
    assert email.to == ["siti@example.com"]
    assert inquiry.reference in email.subject and inquiry.reference in email.body
    assert email.from_email.endswith(f"<{tokens.reply_address(inquiry)}>")
    assert email.reply_to == [tokens.reply_address(inquiry)]
    assert re.fullmatch(r"support\+\d+-[0-9a-f]{24}@ipmart\.com\.my", tokens.reply_address(inquiry))
    thread = client.get(_link(email.body, "/support/t/"))
    assert thread.status_code == 200
    assert "The key for my order says invalid." in thread.content.decode()


def test_the_acknowledgement_is_in_the_language_the_page_was_in(
    client, django_capture_on_commit_callbacks
):
    # given
    client.cookies["django_language"] = "ms"

    # when
    with django_capture_on_commit_callbacks(execute=True):
        client.post(ASK, guest_form(), HTTP_ACCEPT_LANGUAGE="ms")

    # then
    assert Inquiry.objects.get().language == "ms"
    assert "Terima kasih kerana menghubungi Khidmat Pelanggan IPmart" in mail.outbox[0].body


def test_a_customer_sends_an_inquiry_about_their_own_order(client, customer):
    # given
    order = OrderFactory(user=customer)
    client.force_login(customer)

    # when
    response = client.post(
        ASK,
        {"category": "order", "order": order.pk, "subject": "Late", "message": "Where is it?"},
    )

    # then
    inquiry = Inquiry.objects.get()
    assert response["Location"] == f"/support/inquiries/{inquiry.reference}/"
    assert (inquiry.user, inquiry.email, inquiry.order) == (customer, customer.email, order)


def test_a_customer_cannot_attach_another_customers_order(client, customer):
    # given
    other_order = OrderFactory(user=CustomerFactory())
    client.force_login(customer)

    # when
    response = client.post(
        ASK, {"category": "order", "order": other_order.pk, "subject": "x", "message": "y"}
    )

    # then nothing was saved and the text is still there
    assert response.status_code == 400
    assert Inquiry.objects.count() == 0
    assert "y</textarea>" in response.content.decode()


def test_a_guest_must_give_an_email_address(client):
    response = client.post(ASK, guest_form(email=""))
    assert response.status_code == 400
    assert Inquiry.objects.count() == 0


@pytest.mark.parametrize("message", ["", "   ", "x" * (MAX_MESSAGE_CHARS + 1)])
def test_empty_and_oversize_messages_are_refused_and_nothing_is_saved(client, message):
    response = client.post(ASK, guest_form(message=message))
    assert response.status_code == 400
    assert Inquiry.objects.count() == Message.objects.count() == 0
    assert len(mail.outbox) == 0


def test_the_honeypot_refuses_and_keeps_the_text(client):
    response = client.post(ASK, guest_form(website="http://spam.example", message="Keep me"))
    assert response.status_code == 400
    assert Inquiry.objects.count() == 0
    assert "Keep me</textarea>" in response.content.decode()


def test_a_flood_is_refused_after_the_limit_and_nothing_before_it_is_lost(client, settings):
    # given
    settings.SUPPORT_INQUIRIES_PER_HOUR = 3

    # when: the same IP sends five, with different email addresses
    responses = [
        client.post(ASK, guest_form(email=f"p{n}@example.com", message=f"Message {n}"))
        for n in range(5)
    ]

    # then the first three are kept, the other two refused with their text on the page
    assert [r.status_code for r in responses] == [302, 302, 302, 429, 429]
    assert sorted(Message.objects.values_list("body", flat=True)) == [
        "Message 0",
        "Message 1",
        "Message 2",
    ]
    page = responses[3].content.decode()
    assert "Message 3</textarea>" in page and "try again later" in page


def test_the_limit_is_per_email_address_too(client, settings):
    # given
    settings.SUPPORT_INQUIRIES_PER_HOUR = 2
    addresses = ["10.0.0.1", "10.0.0.2", "10.0.0.3"]

    # when: one email address from three IP addresses
    codes = [
        client.post(ASK, guest_form(), REMOTE_ADDR=address).status_code for address in addresses
    ]

    # then
    assert codes == [302, 302, 429]
    assert Inquiry.objects.count() == 2


def test_html_in_a_message_is_shown_escaped(client, customer):
    # given
    inquiry = InquiryFactory(user=customer, body='<script>alert("x")</script><b>hi</b>')
    client.force_login(customer)

    # when
    page = client.get(f"/support/inquiries/{inquiry.reference}/").content.decode()

    # then
    assert "<script>alert" not in page and "<b>hi</b>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;b&gt;hi&lt;/b&gt;" in page


# --- reading and answering threads


def test_a_customer_sees_their_inquiries_and_public_replies_but_never_notes(
    client, customer, agent
):
    # given
    inquiry = InquiryFactory(user=customer, subject="My subject")
    Message.objects.create(inquiry=inquiry, kind=MessageKind.NOTE, channel="admin", body="SECRET")
    reply_as_agent(inquiry, body="Here is your answer", acting_user=agent)
    client.force_login(customer)

    # when
    faq = client.get("/support/").content.decode()
    page = client.get(f"/support/inquiries/{inquiry.reference}/").content.decode()

    # then
    assert "My subject" in faq and inquiry.reference in faq
    assert "Here is your answer" in page
    assert "SECRET" not in page


def test_a_customer_reply_reopens_a_resolved_inquiry(client, customer, agent):
    # given
    inquiry = InquiryFactory(user=customer)
    resolve_inquiry(inquiry, acting_user=agent)
    client.force_login(customer)

    # when
    response = client.post(f"/support/inquiries/{inquiry.reference}/", {"message": "Not fixed"})

    # then
    assert response.status_code == 302
    inquiry.refresh_from_db()
    assert inquiry.status == Status.OPEN and inquiry.resolved_at is None
    assert inquiry.messages.last().body == "Not fixed"


def test_a_guest_answers_through_the_link_and_gets_a_fresh_one(client):
    # given
    inquiry = InquiryFactory()
    token = tokens.guest_token(inquiry)

    # when
    response = client.post(f"/support/t/{token}/", {"message": "Thanks, one more thing"})

    # then
    assert response.status_code == 302
    assert response["Location"].startswith("/support/t/")
    assert inquiry.messages.last().body == "Thanks, one more thing"
    assert inquiry.messages.last().author is None


def _signed_days_ago(monkeypatch, days: int, make):
    real = signing.time.time
    monkeypatch.setattr(signing.time, "time", lambda: real() - days * 86400)
    token = make()
    monkeypatch.undo()
    return token


def test_an_expired_guest_link_is_refused(client, settings, monkeypatch):
    # given a link signed 31 days ago, and one signed 29 days ago, with links valid 30 days
    settings.SUPPORT_GUEST_LINK_DAYS = 30
    inquiry = InquiryFactory()
    expired = _signed_days_ago(monkeypatch, 31, lambda: tokens.guest_token(inquiry))
    fresh = _signed_days_ago(monkeypatch, 29, lambda: tokens.guest_token(inquiry))

    # when
    refused = client.post(f"/support/t/{expired}/", {"message": "late"})
    accepted = client.get(f"/support/t/{fresh}/")

    # then
    assert (refused.status_code, accepted.status_code) == (410, 200)
    assert "expired" in refused.content.decode()
    assert inquiry.messages.count() == 1


@pytest.mark.parametrize("how", ["tampered", "revoked", "customer's", "rating token"])
def test_a_bad_guest_link_is_a_404_and_changes_nothing(client, how):
    # given
    inquiry = InquiryFactory(user=CustomerFactory() if how == "customer's" else None)
    token = tokens.guest_token(inquiry)
    if how == "tampered":
        token = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    elif how == "revoked":
        Inquiry.objects.filter(pk=inquiry.pk).update(access_key="new-key")
    elif how == "rating token":
        token = tokens.rating_token(inquiry)

    # when
    get = client.get(f"/support/t/{token}/")
    post = client.post(f"/support/t/{token}/", {"message": "sneaky"})

    # then
    assert (get.status_code, post.status_code) == (404, 404)
    assert inquiry.messages.count() == 1


def test_another_customer_cannot_open_an_inquiry(client, customer):
    inquiry = InquiryFactory(user=customer)
    client.force_login(CustomerFactory())
    assert client.get(f"/support/inquiries/{inquiry.reference}/").status_code == 404
    response = client.post(f"/support/inquiries/{inquiry.reference}/", {"message": "x"})
    assert response.status_code == 404
    assert inquiry.messages.count() == 1


def test_anonymous_is_sent_to_sign_in_for_a_customer_thread(client, customer):
    inquiry = InquiryFactory(user=customer)
    response = client.get(f"/support/inquiries/{inquiry.reference}/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- rating


def test_the_rating_link_shows_a_choice_and_the_post_records_it(client, agent):
    # given
    inquiry = InquiryFactory()
    resolve_inquiry(inquiry, acting_user=agent)
    url = reverse("support:rate", args=[tokens.rating_token(inquiry)])

    # when
    shown = client.get(url)
    inquiry.refresh_from_db()
    assert shown.status_code == 200 and inquiry.rating == ""  # a GET records nothing
    recorded = client.post(url, {"rating": Rating.GOOD})

    # then
    assert recorded.status_code == 200
    inquiry.refresh_from_db()
    assert inquiry.rating == Rating.GOOD and inquiry.rated_at is not None


def test_an_open_inquiry_cannot_be_rated(client):
    inquiry = InquiryFactory()
    url = reverse("support:rate", args=[tokens.rating_token(inquiry)])
    assert client.post(url, {"rating": Rating.BAD}).status_code == 400
    inquiry.refresh_from_db()
    assert inquiry.rating == ""


def test_a_tampered_rating_link_is_a_404(client, agent):
    inquiry = InquiryFactory()
    resolve_inquiry(inquiry, acting_user=agent)
    token = tokens.guest_token(inquiry)  # right inquiry, wrong purpose
    assert client.post(f"/support/rate/{token}/", {"rating": "good"}).status_code == 404
    inquiry.refresh_from_db()
    assert inquiry.rating == ""


def test_a_thread_page_runs_the_same_queries_with_2_and_40_messages(client, customer):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from support.models import Attachment

    inquiry = InquiryFactory(user=customer, order=OrderFactory(user=customer))
    client.force_login(customer)
    url = f"/support/inquiries/{inquiry.reference}/"

    def count() -> int:
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    def add(n: int) -> None:
        for i in range(n):
            message = Message.objects.create(
                inquiry=inquiry, kind=MessageKind.AGENT, channel="admin", body=f"m{i}"
            )
            Attachment.objects.create(
                message=message,
                name="file-1.png",
                content_type="image/png",
                size=1,
            )

    add(1)
    small = count()
    add(38)
    assert count() == small
