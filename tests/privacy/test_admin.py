"""The privacy admin: policy versions are published through the service and never deleted or
edited once published; the access log is read-only. Staff open the admin only with TOTP."""

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.test import RequestFactory

from privacy.models import AccessAction, AccessLog, PolicyVersion
from privacy.services import log_access
from tests.factories import (
    CustomerFactory,
    PolicyVersionFactory,
    StaffFactory,
    enrolled_in_mfa,
    staff_client,
)

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/privacy/policyversion/"


def _admin_request():
    """A request to the admin by a superuser."""
    request = RequestFactory().get("/admin/")
    request.user = enrolled_in_mfa(StaffFactory(is_superuser=True))
    return request


def _row(policy: PolicyVersion) -> dict:
    return PolicyVersion.objects.values().get(pk=policy.pk)


def _publish_action(client, *policies):
    return client.post(
        CHANGELIST,
        {"action": "publish", "_selected_action": [p.pk for p in policies], "index": 0},
    )


# --- policy versions: no deleting


def test_policy_versions_have_no_delete_permission_and_no_delete_action():
    # given
    model_admin = admin.site._registry[PolicyVersion]
    request = _admin_request()
    policy = PolicyVersion.objects.get(version="2026-11-24")
    # when
    actions = model_admin.get_actions(request)
    # then
    assert model_admin.has_delete_permission(request) is False
    assert model_admin.has_delete_permission(request, policy) is False
    assert list(actions) == ["publish"]


def test_the_delete_page_of_a_policy_version_is_forbidden_even_to_a_superuser():
    # given
    client = staff_client(is_superuser=True)[1]
    draft = PolicyVersionFactory()
    # when
    response = client.post(f"{CHANGELIST}{draft.pk}/delete/", {"post": "yes"})
    # then
    assert response.status_code == 403
    assert PolicyVersion.objects.filter(pk=draft.pk).exists()


# --- policy versions: a published one is read-only


def test_a_published_version_change_page_shows_every_field_read_only():
    # given
    client = staff_client("store manager")[1]
    policy = PolicyVersionFactory(published=True)
    # when
    response = client.get(f"{CHANGELIST}{policy.pk}/change/")
    # then
    assert response.status_code == 200
    adminform = response.context["adminform"]
    assert set(adminform.readonly_fields) == {field.name for field in PolicyVersion._meta.fields}
    assert list(adminform.form.fields) == []
    html = response.content.decode()
    for name in ["version", "effective_date", "summary", "body_en", "body_ms"]:
        assert f'name="{name}"' not in html


def test_a_draft_change_page_is_editable_except_hash_and_dates():
    # given
    client = staff_client("store manager")[1]
    draft = PolicyVersionFactory()
    # when
    response = client.get(f"{CHANGELIST}{draft.pk}/change/")
    # then
    assert response.status_code == 200
    assert list(response.context["adminform"].form.fields) == [
        "version",
        "effective_date",
        "summary",
        "body_en",
        "body_ms",
    ]
    assert list(response.context["adminform"].readonly_fields) == [
        "content_hash",
        "published_at",
        "created_at",
    ]


def test_saving_a_published_version_in_admin_is_refused_cleanly(postgres):
    # given
    client = staff_client("store manager")[1]
    policy = PolicyVersionFactory(published=True)
    before = _row(policy)
    # when
    response = client.post(f"{CHANGELIST}{policy.pk}/change/", {"_save": "Save"})
    # then
    assert response.status_code == 403
    assert _row(policy) == before


# --- policy versions: the publish action


@pytest.mark.parametrize(
    "who", [{"role": "store manager"}, {"is_superuser": True}], ids=["store-manager", "superuser"]
)
def test_the_publish_action_publishes_a_draft(who):
    # given
    client = staff_client(**who)[1]
    draft = PolicyVersionFactory()
    # when
    response = _publish_action(client, draft)
    # then
    assert response.status_code == 302
    assert response["Location"] == CHANGELIST
    draft.refresh_from_db()
    assert draft.is_published
    assert draft.content_hash == draft.compute_hash()
    assert [str(m) for m in get_messages(response.wsgi_request)] == [f"{draft.version} published."]


def test_the_publish_action_reports_a_version_that_is_already_published():
    # given
    client = staff_client("store manager")[1]
    policy = PolicyVersionFactory(published=True)
    draft = PolicyVersionFactory(body_ms="")
    before = [_row(policy), _row(draft)]
    # when
    response = _publish_action(client, policy, draft)
    # then
    assert response.status_code == 302
    assert sorted(str(m) for m in get_messages(response.wsgi_request)) == sorted(
        [
            f"{policy.version}: This policy version is already published and cannot change.",
            f"{draft.version}: A policy needs its text in both English and Bahasa Malaysia.",
        ]
    )
    assert [_row(policy), _row(draft)] == before


def test_staff_without_the_role_cannot_publish():
    # given
    client = staff_client("support agent")[1]
    draft = PolicyVersionFactory()
    before = _row(draft)
    # when
    response = _publish_action(client, draft)
    # then
    assert response.status_code == 403
    assert _row(draft) == before


def test_a_store_manager_without_totp_is_sent_to_enrol_and_publishes_nothing(client):
    # given
    client.force_login(StaffFactory(role="store manager"))
    draft = PolicyVersionFactory()
    before = _row(draft)
    # when
    response = _publish_action(client, draft)
    # then
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/totp/activate/?next=/admin/"
    assert _row(draft) == before


@pytest.mark.parametrize("make_user", [None, CustomerFactory], ids=["anonymous", "customer"])
def test_anonymous_visitors_and_customers_are_sent_to_the_admin_login(client, make_user):
    # given
    if make_user is not None:
        client.force_login(make_user())
    draft = PolicyVersionFactory()
    before = _row(draft)
    # when
    response = _publish_action(client, draft)
    # then
    assert response.status_code == 302
    assert response["Location"] == f"/admin/login/?next={CHANGELIST}"
    assert _row(draft) == before


# --- the access log is read-only


def test_the_access_log_admin_cannot_add_change_or_delete():
    # given
    model_admin = admin.site._registry[AccessLog]
    request = _admin_request()
    # then
    assert model_admin.has_add_permission(request) is False
    assert model_admin.has_change_permission(request) is False
    assert model_admin.has_delete_permission(request) is False
    assert "delete_selected" not in model_admin.get_actions(request)


def test_a_store_manager_reads_the_access_log_but_cannot_add_change_or_delete():
    # given
    customer = CustomerFactory()
    entry = log_access(None, action=AccessAction.EXPORTED, target=customer, subject=customer)
    before = AccessLog.objects.values().get(pk=entry.pk)
    client = staff_client("store manager")[1]
    # when
    listing = client.get("/admin/privacy/accesslog/")
    add = client.get("/admin/privacy/accesslog/add/")
    change = client.post(f"/admin/privacy/accesslog/{entry.pk}/change/", {"detail": "edited"})
    delete = client.post(f"/admin/privacy/accesslog/{entry.pk}/delete/", {"post": "yes"})
    # then
    assert listing.status_code == 200
    assert list(listing.context["cl"].result_list) == [entry]
    assert (add.status_code, change.status_code, delete.status_code) == (403, 403, 403)
    assert AccessLog.objects.values().get(pk=entry.pk) == before
    assert AccessLog.objects.count() == 1
