"""Signing up from the checkout brings the customer back to the checkout: through the emailed
verification link and the login, never to another site."""

import re

import pytest
from django.conf import settings
from django.core import mail
from django.test import TestCase

from privacy.services import get_current_policy
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a long and unusual passphrase"
# Emails link to SITE_URL; the verification email is sent by the outbox handler the signup's
# commit hands over.
CONFIRM_LINK = re.compile(re.escape(settings.SITE_URL) + r"(/accounts/confirm-email/[-:\w]+/)")


def _signup(client, next_url: str | None) -> None:
    data = {
        "full_name": "Nurul Aina",
        "email": "nurul@example.com",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "accept_privacy_policy": "on",
        "policy_id": get_current_policy().pk,
    }
    if next_url is not None:
        data["next"] = next_url
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post("/accounts/signup/", data)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"


def _confirm(client) -> str:
    link = CONFIRM_LINK.search(mail.outbox[-1].body).group(1)
    response = client.post(link)
    assert response.status_code == 302
    return response["Location"]


def _login(client, **extra) -> str:
    response = client.post(
        "/accounts/login/", {"login": "nurul@example.com", "password": PASSWORD, **extra}
    )
    assert response.status_code == 302
    return response["Location"]


def test_the_login_page_passes_the_checkout_on_to_signup(client):
    # given a visitor with goods in the cart, sent to log in by the checkout
    product = ProductFactory(stock=3)
    client.post(f"/cart/add/{product.pk}/", {"quantity": 1})
    assert client.get("/checkout/")["Location"] == "/accounts/login/?next=/checkout/"
    # then the login page's signup link and the signup form carry the checkout along
    login = client.get("/accounts/login/?next=/checkout/").content.decode()
    assert 'href="/accounts/signup/?next=%2Fcheckout%2F"' in login
    signup = client.get("/accounts/signup/?next=%2Fcheckout%2F").content.decode()
    assert re.search(r'<input type="hidden" name="next" value="/checkout/"', signup)


def test_signup_from_the_checkout_comes_back_to_it_after_the_emailed_link_and_login(client):
    _signup(client, "/checkout/")
    # the link: not logged in yet, so to the login page, which goes on to the checkout
    assert _confirm(client) == "/accounts/login/?next=%2Fcheckout%2F"
    assert _login(client, next="/checkout/") == "/checkout/"


def test_a_login_without_next_after_signup_from_the_checkout_still_goes_there(client):
    _signup(client, "/checkout/")
    _confirm(client)
    assert _login(client) == "/checkout/"
    # once: a later login goes to the account as usual
    client.logout()
    assert _login(client) == "/account/"


@pytest.mark.parametrize(
    "hostile",
    ["https://evil.example/checkout/", "//evil.example/", "javascript:alert(1)", "/\\evil.example"],
)
def test_a_hostile_next_is_refused(client, hostile):
    _signup(client, hostile)
    assert _confirm(client) == "/accounts/login/"
    assert _login(client) == "/account/"


def test_signup_without_next_verifies_and_logs_in_as_before(client):
    _signup(client, None)
    assert _confirm(client) == "/accounts/login/"
    assert _login(client) == "/account/"
