"""Signup through allauth's real view: the account, the acceptance of the policy version the
person read, the verification email, and no account enumeration."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import mail
from django.test import Client, TestCase

from accounts.models import User
from privacy.models import PolicyAcceptance, PolicyVersion
from privacy.services import get_current_policy
from tests.factories.accounts import PASSWORD, UserFactory
from tests.factories.privacy import PolicyVersionFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a long and unusual passphrase"
# Emails link to SITE_URL (the test settings' default), never to the host a request came to.
CONFIRM_LINK = re.compile(re.escape(settings.SITE_URL) + r"(/accounts/confirm-email/[-:\w]+/)")


def post_signup(client, data, **extra):
    """POST the signup form and run what its commit hands over (the outbox relay, which sends
    the email in-process under the test settings)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post("/accounts/signup/", data, **extra)


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
    response = post_signup(client, signup_form(policy.pk), HTTP_USER_AGENT="Mozilla/5.0 (Test)")

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
    post_signup(client, signup_form(get_current_policy().pk))
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
    post_signup(client, signup_form(get_current_policy().pk))
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
    response = post_signup(client, signup_form(get_current_policy().pk, accept_privacy_policy=None))

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
    response = post_signup(client, signup_form(stale.pk))

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
    new = post_signup(fresh_browser, signup_form(policy_id, email="fresh@example.com"))
    mail.outbox.clear()
    taken = post_signup(
        client, signup_form(policy_id, email="Taken@Example.com", full_name="Impostor")
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


def test_both_signup_answers_do_the_same_work_one_hash_one_outbox_email(client, monkeypatch):
    """The timing oracle (26 ms for a taken email, 378 ms for a new one) came from work only one
    answer did. Now each hashes the password once and hands its one email to the outbox (no
    SMTP in the request); bench/signup_timing.py measures the real times."""
    from django.contrib.auth.hashers import MD5PasswordHasher

    from ipmart.core.models import OutboxMessage

    hashes = []
    original = MD5PasswordHasher.encode
    monkeypatch.setattr(
        MD5PasswordHasher,
        "encode",
        lambda self, *a, **k: hashes.append(1) or original(self, *a, **k),
    )
    owner = UserFactory(email="taken@example.com")
    owner_address = EmailAddress.objects.get(user=owner)
    policy_id = get_current_policy().pk
    answers, work = [], []
    for email in ("fresh@example.com", "taken@example.com"):
        hashes.clear()
        sent = len(mail.outbox)
        # when signing up, with nothing relayed yet (as when the broker answers later)
        with TestCase.captureOnCommitCallbacks(execute=False) as relays:
            response = Client().post("/accounts/signup/", signup_form(policy_id, email=email))
        answers.append((response.status_code, response["Location"]))
        messages = list(OutboxMessage.objects.filter(done_at__isnull=True).order_by("pk"))
        work.append((len(hashes), len(relays), [(m.handler, m.args[0]) for m in messages]))
        assert len(mail.outbox) == sent  # nothing was sent in the request
        # then the relay sends the one email
        for relay in relays:
            relay()
        assert len(mail.outbox) == sent + 1
        OutboxMessage.objects.all().delete()
    # then both answers look the same and did the same work: one hash, one outbox email
    assert answers == [(302, "/accounts/confirm-email/")] * 2
    handler = "accounts.tasks.send_signup_email"
    assert work == [(1, 1, [(handler, "confirm")]), (1, 1, [(handler, "exists")])]
    fresh = EmailAddress.objects.get(email="fresh@example.com")
    assert [m.to for m in mail.outbox] == [["fresh@example.com"], ["taken@example.com"]]
    assert owner_address.pk != fresh.pk
    # and the new account stores the very hash computed once
    assert User.objects.get(email="fresh@example.com").check_password(NEW_PASSWORD)


def test_the_emails_links_point_at_the_site_and_follow_the_visitors_language(client, settings):
    settings.SITE_URL = "https://shop.example.my"
    User.objects.create_user("taken@example.com", full_name="Made by a command")  # no address row
    policy_id = get_current_policy().pk
    post_signup(Client(HTTP_ACCEPT_LANGUAGE="ms"), signup_form(policy_id))
    post_signup(Client(), signup_form(policy_id, email="taken@example.com"))
    confirm, exists = mail.outbox
    assert re.search(r"https://shop\.example\.my/accounts/confirm-email/[-:\w]+/", confirm.body)
    assert (confirm.to, exists.to) == (["nurul@example.com"], ["taken@example.com"])
    assert "https://shop.example.my/accounts/password/reset/" in exists.body
    assert confirm.subject != "[IPmart] Please Confirm Your Email Address"  # in Malay


def test_every_signup_answer_is_held_to_the_floor_new_accounts_set(monkeypatch):
    from accounts import pacing

    pacer = pacing.SignupPacer()
    monkeypatch.setattr(pacing, "SIGNUP_PACER", pacer)
    waits = []
    monkeypatch.setattr(pacing.time, "sleep", waits.append)
    policy_id = get_current_policy().pk
    UserFactory(email="taken@example.com")
    # the first new account finds no floor and teaches one (its own time) …
    post_signup(Client(), signup_form(policy_id, email="fresh@example.com"))
    assert waits == [] and 0 < pacer.floor() < 5
    # … a taken email's answer (which writes no account) waits up to it …
    for _ in range(20):
        pacer.pace(created=True, elapsed=0.4)
    waits.clear()
    post_signup(Client(), signup_form(policy_id, email="taken@example.com"))
    assert len(waits) == 1 and 0 < waits[0] <= 0.4
    # … and so does a new account that came back sooner than the floor
    post_signup(Client(), signup_form(policy_id, email="second@example.com"))
    assert len(waits) == 2 and 0 < waits[1] <= 0.4
    assert User.objects.filter(email__in=["fresh@example.com", "second@example.com"]).count() == 2


def test_the_floor_is_a_high_percentile_of_new_signups_and_the_wait_is_bounded(monkeypatch):
    from accounts import pacing

    pacer = pacing.SignupPacer()
    waits = []
    monkeypatch.setattr(pacing.time, "sleep", waits.append)
    assert pacer.pace(created=False, elapsed=0.01) == 0.0  # nothing learnt: no wait
    for elapsed in [0.1 * n for n in range(1, 11)]:  # 0.1 … 1.0 s
        pacer.pace(created=True, elapsed=elapsed)
    assert pacer.floor() == pytest.approx(0.9)  # the 90th percentile, not the slowest
    assert pacer.pace(created=False, elapsed=0.95) == 0.0
    for _ in range(pacer.SAMPLES):  # the oldest samples leave: a slow spell is soon forgotten
        pacer.pace(created=True, elapsed=30.0)
    assert pacer.floor() == 30.0
    # a stalled machine never holds an answer longer than MAX_WAIT
    assert pacer.pace(created=False, elapsed=0.0) == pacer.MAX_WAIT
