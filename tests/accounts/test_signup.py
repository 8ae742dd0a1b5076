"""Signup through allauth's real view: the account, the acceptance of the policy version the
person read, the verification email, and no account enumeration."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import mail
from django.test import Client

from accounts.models import User
from privacy.models import PolicyAcceptance, PolicyVersion
from privacy.services import get_current_policy
from tests.factories.accounts import PASSWORD, UserFactory
from tests.factories.privacy import PolicyVersionFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a long and unusual passphrase"
# Emails link to SITE_URL (the test settings' default), never to the host a request came to.
CONFIRM_LINK = re.compile(re.escape(settings.SITE_URL) + r"(/accounts/confirm-email/[-:\w]+/)")


def signup_form(policy_id, **overrides) -> dict:
    data = {
        "full_name": "Nurul Aina",
        "email": "nurul@example.com",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
        "accept_privacy_policy": "on",
        "policy_id": policy_id,
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def page_text(response, email: str) -> str:
    """The page with the visitor's own email and the CSRF token blanked out."""
    text = response.content.decode().replace(email, "EMAIL")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", text)


def nothing_created(email: str) -> bool:
    return (
        not User.objects.filter(email=email).exists()
        and PolicyAcceptance.objects.count() == 0
        and EmailAddress.objects.filter(email=email).count() == 0
        and mail.outbox == []
    )


def test_signup_creates_the_user_the_acceptance_and_sends_a_verification_email(client):
    # given the policy version shown on the signup page
    policy = get_current_policy()
    page = client.get("/accounts/signup/")
    assert page.context["form"]["policy_id"].value() == policy.pk

    # when a visitor signs up
    response = client.post(
        "/accounts/signup/", signup_form(policy.pk), HTTP_USER_AGENT="Mozilla/5.0 (Test)"
    )

    # then the account exists with their name, unverified, and they are not logged in
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    user = User.objects.get(email="nurul@example.com")
    assert user.full_name == "Nurul Aina"
    assert user.check_password(NEW_PASSWORD) is True
    emails = EmailAddress.objects.filter(user=user)
    assert list(emails.values_list("email", "verified", "primary")) == [
        ("nurul@example.com", False, True),
    ]
    assert "_auth_user_id" not in client.session
    # and the acceptance of that exact version is recorded
    acceptance = PolicyAcceptance.objects.get()
    assert (acceptance.user, acceptance.policy, acceptance.method, acceptance.ip_address) == (
        user,
        policy,
        "signup",
        "127.0.0.1",
    )
    assert acceptance.user_agent == "Mozilla/5.0 (Test)"
    # and one verification email went to them
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["nurul@example.com"]
    assert message.subject == "Welcome to IPmart: please confirm your email address"
    assert len(CONFIRM_LINK.findall(message.body)) == 1


def test_the_link_in_the_email_confirms_the_address_on_post_only(client):
    # given a fresh signup
    client.post("/accounts/signup/", signup_form(get_current_policy().pk))
    path = CONFIRM_LINK.search(mail.outbox[0].body).group(1)
    address = EmailAddress.objects.get(email="nurul@example.com")

    # when the link is opened
    page = client.get(path)

    # then a confirmation page shows, and a GET alone verifies nothing
    assert page.status_code == 200
    assert page.context["confirmation"].email_address == address
    address.refresh_from_db()
    assert address.verified is False

    # when the person confirms
    response = client.post(path)

    # then the address is verified and they are asked to sign in
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    address.refresh_from_db()
    assert address.verified is True


def test_login_is_refused_until_the_email_is_verified(client):
    # given a fresh signup, not yet verified
    client.post("/accounts/signup/", signup_form(get_current_policy().pk))
    path = CONFIRM_LINK.search(mail.outbox[0].body).group(1)
    login = {"login": "nurul@example.com", "password": NEW_PASSWORD}

    # when they sign in with the right password
    response = Client().post("/accounts/login/", login)

    # then they are sent to "check your email", not logged in
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert User.objects.get(email="nurul@example.com").last_login is None

    # when they confirm, then sign in
    client.post(path)
    browser = Client()
    response = browser.post("/accounts/login/", login)

    # then they are in
    assert response.status_code == 302
    assert response["Location"] == "/account/"
    user = User.objects.get(email="nurul@example.com")
    assert browser.session["_auth_user_id"] == str(user.pk)
    assert user.last_login is not None


def test_signup_without_ticking_the_box_creates_nothing(client):
    # when
    response = client.post(
        "/accounts/signup/", signup_form(get_current_policy().pk, accept_privacy_policy=None)
    )

    # then
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "accept_privacy_policy": ["You need to accept the privacy policy to open an account."],
    }
    assert nothing_created("nurul@example.com")


def test_signup_against_a_policy_version_no_longer_current_creates_nothing(client):
    # given the person read the version in force, then a newer one was published
    stale = PolicyVersion.objects.current()
    newer = PolicyVersionFactory(published=True)
    assert get_current_policy() == newer

    # when they submit the form showing the old version
    response = client.post("/accounts/signup/", signup_form(stale.pk))

    # then they are asked to read the new version, and the form now carries it
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors == {
        "accept_privacy_policy": [
            "The privacy policy was updated while you were signing up. "
            "Please read it and tick the box again."
        ],
    }
    assert form["policy_id"].value() == newer.pk
    assert nothing_created("nurul@example.com")


def test_signup_for_an_existing_email_looks_like_a_new_one_and_creates_nothing(client):
    # given an existing customer
    existing = UserFactory(email="taken@example.com", full_name="First Owner")
    policy_id = get_current_policy().pk

    # when someone signs up with a new email, and someone else with the taken one (other case)
    fresh_browser = Client()
    new = fresh_browser.post("/accounts/signup/", signup_form(policy_id, email="fresh@example.com"))
    mail.outbox.clear()
    taken = client.post(
        "/accounts/signup/", signup_form(policy_id, email="Taken@Example.com", full_name="Impostor")
    )

    # then both see the same response, and the same page after it
    assert (taken.status_code, taken["Location"]) == (new.status_code, new["Location"])
    assert (taken.status_code, taken["Location"]) == (302, "/accounts/confirm-email/")
    new_page, taken_page = fresh_browser.get(new["Location"]), client.get(taken["Location"])
    assert (new_page.status_code, taken_page.status_code) == (200, 200)
    assert page_text(taken_page, "taken@example.com") == page_text(new_page, "fresh@example.com")
    # and the existing account is untouched, with no second account and no acceptance
    assert list(User.objects.filter(email__iexact="taken@example.com")) == [existing]
    existing.refresh_from_db()
    assert existing.full_name == "First Owner"
    assert existing.check_password(PASSWORD) is True
    assert not PolicyAcceptance.objects.filter(user=existing).exists()
    # and the owner of the address is told, by email, that an account exists
    assert [(m.to, m.subject) for m in mail.outbox] == [
        (["taken@example.com"], "You already have an account with us"),
    ]


def test_both_signup_answers_hash_a_password_once(client, monkeypatch):
    """The timing oracle (26 ms for a taken email, 378 ms for a new one) came from the password
    hash only the new account paid for; now both pay it once (bench/signup_timing.py measures
    the real times with Django's PBKDF2)."""
    from django.contrib.auth.hashers import MD5PasswordHasher

    calls = []
    original = MD5PasswordHasher.encode
    monkeypatch.setattr(
        MD5PasswordHasher,
        "encode",
        lambda self, *a, **k: calls.append(1) or original(self, *a, **k),
    )
    UserFactory(email="taken@example.com")
    calls.clear()
    policy_id = get_current_policy().pk
    Client().post("/accounts/signup/", signup_form(policy_id, email="fresh@example.com"))
    new_account = len(calls)
    calls.clear()
    Client().post("/accounts/signup/", signup_form(policy_id, email="taken@example.com"))
    assert (new_account, len(calls)) == (1, 1)


def test_a_taken_email_waits_out_what_a_new_account_takes_longer(client, monkeypatch):
    from accounts import adapters

    clock = adapters.SignupClock()
    monkeypatch.setattr(adapters, "SIGNUP_CLOCK", clock)
    waits = []
    monkeypatch.setattr(adapters.time, "sleep", waits.append)
    policy_id = get_current_policy().pk
    UserFactory(email="taken@example.com")
    # a new account teaches the clock how long a signup takes …
    Client().post("/accounts/signup/", signup_form(policy_id, email="fresh@example.com"))
    assert clock.typical is not None and clock.typical > 0
    # … and a taken email's answer waits for what is left of it (never over a second)
    clock.typical = 0.5
    Client().post("/accounts/signup/", signup_form(policy_id, email="taken@example.com"))
    assert len(waits) == 1 and 0 < waits[0] <= 0.5
