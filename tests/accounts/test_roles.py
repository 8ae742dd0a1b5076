"""Staff roles: the groups in the database are exactly accounts.roles.ROLE_PERMISSIONS, and a
view-only role cannot change a customer in the admin."""

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission

from accounts.models import User
from accounts.roles import (
    DATA_PROTECTION_OFFICER,
    MARKETING_MANAGER,
    ROLE_PERMISSIONS,
    STORE_MANAGER,
    SUPPORT_AGENT,
    VERIFICATION_REVIEWER,
    sync_roles,
)
from tests.factories.accounts import (
    AddressFactory,
    UserFactory,
    staff_client,
)

pytestmark = pytest.mark.django_db


def roles_in_database() -> dict[str, set[str]]:
    return {
        group.name: {
            f"{permission.content_type.app_label}.{permission.codename}"
            for permission in group.permissions.select_related("content_type")
        }
        for group in Group.objects.all()
    }


def test_the_groups_after_migrations_are_exactly_the_role_table():
    # then (the migrations ran sync_roles)
    assert roles_in_database() == ROLE_PERMISSIONS
    assert set(ROLE_PERMISSIONS) == {
        VERIFICATION_REVIEWER,
        SUPPORT_AGENT,
        MARKETING_MANAGER,
        STORE_MANAGER,
        DATA_PROTECTION_OFFICER,
    }


def test_no_role_may_change_or_delete_a_customer():
    # then the table itself never grants a change to accounts
    granted = set().union(*ROLE_PERMISSIONS.values())
    writes = ("accounts.add_", "accounts.change_", "accounts.delete_")
    assert {permission for permission in granted if permission.startswith(writes)} == set()


def test_sync_roles_is_idempotent():
    # given the state after migrations
    before = roles_in_database()
    groups, permissions = Group.objects.count(), Permission.objects.count()

    # when it runs twice more
    sync_roles(apps)
    sync_roles(apps)

    # then nothing changed
    assert roles_in_database() == before == ROLE_PERMISSIONS
    assert (Group.objects.count(), Permission.objects.count()) == (groups, permissions)


def test_sync_roles_takes_back_a_permission_granted_by_hand():
    # given someone granted the support agents a change permission in the admin
    support = Group.objects.get(name=SUPPORT_AGENT)
    support.permissions.add(
        Permission.objects.get(content_type__app_label="accounts", codename="change_user")
    )
    assert roles_in_database() != ROLE_PERMISSIONS

    # when
    sync_roles(apps)

    # then
    assert roles_in_database() == ROLE_PERMISSIONS


def test_sync_roles_recreates_a_deleted_role():
    # given
    Group.objects.filter(name=STORE_MANAGER).delete()

    # when
    sync_roles(apps)

    # then
    assert roles_in_database() == ROLE_PERMISSIONS


# --- a view-only role in the admin


def test_a_support_agent_sees_a_customer_read_only():
    # given a customer and a support agent with TOTP
    customer = UserFactory(email="aina@example.com", full_name="Nurul Aina")
    AddressFactory(user=customer, line1="8 Jalan Tun Razak")
    client = staff_client(SUPPORT_AGENT)[1]

    # when the agent opens the customer's admin page
    response = client.get(f"/admin/accounts/user/{customer.pk}/change/")

    # then it renders without a form to change anything
    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    assert response.context["has_delete_permission"] is False
    content = response.content.decode()
    assert "aina@example.com" in content
    assert "8 Jalan Tun Razak" in content
    assert 'name="_save"' not in content
    assert 'name="email"' not in content
    assert 'name="is_staff"' not in content


def test_a_support_agent_cannot_change_a_customer_by_posting():
    # given
    customer = UserFactory(email="aina@example.com", full_name="Nurul Aina")
    client = staff_client(SUPPORT_AGENT)[1]
    before = User.objects.filter(pk=customer.pk).values().get()

    # when the agent posts a change anyway
    response = client.post(
        f"/admin/accounts/user/{customer.pk}/change/",
        {
            "email": "attacker@example.com",
            "full_name": "Nurul Aina",
            "preferred_language": "en",
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            "addresses-TOTAL_FORMS": "0",
            "addresses-INITIAL_FORMS": "0",
            "_save": "Save",
        },
    )

    # then it is forbidden and the customer is unchanged
    assert response.status_code == 403
    assert User.objects.filter(pk=customer.pk).values().get() == before
    assert list(customer.groups.all()) == []


@pytest.mark.parametrize("role", [SUPPORT_AGENT, STORE_MANAGER, VERIFICATION_REVIEWER])
def test_no_role_can_add_a_user_in_the_admin(role):
    # given
    client = staff_client(role)[1]
    users = User.objects.count()

    # when
    page = client.get("/admin/accounts/user/add/")
    post = client.post(
        "/admin/accounts/user/add/",
        {"email": "new@example.com", "full_name": "New", "usable_password": "false"},
    )

    # then
    assert (page.status_code, post.status_code) == (403, 403)
    assert User.objects.count() == users


def test_a_marketing_manager_cannot_see_customers():
    # given
    customer = UserFactory()
    client = staff_client(MARKETING_MANAGER)[1]

    # when
    listing = client.get("/admin/accounts/user/")
    page = client.get(f"/admin/accounts/user/{customer.pk}/change/")

    # then
    assert (listing.status_code, page.status_code) == (403, 403)


def test_a_verification_reviewer_cannot_browse_customers():
    # given (the reviewer sees only orders awaiting verification: tests/orders/test_verification_access.py)
    customer = UserFactory(email="aina@example.com")
    AddressFactory(user=customer, line1="8 Jalan Tun Razak")
    client = staff_client(VERIFICATION_REVIEWER)[1]

    # when
    listing = client.get("/admin/accounts/user/")
    page = client.get(f"/admin/accounts/user/{customer.pk}/change/")

    # then
    assert (listing.status_code, page.status_code) == (403, 403)
