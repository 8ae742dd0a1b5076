"""Who may open each customer-facing support page (the admin pages' matrix is in test_admin):
anonymous, a guest with a valid, expired or tampered link, the owner, another customer, and
staff of every role (staff read inquiries in admin, never through a customer's pages)."""

import pytest
from django.core import signing

from support import tokens
from support.services import resolve_inquiry
from tests.factories import CustomerFactory, InquiryFactory, StaffFactory, enrolled_in_mfa

pytestmark = pytest.mark.django_db

VISITORS = [
    "anonymous",
    "owner",
    "another customer",
    "support agent",
    "store manager",
    "verification reviewer",
    "data protection officer",
    "superuser",
]


def _visit_as(client, who, owner):
    if who == "owner":
        client.force_login(owner)
    elif who == "another customer":
        client.force_login(CustomerFactory())
    elif who == "superuser":
        client.force_login(enrolled_in_mfa(StaffFactory(is_superuser=True)))
    elif who != "anonymous":
        client.force_login(enrolled_in_mfa(StaffFactory(role=who)))


CUSTOMER_THREAD = {
    "anonymous": 302,  # to sign in
    "owner": 200,
    "another customer": 404,
    "support agent": 404,
    "store manager": 404,
    "verification reviewer": 404,
    "data protection officer": 404,
    "superuser": 404,
}


@pytest.mark.parametrize("who", VISITORS)
def test_a_customers_thread(client, who):
    owner = CustomerFactory()
    inquiry = InquiryFactory(user=owner)
    _visit_as(client, who, owner)
    url = f"/support/inquiries/{inquiry.reference}/"
    assert client.get(url).status_code == CUSTOMER_THREAD[who]
    post = client.post(url, {"message": "written by " + who})
    assert post.status_code == (302 if who in {"owner", "anonymous"} else 404)
    assert inquiry.messages.count() == (2 if who == "owner" else 1)


def _expired_token(monkeypatch, inquiry, settings):
    real = signing.time.time
    monkeypatch.setattr(signing.time, "time", lambda: real() - 86400 * 40)
    token = tokens.guest_token(inquiry)
    monkeypatch.undo()
    return token


@pytest.mark.parametrize("who", VISITORS)
@pytest.mark.parametrize(
    "link, expected", [("valid", 200), ("expired", 410), ("tampered", 404), ("none", 404)]
)
def test_a_guests_thread_opens_with_a_valid_link_whoever_holds_it(
    client, who, link, expected, monkeypatch, settings
):
    # the link is the key: whoever is signed in, only a valid one opens the guest's thread
    inquiry = InquiryFactory()
    token = {
        "valid": lambda: tokens.guest_token(inquiry),
        "expired": lambda: _expired_token(monkeypatch, inquiry, settings),
        "tampered": lambda: tokens.guest_token(inquiry)[:-3] + "xyz",
        "none": lambda: "not-a-token",
    }[link]()
    _visit_as(client, who, CustomerFactory())
    assert client.get(f"/support/t/{token}/").status_code == expected


@pytest.mark.parametrize("link, expected", [("valid", 200), ("tampered", 404), ("guest link", 404)])
def test_the_rating_page(client, link, expected, agent):
    inquiry = InquiryFactory()
    resolve_inquiry(inquiry, acting_user=agent)
    token = {
        "valid": tokens.rating_token(inquiry),
        "tampered": tokens.rating_token(inquiry)[:-3] + "xyz",
        "guest link": tokens.guest_token(inquiry),
    }[link]
    assert client.get(f"/support/rate/{token}/").status_code == expected


@pytest.mark.parametrize("who", VISITORS)
def test_the_faq_and_the_form_are_open_to_everyone(client, who):
    _visit_as(client, who, CustomerFactory())
    assert client.get("/support/").status_code == 200
    assert client.get("/support/ask/").status_code == 200
