"""Who may open each privacy-centre view and each privacy admin page: anonymous, the owner,
another customer, each staff role, the superuser."""

import pytest

from accounts.roles import DATA_PROTECTION_OFFICER, ROLE_PERMISSIONS
from privacy.models import DataExport
from privacy.rights import record_breach, request_export
from privacy.services import open_data_request
from tests.factories import CustomerFactory, StaffFactory, enrolled_in_mfa

pytestmark = pytest.mark.django_db

WHO = ["anonymous", "owner", "another customer", *sorted(ROLE_PERMISSIONS), "superuser"]


def _login(client, who, owner):
    if who == "anonymous":
        return
    if who == "owner":
        client.force_login(owner)
        return
    if who == "another customer":
        client.force_login(CustomerFactory())
        return
    staff = StaffFactory(role=None if who == "superuser" else who, is_superuser=who == "superuser")
    client.force_login(enrolled_in_mfa(staff))


@pytest.fixture
def owner_export(django_capture_on_commit_callbacks):
    owner = CustomerFactory()
    with django_capture_on_commit_callbacks(execute=True):
        export = request_export(owner)
    return owner, DataExport.objects.get(pk=export.pk)


@pytest.mark.parametrize("who", WHO)
def test_the_download_link_opens_only_for_its_owner(client, who, owner_export):
    owner, export = owner_export
    _login(client, who, owner)
    response = client.get(f"/account/privacy/export/{export.public_id}/")
    expected = {"anonymous": 302, "owner": 200}.get(who, 404)
    assert response.status_code == expected


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/account/privacy/"),
        ("get", "/account/privacy/close/"),
        ("post", "/account/privacy/export/"),
        ("post", "/account/privacy/requests/"),
        ("post", "/account/privacy/marketing/stop/"),
        ("post", "/account/privacy/close/"),
    ],
)
def test_centre_views_need_a_login_and_act_only_on_the_person_logged_in(client, who, method, path):
    owner = CustomerFactory()
    _login(client, who, owner)
    response = getattr(client, method)(path)
    if who == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
        return
    if path in {"/account/privacy/export/", "/account/privacy/close/"} and method == "post":
        # changing or exporting data asks for the password again first
        assert response["Location"].startswith("/accounts/reauthenticate/")
        assert not DataExport.objects.exists()
        owner.refresh_from_db()
        assert owner.is_active
        return
    assert response.status_code in {200, 302}


def test_get_on_a_state_changing_centre_view_is_refused(client):
    client.force_login(CustomerFactory())
    for path in [
        "/account/privacy/export/",
        "/account/privacy/requests/",
        "/account/privacy/marketing/stop/",
    ]:
        assert client.get(path).status_code == 405


@pytest.mark.parametrize("who", [w for w in WHO if w not in {"owner"}])
def test_privacy_admin_pages_are_for_the_officer_and_the_superuser(client, who):
    customer = CustomerFactory()
    request = open_data_request(customer, kind="complaint", channel="privacy_centre")
    breach = record_breach(
        summary="x", data_categories="x", discovered_at=request.received_at, acting_user=None
    )
    _login(client, who, customer)
    pages = [
        "/admin/privacy/datarequest/",
        f"/admin/privacy/datarequest/{request.pk}/change/",
        "/admin/privacy/breach/",
        f"/admin/privacy/breach/{breach.pk}/change/",
        "/admin/privacy/breach/add/",
    ]
    for path in pages:
        response = client.get(path)
        if who in {DATA_PROTECTION_OFFICER, "superuser"}:
            assert response.status_code == 200, path
        elif who in {"anonymous", "another customer"}:
            assert response.status_code == 302, path
        else:
            assert response.status_code == 403, path
