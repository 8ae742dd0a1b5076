"""Login rate limits, no account enumeration, and the admin login going through allauth."""

import re

import pytest
from django.core import mail
from django.test import Client

from accounts.models import User
from tests.factories.accounts import (
    PASSWORD,
    StaffFactory,
    TOTPAuthenticatorFactory,
    UserFactory,
    staff_client,
)

pytestmark = pytest.mark.django_db

MISMATCH = "The email address and/or password you specified are not correct."
TOO_MANY = "Too many failed login attempts. Try again later."


def login(client, email, password):
    return client.post("/accounts/login/", {"login": email, "password": password})


def page_text(response, email: str) -> str:
    """The page with the email the visitor typed and the CSRF token blanked out."""
    text = response.content.decode().replace(email, "EMAIL")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", text)


def is_logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_the_right_password_after_5_wrong_ones_is_refused(client):
    # given a customer and 5 wrong passwords for their account
    customer = UserFactory(email="aina@example.com")
    for _ in range(5):
        response = login(client, "aina@example.com", "not my password")
        assert response.status_code == 200
        assert response.context["form"].non_field_errors() == [MISMATCH]

    # when the right password follows, from another browser
    browser = Client()
    response = login(browser, "aina@example.com", PASSWORD)

    # then it is refused too
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [TOO_MANY]
    assert not is_logged_in(browser)
    customer.refresh_from_db()
    assert customer.last_login is None


def test_the_right_password_after_4_wrong_ones_still_works(client):
    # given 4 wrong passwords (under the limit)
    customer = UserFactory(email="aina@example.com")
    for _ in range(4):
        login(client, "aina@example.com", "not my password")

    # when
    response = login(client, "aina@example.com", PASSWORD)

    # then
    assert response.status_code == 302
    assert response["Location"] == "/account/"
    assert client.session["_auth_user_id"] == str(customer.pk)


def test_the_failed_login_message_does_not_reveal_whether_an_account_exists(client):
    # given one existing account
    UserFactory(email="aina@example.com")

    # when a wrong password is tried for it, and any password for an unknown email
    wrong_password = login(client, "aina@example.com", "not my password")
    unknown_email = login(Client(), "nobody@example.com", "not my password")

    # then both answers are the same
    assert wrong_password.status_code == unknown_email.status_code == 200
    assert (
        wrong_password.context["form"].errors
        == unknown_email.context["form"].errors
        == {
            "__all__": [MISMATCH],
        }
    )
    assert page_text(wrong_password, "aina@example.com") == page_text(
        unknown_email, "nobody@example.com"
    )
    assert not is_logged_in(client)


def test_password_reset_answers_the_same_for_known_and_unknown_emails(client):
    # given one existing account
    customer = UserFactory(email="aina@example.com")

    # when a reset is asked for it, and for an unknown email
    known = client.post("/accounts/password/reset/", {"email": "aina@example.com"})
    unknown = Client().post("/accounts/password/reset/", {"email": "nobody@example.com"})

    # then the visitor sees the same answer
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert (known.status_code, known["Location"]) == (302, "/accounts/password/reset/done/")
    # and only the account's owner received a reset link; the password is unchanged
    assert [(m.to, m.subject) for m in mail.outbox] == [
        (["aina@example.com"], "Choose a new password"),
        (["nobody@example.com"], "No account for this email address"),
    ]
    assert "/accounts/password/reset/key/" in mail.outbox[0].body
    assert "/accounts/password/reset/key/" not in mail.outbox[1].body
    customer.refresh_from_db()
    assert customer.check_password(PASSWORD) is True


# --- the admin login is allauth's login (decorators.secure_admin_login)


def test_staff_credentials_posted_to_the_admin_login_go_to_allauth_without_logging_in(client):
    # given a staff member with TOTP
    staff = StaffFactory(email="manager@ipmart.com.my")
    TOTPAuthenticatorFactory(user=staff)

    # when their right password is posted to Django's admin login
    response = client.post(
        "/admin/login/", {"username": "manager@ipmart.com.my", "password": PASSWORD}
    )

    # then the password is not even looked at: the visitor is sent to allauth's login, which
    # comes back to the admin login afterwards
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2Flogin%2F"
    assert not is_logged_in(client)
    staff.refresh_from_db()
    assert staff.last_login is None


def test_the_admin_login_keeps_a_safe_next(client):
    # when
    response = client.post("/admin/login/?next=/admin/accounts/user/", {"password": "x"})

    # then
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2Faccounts%2Fuser%2F"


def test_a_logged_in_customer_is_forbidden_the_admin_login(client):
    # given
    client.force_login(UserFactory())

    # when
    response = client.post("/admin/login/", {"username": "x", "password": "y"})

    # then
    assert response.status_code == 403


def test_a_logged_in_staff_member_at_the_admin_login_goes_to_the_admin():
    # given
    client = staff_client()[1]

    # when
    response = client.get("/admin/login/")

    # then Django's own admin login runs, which sends staff on to the index
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_the_admin_login_cannot_be_used_to_bypass_the_rate_limit(client):
    # given the account is locked after 5 wrong passwords at allauth's login
    staff = StaffFactory(email="manager@ipmart.com.my")
    TOTPAuthenticatorFactory(user=staff)
    for _ in range(5):
        login(client, "manager@ipmart.com.my", "not my password")

    # when the right password goes to the admin login instead
    browser = Client()
    response = browser.post(
        "/admin/login/", {"username": "manager@ipmart.com.my", "password": PASSWORD}
    )

    # then no session is opened there either
    assert response.status_code == 302
    assert not is_logged_in(browser)
    assert User.objects.get(pk=staff.pk).last_login is None


def test_failed_logins_are_counted_in_redis_where_every_worker_sees_them(
    client, redis_url, settings
):
    """Each gunicorn worker is its own process: a counter in process memory would multiply the
    limit by the number of workers. With Redis configured the counters are in Redis."""
    import redis

    assert settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache"
    user = UserFactory()
    # when
    for _ in range(3):
        login(client, user.email, "wrong password")
    # then another process's client (a fresh connection) finds the counter for this account
    other_worker = redis.Redis.from_url(redis_url)
    keys = [
        k.decode()
        for k in other_worker.scan_iter("*allauth:rl:allauth.account:login_failed:5/*/key:*")
    ]
    assert len(keys) == 1, keys
    assert other_worker.ttl(keys[0]) > 0
