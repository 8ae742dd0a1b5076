"""No admin page opens for staff without TOTP (accounts.middleware.StaffMFARequiredMiddleware)."""

import pytest
from allauth.mfa.models import Authenticator
from django.urls import reverse

from accounts.roles import STORE_MANAGER
from tests.factories.accounts import StaffFactory, TOTPAuthenticatorFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/admin/", "/admin/accounts/user/", "/admin/login/"])
def test_staff_without_totp_are_sent_to_activate_it(client, settings, path):
    # given a store manager without an authenticator, with the requirement on (test settings)
    assert settings.STAFF_MFA_REQUIRED is True
    manager = StaffFactory(role=STORE_MANAGER)
    client.force_login(manager)

    # when they open an admin page
    response = client.get(path)

    # then they are sent to set up TOTP, and come back to the admin afterwards
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('mfa_activate_totp')}?next=/admin/"
    assert Authenticator.objects.filter(user=manager).count() == 0


def test_a_superuser_without_totp_is_sent_to_activate_it_too(client):
    # given
    client.force_login(StaffFactory(is_superuser=True))

    # when
    response = client.get("/admin/")

    # then
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('mfa_activate_totp')}?next=/admin/"


def test_recovery_codes_alone_do_not_count_as_totp(client):
    # given a staff member whose only authenticator is a set of recovery codes
    staff = StaffFactory(role=STORE_MANAGER)
    Authenticator.objects.create(
        user=staff, type=Authenticator.Type.RECOVERY_CODES, data={"seed": "x", "used_mask": 0}
    )
    client.force_login(staff)

    # when
    response = client.get("/admin/")

    # then
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('mfa_activate_totp')}?next=/admin/"


def test_staff_with_totp_open_the_admin(client):
    # given
    manager = StaffFactory(role=STORE_MANAGER)
    TOTPAuthenticatorFactory(user=manager)
    client.force_login(manager)

    # when
    response = client.get("/admin/")

    # then
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_without_the_requirement_staff_open_the_admin_without_totp(client, settings):
    # given the embedded demo's setting
    settings.STAFF_MFA_REQUIRED = False
    manager = StaffFactory(role=STORE_MANAGER)
    client.force_login(manager)

    # when
    response = client.get("/admin/")

    # then
    assert response.status_code == 200


def test_the_requirement_does_not_touch_the_customers_own_pages(client):
    # given a staff member without TOTP
    client.force_login(StaffFactory(role=STORE_MANAGER))

    # when they open their own account page
    response = client.get("/account/")

    # then
    assert response.status_code == 200


def test_customers_get_the_admin_login_redirect_as_usual(client):
    # given a logged-in customer
    client.force_login(UserFactory())

    # when they open the admin
    response = client.get("/admin/")

    # then the admin sends them to its login, like any non-staff visitor
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/"


def test_anonymous_visitors_get_the_admin_login_redirect(client):
    # when
    response = client.get("/admin/")

    # then
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/"
