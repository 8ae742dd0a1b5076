"""Emails as customers receive them: over a real SMTP session (aiosmtpd on loopback) as
multipart/alternative, in the customer's language, with links on SITE_URL that work; and the
language rule for allauth's emails (the account's profile language, else the page's)."""

import email
import email.policy
import re
import socket
import threading

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import mail
from django.test import Client

from accounts.models import User
from orders.emails import send_order_email_once
from orders.models import LicenceKeyStatus, OrderStatus
from privacy.services import get_current_policy
from tests.factories.accounts import UserFactory
from tests.factories.orders import LicenceKeyFactory, OrderFactory, OrderLineFactory

pytestmark = pytest.mark.django_db

SITE = "https://shop.ipmart.test"
PASSWORD = "a long and unusual passphrase"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    def __init__(self):
        self.received: list[tuple[list[str], email.message.EmailMessage]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.received.append((list(envelope.rcpt_tos), message))
        return "250 OK"


@pytest.fixture
def smtp(settings):
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE


def parts(message):
    """(text, html) of a multipart/alternative message."""
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = message.get_body(("html",)).get_content().replace("\r\n", "\n")
    return text, html


def test_the_order_paid_email_arrives_over_smtp_in_malay_as_text_and_html(smtp):
    # given a paid order of a customer whose profile language is Malay, with one key issued
    customer = UserFactory(full_name="Siti Hajar", preferred_language="ms")
    order = OrderFactory(user=customer, status=OrderStatus.FULFILLED)
    line = OrderLineFactory(order=order, product_name="Norton 360 Deluxe")
    key = LicenceKeyFactory(
        product=line.product, order_line=line, status=LicenceKeyStatus.ISSUED, key="N360-AAAA-BBBB"
    )

    # when the paid email is sent (through Django's SMTP backend to the loopback server)
    assert send_order_email_once(order, "paid") is True

    # then one multipart/alternative message arrived, in Malay, keys in both parts
    [(recipients, message)] = smtp.received
    assert recipients == [customer.email]
    assert str(message["Subject"]) == f"Bayaran diterima untuk pesanan {order.number}"
    assert message["From"] == settings.DEFAULT_FROM_EMAIL
    text, html = parts(message)
    assert text.startswith("Helo Siti Hajar,\n")
    assert f"Norton 360 Deluxe: {key.key}" in text
    assert key.key in html
    assert '<html lang="ms"' in html
    assert "Pasukan IPmart" in text and "Pasukan IPmart" in html
    order_url = f"{SITE}/orders/{order.number}/"
    assert order_url in text and f'href="{order_url}"' in html
    assert settings.SUPPORT_EMAIL in text and settings.SUPPORT_EMAIL in html
    # and a second run sends nothing (the guard row)
    assert send_order_email_once(order, "paid") is False
    assert len(smtp.received) == 1


def test_the_verification_email_of_a_malay_signup_arrives_over_smtp_and_its_link_works(smtp):
    # given a visitor on the Malay signup page
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ms"
    policy = get_current_policy()

    # when they sign up
    response = client.post(
        "/accounts/signup/",
        {
            "full_name": "Nurul Aina",
            "email": "nurul.aina@mail.test",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "accept_privacy_policy": "on",
            "policy_id": policy.pk,
        },
    )
    assert response.status_code == 302

    # then their profile speaks Malay and the verification email arrived in Malay
    user = User.objects.get(email="nurul.aina@mail.test")
    assert user.preferred_language == "ms"
    [(recipients, message)] = smtp.received
    assert recipients == ["nurul.aina@mail.test"]
    assert str(message["Subject"]) == "Selamat datang ke IPmart: sila sahkan alamat e-mel anda"
    text, html = parts(message)
    assert "127.0.0.1" not in text + html and "testserver" not in text + html
    assert "Helo Nurul Aina," in text
    assert '<html lang="ms"' in html
    link = re.search(rf"{re.escape(SITE)}(/accounts/confirm-email/[-:\w]+/)", text)
    assert link is not None and f'href="{link.group(0)}"' in html

    # and the link confirms the address
    confirmed = client.post(link.group(1))
    assert confirmed.status_code == 302
    assert EmailAddress.objects.get(email="nurul.aina@mail.test").verified is True


def reset_from(language: str, address: str) -> list:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.post("/accounts/password/reset/", {"email": address})
    assert response.status_code == 302
    return mail.outbox


def test_a_password_reset_speaks_the_account_language_whatever_the_page():
    # given a customer whose profile language is Malay
    UserFactory(email="farid@mail.test", full_name="Farid Ismail", preferred_language="ms")

    # when a reset is asked for their address from an English page
    [message] = reset_from("en", "farid@mail.test")

    # then the email is in Malay, text and HTML, and its link is on the store's address
    assert message.subject == "Pilih kata laluan baharu"
    assert message.body.startswith("Helo Farid Ismail,\n")
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html" and '<html lang="ms"' in html
    assert re.search(rf"{re.escape(SITE)}/accounts/password/reset/key/\S+/", message.body)


@pytest.mark.parametrize(
    ("language", "subject"),
    [("ms", "Tiada akaun untuk alamat e-mel ini"), ("en", "No account for this email address")],
)
def test_an_address_without_account_gets_the_language_of_the_page(language, subject):
    # when a reset is asked for an unknown address from a page in `language`
    [message] = reset_from(language, "nobody@mail.test")

    # then the answer is in that language, with the signup link on the store's address
    assert message.subject == subject
    assert f"{SITE}/accounts/signup/" in message.body


def test_a_signup_with_a_taken_address_tells_the_owner_in_their_language():
    # given an English-speaking customer
    UserFactory(email="taken@mail.test", full_name="Tan Mei Ling", preferred_language="en")

    # when someone signs up with their address from a Malay page
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ms"
    client.post(
        "/accounts/signup/",
        {
            "full_name": "Someone",
            "email": "taken@mail.test",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "accept_privacy_policy": "on",
            "policy_id": get_current_policy().pk,
        },
    )

    # then the owner is told in English, greeted by name, with links to log in and reset
    [message] = mail.outbox
    assert message.subject == "You already have an account with us"
    assert message.body.startswith("Hello Tan Mei Ling,\n")
    assert f"{SITE}/accounts/login/" in message.body
    assert f"{SITE}/accounts/password/reset/" in message.body
    assert User.objects.filter(email="taken@mail.test").count() == 1


def test_a_campaign_html_is_framed_by_the_layout_and_keeps_its_list_headers():
    from marketing.rendering import ONE_CLICK, CampaignRenderer
    from tests.factories.marketing import CampaignFactory, SubscriptionFactory

    # given a subscriber and a campaign whose HTML is a fragment, and one that is a document
    subscription = SubscriptionFactory()
    fragment = CampaignFactory()
    document = CampaignFactory(
        body_html_ms='<html lang="ms"><body><a href="{{ unsubscribe_url }}">x</a></body></html>'
    )

    # when each is rendered for the subscriber in Malay
    framed = CampaignRenderer(fragment).message(
        subscription.subscriber, to_email="aina@mail.test", name="Aina", language="ms"
    )
    whole = CampaignRenderer(document).message(
        subscription.subscriber, to_email="aina@mail.test", name="Aina", language="ms"
    )

    # then the fragment sits in the store's layout, Malay, the staff's links kept
    [(html, _)] = framed.alternatives
    assert html.startswith("<!DOCTYPE html>") and '<html lang="ms"' in html
    assert "<p>Hai Aina,</p>" in html and "Ada soalan?" in html
    assert f'href="{framed.extra_headers["List-Unsubscribe"][1:-1]}"' in html
    assert framed.extra_headers["List-Unsubscribe-Post"] == ONE_CLICK
    # and a whole document is left as the staff wrote it
    [(whole_html, _)] = whole.alternatives
    assert whole_html.startswith('<html lang="ms"><body>') and "Ada soalan?" not in whole_html
