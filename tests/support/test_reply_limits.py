"""Replies from customers and guests are rate-limited per thread, per IP address and per email
address (the shared cache): a refused reply says so, keeps the text and adds nothing."""

import pytest

from support import tokens
from support.models import Message, MessageKind
from tests.factories import CustomerFactory, InquiryFactory

pytestmark = pytest.mark.django_db


def _customer_messages(inquiry) -> list[str]:
    return list(
        Message.objects.filter(inquiry=inquiry, kind=MessageKind.CUSTOMER)
        .order_by("id")
        .values_list("body", flat=True)
    )


def test_a_thread_takes_the_limit_then_refuses_and_keeps_the_text(client, settings):
    # given
    settings.SUPPORT_REPLIES_PER_HOUR = 2
    customer = CustomerFactory()
    inquiry = InquiryFactory(user=customer, body="First")
    client.force_login(customer)
    url = f"/support/inquiries/{inquiry.reference}/"

    # when
    codes = [client.post(url, {"message": f"Reply {n}"}).status_code for n in (1, 2)]
    refused = client.post(url, {"message": "Reply 3 keep me"})

    # then
    assert codes == [302, 302]
    assert refused.status_code == 429
    html = refused.content.decode()
    assert "You have sent several replies in the last hour" in html
    assert "Reply 3 keep me</textarea>" in html
    assert _customer_messages(inquiry) == ["First", "Reply 1", "Reply 2"]


def test_the_limit_is_per_ip_address_across_threads(client, settings):
    settings.SUPPORT_REPLIES_PER_HOUR = 2
    guests = [InquiryFactory(email=f"g{n}@example.com") for n in range(3)]
    codes = [
        client.post(f"/support/t/{tokens.guest_token(inquiry)}/", {"message": "Hi"}).status_code
        for inquiry in guests
    ]
    assert codes == [302, 302, 429]
    assert [len(_customer_messages(inquiry)) for inquiry in guests] == [2, 2, 1]


def test_the_limit_is_per_email_address_whatever_the_ip(client, settings):
    settings.SUPPORT_REPLIES_PER_HOUR = 2
    first = InquiryFactory(email="same@example.com")
    second = InquiryFactory(email="same@example.com")
    posts = [
        (first, "198.51.100.1"),
        (second, "198.51.100.2"),
        (second, "198.51.100.3"),
    ]
    codes = [
        client.post(
            f"/support/t/{tokens.guest_token(inquiry)}/", {"message": "Hi"}, REMOTE_ADDR=ip
        ).status_code
        for inquiry, ip in posts
    ]
    assert codes == [302, 302, 429]
    assert len(_customer_messages(second)) == 2


def test_a_refused_guest_reply_in_malay_keeps_the_text(client, settings):
    from django.conf import settings as django_settings

    settings.SUPPORT_REPLIES_PER_HOUR = 0
    inquiry = InquiryFactory(language="ms")
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "ms"
    response = client.post(f"/support/t/{tokens.guest_token(inquiry)}/", {"message": "Tolong"})
    assert response.status_code == 429
    html = response.content.decode()
    assert "Tolong</textarea>" in html
    assert "You have sent several replies" not in html
    assert len(_customer_messages(inquiry)) == 1
