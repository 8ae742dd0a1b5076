"""The user admin: opening a person's page is written to the access log, once."""

import pytest

from accounts.models import Address, User
from accounts.roles import STORE_MANAGER, SUPPORT_AGENT
from privacy.models import AccessLog
from tests.factories.accounts import (
    AddressFactory,
    StaffFactory,
    UserFactory,
    enrolled_in_mfa,
    staff_client,
)

pytestmark = pytest.mark.django_db


def test_a_store_manager_viewing_a_customer_writes_one_access_log_row():
    # given
    customer = UserFactory(email="aina@example.com")
    manager, client = staff_client(STORE_MANAGER)

    # when the manager opens the customer's page
    response = client.get(f"/admin/accounts/user/{customer.pk}/change/")

    # then exactly one row says who looked at whose data
    assert response.status_code == 200
    row = AccessLog.objects.get()
    assert (
        row.action,
        row.actor,
        row.actor_role,
        row.subject,
        row.target_type,
        row.target_id,
        row.ip_address,
        row.detail,
    ) == (
        "viewed",
        manager,
        "store manager",
        customer,
        "accounts.user",
        str(customer.pk),
        "127.0.0.1",
        "admin user page",
    )


def test_each_view_is_one_more_row_and_the_role_is_the_viewers(client):
    # given
    customer = UserFactory()
    agent = enrolled_in_mfa(StaffFactory(role=SUPPORT_AGENT))
    superuser = enrolled_in_mfa(StaffFactory(is_superuser=True))

    # when a support agent views the page twice and a superuser once
    client.force_login(agent)
    client.get(f"/admin/accounts/user/{customer.pk}/change/")
    client.get(f"/admin/accounts/user/{customer.pk}/change/")
    client.force_login(superuser)
    client.get(f"/admin/accounts/user/{customer.pk}/change/")

    # then
    assert sorted(AccessLog.objects.values_list("actor_id", "actor_role", "subject_id")) == sorted(
        [
            (agent.pk, "support agent", customer.pk),
            (agent.pk, "support agent", customer.pk),
            (superuser.pk, "superuser", customer.pk),
        ]
    )


def test_the_user_list_logs_each_person_shown_and_a_missing_user_writes_nothing():
    # given
    customer = UserFactory()
    manager, client = staff_client(STORE_MANAGER)

    # when
    listing = client.get("/admin/accounts/user/")

    # then one row per person on the page, naming the list
    assert listing.status_code == 200
    assert sorted(AccessLog.objects.values_list("subject_id", "target_type", "detail")) == sorted(
        [
            (customer.pk, "accounts.user", "admin list of users"),
            (manager.pk, "accounts.user", "admin list of users"),
        ]
    )

    # when
    missing = client.get("/admin/accounts/user/999999/change/")

    # then
    assert (missing.status_code, missing["Location"]) == (302, "/admin/")
    assert AccessLog.objects.count() == 2


def test_a_refused_view_writes_nothing():
    # given a role without the view permission on users
    customer = UserFactory()
    client = staff_client("marketing manager")[1]

    # when
    response = client.get(f"/admin/accounts/user/{customer.pk}/change/")

    # then
    assert response.status_code == 403
    assert AccessLog.objects.count() == 0


def test_staff_without_totp_are_stopped_before_anything_is_logged(client):
    # given a store manager who has not enrolled TOTP
    customer = UserFactory()
    client.force_login(StaffFactory(role=STORE_MANAGER))

    # when
    response = client.get(f"/admin/accounts/user/{customer.pk}/change/")

    # then
    assert response.status_code == 302
    assert AccessLog.objects.count() == 0


def test_bulk_delete_is_not_offered():
    # given
    client = staff_client(is_superuser=True)[1]

    # when
    response = client.get("/admin/accounts/user/")

    # then
    assert response.status_code == 200
    assert response.context["action_form"] is None
    assert 'value="delete_selected"' not in response.content.decode()


# --- the superuser's forms

INLINE_MANAGEMENT = {
    "addresses-TOTAL_FORMS": "0",
    "addresses-INITIAL_FORMS": "0",
    "addresses-MIN_NUM_FORMS": "0",
    "addresses-MAX_NUM_FORMS": "1000",
}


def add_user(client, email: str, full_name: str):
    return client.post(
        "/admin/accounts/user/add/",
        {
            "email": email,
            "full_name": full_name,
            "usable_password": "false",
            "_save": "Save",
            **INLINE_MANAGEMENT,
        },
    )


def test_the_admin_add_form_stores_the_email_lower_case():
    # given
    client = staff_client(is_superuser=True)[1]

    # when a superuser adds a person with a mixed-case email
    response = add_user(client, "New.Person@Example.COM", "New Person")

    # then
    person = User.objects.get(full_name="New Person")
    assert response.status_code == 302
    assert response["Location"] == f"/admin/accounts/user/{person.pk}/change/"
    assert person.email == "new.person@example.com"


def test_the_admin_add_form_refuses_an_existing_email_in_another_case():
    # given an existing customer
    UserFactory(email="aina@example.com")
    client = staff_client(is_superuser=True)[1]
    users = User.objects.count()

    # when a superuser adds the same address in other case
    response = add_user(client, "AINA@Example.com", "Impostor")

    # then the form says so and no second account exists
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["email"] == ["User with this Email address already exists."]
    assert User.objects.count() == users
    same_person = User.objects.filter(email__iexact="aina@example.com")
    assert list(same_person.values_list("email", flat=True)) == ["aina@example.com"]


def address_inline_form(index: int, address, **overrides) -> dict:
    fields = {
        "id": address.pk,
        "user": address.user_id,
        "label": address.label,
        "full_name": address.full_name,
        "line1": address.line1,
        "line2": address.line2,
        "city": address.city,
        "state": address.state,
        "postcode": address.postcode,
        "country": address.country.code,
        "phone": address.phone,
    }
    if address.is_default_billing:
        fields["is_default_billing"] = "on"
    if address.is_default_shipping:
        fields["is_default_shipping"] = "on"
    fields.update(overrides)
    return {f"addresses-{index}-{name}": value for name, value in fields.items()}


def test_the_address_book_is_read_only_in_the_admin_even_for_a_superuser():
    # given a customer with two addresses, the first default for both
    customer = UserFactory(email="aina@example.com", full_name="Nurul Aina")
    first = AddressFactory(user=customer, is_default_billing=True, is_default_shipping=True)
    second = AddressFactory(user=customer)
    before = list(Address.objects.filter(user=customer).order_by("id").values())
    client = staff_client(is_superuser=True)[1]

    # when the superuser opens the page
    page = client.get(f"/admin/accounts/user/{customer.pk}/change/")

    # then the addresses show without inputs
    content = page.content.decode()
    assert first.line1 in content and second.line1 in content
    assert 'name="addresses-0-line1"' not in content
    assert 'name="addresses-1-is_default_billing"' not in content

    # when they post the form with a default ticked on the second address anyway
    response = client.post(
        f"/admin/accounts/user/{customer.pk}/change/",
        {
            "email": "aina@example.com",
            "full_name": "Nurul Aina",
            "phone": "",
            "preferred_language": "en",
            "is_active": "on",
            "date_joined_0": "2026-11-24",
            "date_joined_1": "10:00:00",
            "last_login_0": "",
            "last_login_1": "",
            "_save": "Save",
            **INLINE_MANAGEMENT,
            "addresses-TOTAL_FORMS": "2",
            "addresses-INITIAL_FORMS": "2",
            **address_inline_form(0, first, line1="Changed by staff"),
            **address_inline_form(1, second, is_default_billing="on"),
        },
    )

    # then the person's own fields save, and the address book is exactly as it was
    assert response.status_code == 302
    assert list(Address.objects.filter(user=customer).order_by("id").values()) == before
