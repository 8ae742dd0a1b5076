"""Staff sessions end after 30 minutes idle or 12 hours in all; customers keep theirs."""

import pytest

from accounts import middleware
from tests.factories import StaffFactory, UserFactory, enrolled_in_mfa

pytestmark = pytest.mark.django_db

MINUTE = 60
HOUR = 3600


@pytest.fixture
def clock(monkeypatch):
    now = {"t": 1_800_000_000}
    monkeypatch.setattr(middleware, "_now", lambda: now["t"])

    def advance(seconds: int) -> None:
        now["t"] += seconds

    return advance


@pytest.fixture
def staff(client):
    user = enrolled_in_mfa(StaffFactory(role="store manager"))
    client.force_login(user)
    return user


def test_staff_idle_31_minutes_must_sign_in_again(client, staff, clock):
    assert client.get("/admin/").status_code == 200
    clock(29 * MINUTE)
    assert client.get("/admin/").status_code == 200  # still inside the idle window
    clock(31 * MINUTE)
    response = client.get("/admin/orders/order/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/admin/orders/order/"
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302  # and stays signed out


def test_staff_active_for_12_hours_and_a_minute_must_sign_in_again(client, staff, clock):
    assert client.get("/admin/").status_code == 200
    for _ in range(12 * 4):  # a request every 15 minutes for 12 hours
        clock(15 * MINUTE)
        assert client.get("/admin/").status_code == 200
    clock(1 * MINUTE + 1)
    assert client.get("/admin/").status_code == 302


def test_the_staff_session_itself_expires_after_the_idle_limit(client, staff, clock):
    client.get("/admin/")
    assert client.session.get_expiry_age() == 30 * MINUTE


def test_customers_keep_their_sessions(client, clock):
    customer = UserFactory()
    client.force_login(customer)
    assert client.get("/account/").status_code == 200
    clock(3 * 24 * HOUR)
    assert client.get("/account/").status_code == 200
    assert middleware.StaffSessionLimitsMiddleware.STARTED not in client.session
