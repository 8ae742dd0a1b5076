"""The pages under /account/: who may open them, what they change, and what they refuse."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Address, User
from accounts.roles import SUPPORT_AGENT
from tests.factories.accounts import (
    AddressFactory,
    StaffFactory,
    UserFactory,
    enrolled_in_mfa,
)

pytestmark = pytest.mark.django_db

# (page, path pattern; "{id}" is an address id)
PAGES = [
    ("dashboard", "/account/"),
    ("profile", "/account/profile/"),
    ("addresses", "/account/addresses/"),
    ("address_create", "/account/addresses/new/"),
    ("address_edit", "/account/addresses/{id}/edit/"),
    ("address_delete", "/account/addresses/{id}/delete/"),
]
TEMPLATES = {
    "dashboard": "accounts/dashboard.html",
    "profile": "accounts/profile.html",
    "addresses": "accounts/address_list.html",
    "address_create": "accounts/address_form.html",
    "address_edit": "accounts/address_form.html",
    "address_delete": "accounts/address_confirm_delete.html",
}
ADDRESS_PAGES = [page for page in PAGES if "{id}" in page[1]]
DEFAULT_ENDPOINTS = [
    ("billing", "/account/addresses/{id}/default-billing/"),
    ("shipping", "/account/addresses/{id}/default-shipping/"),
]


def address_form(**overrides) -> dict:
    data = {
        "label": "Office",
        "full_name": "Nurul Aina",
        "line1": "1 Jalan Ampang",
        "line2": "",
        "city": "Kuala Lumpur",
        "state": "Wilayah Persekutuan",
        "postcode": "50450",
        "country": "MY",
        "phone": "",
    }
    data.update(overrides)
    return data


def snapshot(address: Address) -> dict:
    """Every stored field of an address, read from the database."""
    return Address.objects.filter(pk=address.pk).values().get()


def other_person(kind: str) -> User:
    if kind == "customer":
        return UserFactory()
    # staff who may look addresses up in the admin are still only a customer on /account/
    return enrolled_in_mfa(StaffFactory(role=SUPPORT_AGENT))


# --- anonymous


@pytest.mark.parametrize("name,pattern", PAGES + DEFAULT_ENDPOINTS)
def test_anonymous_is_sent_to_login_with_next(client, name, pattern):
    # given someone's address
    address = AddressFactory()
    path = pattern.format(id=address.pk)

    # when an anonymous visitor opens the page
    response = client.get(path)

    # then they are sent to the login page and come back afterwards
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"


@pytest.mark.parametrize(
    "pattern",
    [
        "/account/profile/",
        "/account/addresses/new/",
        "/account/addresses/{id}/edit/",
        "/account/addresses/{id}/delete/",
    ]
    + [pattern for _, pattern in DEFAULT_ENDPOINTS],
)
def test_anonymous_post_changes_nothing(client, pattern):
    # given a customer with two addresses
    owner = UserFactory()
    first = AddressFactory(user=owner, is_default_billing=True, is_default_shipping=True)
    second = AddressFactory(user=owner)
    before = [snapshot(first), snapshot(second)]
    owner_before = User.objects.filter(pk=owner.pk).values().get()
    path = pattern.format(id=second.pk)

    # when an anonymous visitor posts to the page
    response = client.post(path, address_form(full_name="Intruder", preferred_language="ms"))

    # then they are sent to login and nothing changed
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"
    assert [snapshot(first), snapshot(second)] == before
    assert Address.objects.count() == 2
    assert User.objects.filter(pk=owner.pk).values().get() == owner_before


# --- the owner


@pytest.mark.parametrize("name,pattern", PAGES)
def test_the_owner_opens_every_page(client, name, pattern):
    # given a customer with an address
    owner = UserFactory(full_name="Nurul Aina")
    address = AddressFactory(
        user=owner, line1="8 Jalan Tun Razak", is_default_billing=True, is_default_shipping=True
    )
    client.force_login(owner)

    # when
    response = client.get(pattern.format(id=address.pk))

    # then the page renders for them, and no shared cache may keep it
    assert response.status_code == 200
    assert response.templates[0].name == TEMPLATES[name]
    assert response.context["user"] == owner
    assert "no-store" in response["Cache-Control"]


def test_the_dashboard_shows_the_defaults(client):
    # given
    owner = UserFactory(full_name="Nurul Aina")
    shipping = AddressFactory(user=owner, line1="8 Jalan Tun Razak", is_default_shipping=True)
    billing = AddressFactory(user=owner, line1="1 Jalan Ampang", is_default_billing=True)
    AddressFactory(user=owner)
    client.force_login(owner)

    # when
    response = client.get("/account/")

    # then
    assert response.context["default_shipping"] == shipping
    assert response.context["default_billing"] == billing
    assert response.context["address_count"] == 3
    assert b"Hello, Nurul" in response.content
    assert b"8 Jalan Tun Razak" in response.content
    assert b"1 Jalan Ampang" in response.content


def test_the_address_list_shows_only_own_addresses(client):
    # given
    owner = UserFactory()
    mine = AddressFactory(user=owner, line1="8 Jalan Tun Razak")
    AddressFactory(line1="99 Jalan Someone Else")
    client.force_login(owner)

    # when
    response = client.get("/account/addresses/")

    # then
    assert list(response.context["addresses"]) == [mine]
    assert b"8 Jalan Tun Razak" in response.content
    assert b"99 Jalan Someone Else" not in response.content


def test_profile_edit_saves_and_sets_the_language_cookie(client, settings):
    # given
    owner = UserFactory(email="aina@example.com", full_name="Aina", phone="")
    client.force_login(owner)

    # when
    response = client.post(
        "/account/profile/",
        {"full_name": "Nurul Aina", "phone": "+60 12-345 6789", "preferred_language": "ms"},
    )

    # then
    assert response.status_code == 302
    assert response["Location"] == "/account/"
    owner.refresh_from_db()
    assert (owner.full_name, owner.phone, owner.preferred_language, owner.email) == (
        "Nurul Aina",
        "+60 12-345 6789",
        "ms",
        "aina@example.com",
    )
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "ms"
    assert cookie["path"] == "/"
    assert "no-store" in response["Cache-Control"]


def test_profile_edit_cannot_change_the_email(client):
    # given
    owner = UserFactory(email="aina@example.com")
    client.force_login(owner)

    # when the post carries an email too
    client.post(
        "/account/profile/",
        {
            "full_name": "Nurul Aina",
            "phone": "",
            "preferred_language": "en",
            "email": "attacker@example.com",
            "is_staff": "on",
        },
    )

    # then only the profile fields changed
    owner.refresh_from_db()
    assert (owner.email, owner.is_staff, owner.full_name) == (
        "aina@example.com",
        False,
        "Nurul Aina",
    )


def test_an_invalid_profile_shows_errors_and_saves_nothing(client, settings):
    # given
    owner = UserFactory(full_name="Aina", phone="")
    client.force_login(owner)

    # when
    response = client.post(
        "/account/profile/", {"full_name": "", "phone": "0123", "preferred_language": "fr"}
    )

    # then
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"full_name", "preferred_language"}
    owner.refresh_from_db()
    assert (owner.full_name, owner.phone, owner.preferred_language) == ("Aina", "", "en")
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies


def test_creating_the_first_address_makes_it_the_default(client):
    # given
    owner = UserFactory(full_name="Nurul Aina")
    client.force_login(owner)

    # when
    response = client.post("/account/addresses/new/", address_form())

    # then
    assert response.status_code == 302
    assert response["Location"] == "/account/addresses/"
    address = Address.objects.get(user=owner)
    assert (address.label, address.line1, address.postcode, address.country.code) == (
        "Office",
        "1 Jalan Ampang",
        "50450",
        "MY",
    )
    assert (address.is_default_billing, address.is_default_shipping) == (True, True)


def test_the_new_address_form_starts_with_the_customers_name(client):
    # given
    owner = UserFactory(full_name="Nurul Aina")
    client.force_login(owner)

    # when
    response = client.get("/account/addresses/new/")

    # then
    assert response.context["form"]["full_name"].value() == "Nurul Aina"


def test_an_invalid_address_shows_errors_and_creates_nothing(client):
    # given
    owner = UserFactory()
    client.force_login(owner)

    # when the required lines are missing
    response = client.post(
        "/account/addresses/new/", address_form(full_name="", line1="", city="", postcode="")
    )

    # then
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"full_name", "line1", "city", "postcode"}
    assert Address.objects.count() == 0


def test_the_owner_edits_an_address(client):
    # given
    owner = UserFactory()
    first = AddressFactory(user=owner, is_default_billing=True, is_default_shipping=True)
    second = AddressFactory(user=owner)
    client.force_login(owner)

    # when the second is edited and made the default for shipping
    response = client.post(
        f"/account/addresses/{second.pk}/edit/", address_form(is_default_shipping="on")
    )

    # then
    assert response.status_code == 302
    assert response["Location"] == "/account/addresses/"
    second.refresh_from_db()
    first.refresh_from_db()
    assert (second.label, second.line1, second.is_default_shipping, second.is_default_billing) == (
        "Office",
        "1 Jalan Ampang",
        True,
        False,
    )
    assert (first.is_default_shipping, first.is_default_billing) == (False, True)


def test_an_invalid_edit_shows_errors_and_changes_nothing(client):
    # given
    owner = UserFactory()
    address = AddressFactory(user=owner)
    before = snapshot(address)
    client.force_login(owner)

    # when
    response = client.post(f"/account/addresses/{address.pk}/edit/", address_form(line1=""))

    # then
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"line1"}
    assert snapshot(address) == before


def test_the_owner_deletes_an_address_and_the_default_moves(client):
    # given
    owner = UserFactory()
    first = AddressFactory(user=owner)
    second = AddressFactory(user=owner, is_default_billing=True, is_default_shipping=True)
    client.force_login(owner)

    # when
    response = client.post(f"/account/addresses/{second.pk}/delete/")

    # then
    assert response.status_code == 302
    assert response["Location"] == "/account/addresses/"
    assert list(Address.objects.for_user(owner)) == [first]
    first.refresh_from_db()
    assert (first.is_default_billing, first.is_default_shipping) == (True, True)


def test_the_delete_page_asks_before_deleting(client):
    # given
    owner = UserFactory()
    address = AddressFactory(user=owner)
    client.force_login(owner)

    # when
    response = client.get(f"/account/addresses/{address.pk}/delete/")

    # then
    assert response.status_code == 200
    assert response.context["address"] == address
    assert Address.objects.filter(pk=address.pk).exists()


@pytest.mark.parametrize("kind,pattern", DEFAULT_ENDPOINTS)
def test_the_owner_makes_an_address_the_default(client, kind, pattern):
    # given
    owner = UserFactory()
    first = AddressFactory(user=owner, is_default_billing=True, is_default_shipping=True)
    second = AddressFactory(user=owner)
    client.force_login(owner)

    # when
    response = client.post(pattern.format(id=second.pk))

    # then the chosen default moved, the other kind stayed
    assert response.status_code == 302
    assert response["Location"] == "/account/addresses/"
    first.refresh_from_db()
    second.refresh_from_db()
    assert getattr(second, f"is_default_{kind}") is True
    assert getattr(first, f"is_default_{kind}") is False
    other = "shipping" if kind == "billing" else "billing"
    assert getattr(first, f"is_default_{other}") is True
    assert getattr(second, f"is_default_{other}") is False


@pytest.mark.parametrize("kind,pattern", DEFAULT_ENDPOINTS)
def test_get_on_a_default_endpoint_is_405_and_changes_nothing(client, kind, pattern):
    # given
    owner = UserFactory()
    first = AddressFactory(user=owner, is_default_billing=True, is_default_shipping=True)
    second = AddressFactory(user=owner)
    before = [snapshot(first), snapshot(second)]
    client.force_login(owner)

    # when
    response = client.get(pattern.format(id=second.pk))

    # then
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert [snapshot(first), snapshot(second)] == before


# --- someone else using the owner's address id


@pytest.mark.parametrize("who", ["customer", "staff"])
@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("name,pattern", ADDRESS_PAGES)
def test_someone_else_gets_404_for_the_owners_address(client, who, method, name, pattern):
    # given the owner's address and another logged-in person
    owner = UserFactory()
    address = AddressFactory(user=owner, is_default_billing=True, is_default_shipping=True)
    before = snapshot(address)
    client.force_login(other_person(who))

    # when they open or post to the owner's address
    path = pattern.format(id=address.pk)
    response = getattr(client, method)(path, address_form(line1="Mine now"))

    # then it does not exist for them and the address is unchanged
    assert response.status_code == 404
    assert snapshot(address) == before


@pytest.mark.parametrize("who", ["customer", "staff"])
@pytest.mark.parametrize("kind,pattern", DEFAULT_ENDPOINTS)
def test_someone_else_cannot_make_the_owners_address_a_default(client, who, kind, pattern):
    # given the owner has two addresses, the first default for both
    owner = UserFactory()
    first = AddressFactory(user=owner, is_default_billing=True, is_default_shipping=True)
    second = AddressFactory(user=owner)
    before = [snapshot(first), snapshot(second)]
    client.force_login(other_person(who))

    # when another person posts the owner's second address id
    response = client.post(pattern.format(id=second.pk))

    # then
    assert response.status_code == 404
    assert [snapshot(first), snapshot(second)] == before


# --- a fixed number of queries


def count_queries(client, user, path) -> tuple[int, int]:
    """(all queries, queries of the address table) for one GET of `path` by `user`."""
    client.force_login(user)
    client.get(path)  # warm-up, so both measurements start from the same session state
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    address_queries = [q for q in queries.captured_queries if "accounts_address" in q["sql"]]
    return len(queries.captured_queries), len(address_queries)


@pytest.mark.parametrize("path", ["/account/", "/account/addresses/"])
def test_account_pages_make_the_same_queries_for_2_and_30_addresses(client, path):
    # given one customer with 2 addresses and one with 30
    few, many = UserFactory(), UserFactory()
    AddressFactory.create_batch(2, user=few)
    AddressFactory.create_batch(30, user=many)

    # when each opens the page
    few_total, few_address = count_queries(client, few, path)
    many_total, many_address = count_queries(client, many, path)

    # then the page costs the same, and the addresses are read in one query
    assert many_total == few_total
    assert (few_address, many_address) == (1, 1)


def test_adding_an_address_from_checkout_returns_to_checkout_but_never_off_site(client):
    # given
    from tests.factories import UserFactory

    user = UserFactory()
    client.force_login(user)
    data = {
        "full_name": "A",
        "line1": "1 Jalan",
        "city": "KL",
        "postcode": "50000",
        "country": "MY",
    }
    # when / then: a local next is honoured
    response = client.post("/account/addresses/new/?next=/checkout/", data)
    assert (response.status_code, response["Location"]) == (302, "/checkout/")
    # and another host is not
    response = client.post("/account/addresses/new/?next=https://evil.example/", data)
    assert (response.status_code, response["Location"]) == (302, "/account/addresses/")
