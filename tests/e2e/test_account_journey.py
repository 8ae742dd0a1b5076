"""A new customer's first visit, in a real Chromium against the live store."""

import re

import pytest
from django.core import mail

from accounts.models import Address, User
from privacy.models import PolicyAcceptance
from privacy.services import get_current_policy

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long and unusual passphrase"


def test_signup_verify_login_profile_address_and_policy_in_both_languages(
    live_server, page, settings
):
    settings.SITE_URL = live_server.url  # emails link to SITE_URL
    # given a visitor on the home page
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Create account").first.click()

    # when they sign up, first forgetting the privacy policy box
    page.get_by_label("Full name").fill("Nurul Aina")
    page.get_by_label("Email").fill("nurul@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()

    # then nothing is created and the box is asked for
    assert page.get_by_text("You need to accept the privacy policy").is_visible()
    assert not User.objects.filter(email="nurul@example.com").exists()

    # when they tick it (passwords are not echoed back, so type them again)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.locator("#id_accept_privacy_policy").check()
    page.locator("main form button[type=submit]").click()

    # then the account exists, the acceptance is recorded, and a verification email went out
    page.wait_for_url(re.compile(r"/accounts/confirm-email/"))
    user = User.objects.get(email="nurul@example.com")
    acceptance = PolicyAcceptance.objects.get(user=user)
    assert acceptance.policy == get_current_policy()
    assert acceptance.method == "signup"
    assert len(mail.outbox) == 1
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[0].body).group(0)

    # when they open the link from the email and confirm
    page.goto(link)
    page.locator("main form button[type=submit]").click()

    # then they can sign in
    page.wait_for_url(re.compile(r"/accounts/login/"))
    page.get_by_label("Email").fill("nurul@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/account/$"))
    assert page.get_by_role("heading", name="Hello, Nurul").is_visible()

    # when they edit their profile
    page.get_by_role("link", name="Edit profile").click()
    page.get_by_label("Phone").fill("+60 12-345 6789")
    page.get_by_role("button", name="Save profile").click()
    assert page.get_by_text("Your profile was saved.").is_visible()
    user.refresh_from_db()
    assert user.phone == "+60 12-345 6789"

    # when they add an address
    page.goto(live_server.url + "/account/addresses/")
    page.get_by_role("link", name="Add an address").click()
    page.get_by_label("Address line 1").fill("8 Jalan Tun Razak")
    page.get_by_label("City").fill("Kuala Lumpur")
    page.get_by_label("Postcode").fill("50400")
    page.get_by_role("button", name="Save address").click()
    assert page.get_by_text("The address was added.").is_visible()
    address = Address.objects.get(user=user)
    assert (address.line1, address.is_default_billing, address.is_default_shipping) == (
        "8 Jalan Tun Razak",
        True,
        True,
    )
    assert page.get_by_text("8 Jalan Tun Razak").is_visible()

    # when they read the privacy policy in English, then switch the site to Bahasa Malaysia
    page.goto(live_server.url + "/privacy/")
    assert page.get_by_role("heading", name="Privacy Policy").is_visible()
    assert page.get_by_role("heading", name="Who we are").is_visible()
    page.get_by_role("button", name="Bahasa Malaysia").click()  # one click, no "Change"
    page.wait_for_load_state()

    # then the policy is shown in Malay, in a page whose language is Malay
    assert page.get_by_role("heading", name="Dasar Privasi").is_visible()
    assert page.locator("html").get_attribute("lang") == "ms"
    assert page.locator(".policy-body h2").first.inner_text() != "Who we are"
    assert page.console_errors == []
