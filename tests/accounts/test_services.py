"""Profile and address book services: defaults move, never double up, and survive deletion."""

import pytest
from django.db import IntegrityError, transaction
from django.http import Http404

from accounts.models import Address, Language
from accounts.selectors import get_address_for_user
from accounts.services import (
    add_address,
    delete_address,
    set_default_address,
    update_address,
    update_profile,
)
from tests.factories.accounts import AddressFactory, UserFactory

pytestmark = pytest.mark.django_db


def address_data(**overrides) -> dict:
    data = {
        "label": "Home",
        "full_name": "Nurul Aina",
        "line1": "8 Jalan Tun Razak",
        "line2": "Level 3",
        "city": "Kuala Lumpur",
        "state": "Wilayah Persekutuan",
        "postcode": "50400",
        "country": "MY",
        "phone": "+60 12-345 6789",
        "is_default_billing": False,
        "is_default_shipping": False,
    }
    data.update(overrides)
    return data


def defaults_of(user) -> tuple[list[int], list[int]]:
    """(ids of default billing addresses, ids of default shipping addresses) in the database."""
    addresses = Address.objects.for_user(user)
    billing = sorted(addresses.filter(is_default_billing=True).values_list("id", flat=True))
    shipping = sorted(addresses.filter(is_default_shipping=True).values_list("id", flat=True))
    return billing, shipping


def test_update_profile_saves_name_phone_and_language_only():
    # given
    user = UserFactory(email="aina@example.com", full_name="Aina", phone="")

    # when
    returned = update_profile(
        user, full_name="Nurul Aina", phone="+60 12-345 6789", preferred_language=Language.MALAY
    )

    # then
    user.refresh_from_db()
    assert returned is user
    assert (user.full_name, user.phone, user.preferred_language, user.email) == (
        "Nurul Aina",
        "+60 12-345 6789",
        "ms",
        "aina@example.com",
    )


def test_the_first_address_becomes_default_billing_and_shipping():
    # given a customer without addresses
    user = UserFactory()

    # when they add one without asking for defaults
    address = add_address(user, data=address_data())

    # then it is the default for both, with every field saved
    address.refresh_from_db()
    assert (address.is_default_billing, address.is_default_shipping) == (True, True)
    assert (
        address.user,
        address.label,
        address.full_name,
        address.line1,
        address.line2,
        address.city,
        address.state,
        address.postcode,
        address.country.code,
        address.phone,
    ) == (
        user,
        "Home",
        "Nurul Aina",
        "8 Jalan Tun Razak",
        "Level 3",
        "Kuala Lumpur",
        "Wilayah Persekutuan",
        "50400",
        "MY",
        "+60 12-345 6789",
    )


def test_a_later_address_without_defaults_leaves_the_defaults_alone():
    # given
    user = UserFactory()
    first = add_address(user, data=address_data())

    # when
    second = add_address(user, data=address_data(line1="1 Jalan Ampang"))

    # then
    assert defaults_of(user) == ([first.pk], [first.pk])
    second.refresh_from_db()
    assert (second.is_default_billing, second.is_default_shipping) == (False, False)


def test_a_missing_country_defaults_to_malaysia():
    # when
    address = add_address(UserFactory(), data=address_data(country=""))

    # then
    address.refresh_from_db()
    assert address.country.code == "MY"


def test_adding_an_address_as_default_billing_moves_only_billing():
    # given
    user = UserFactory()
    first = add_address(user, data=address_data())

    # when
    second = add_address(user, data=address_data(is_default_billing=True))

    # then
    assert defaults_of(user) == ([second.pk], [first.pk])


def test_set_default_moves_the_default_and_keeps_one_per_kind():
    # given a customer with two addresses, the first default for both
    user = UserFactory()
    first = add_address(user, data=address_data())
    second = add_address(user, data=address_data())
    other_customers = AddressFactory(is_default_billing=True, is_default_shipping=True)

    # when the second becomes default shipping
    set_default_address(second, kind="shipping")

    # then shipping moved, billing stayed, nobody else's address changed
    assert defaults_of(user) == ([first.pk], [second.pk])
    other_customers.refresh_from_db()
    assert (other_customers.is_default_billing, other_customers.is_default_shipping) == (True, True)

    # when the second also becomes default billing
    set_default_address(second, kind="billing")

    # then
    assert defaults_of(user) == ([second.pk], [second.pk])


def test_set_default_with_an_unknown_kind_raises_and_changes_nothing():
    # given
    user = UserFactory()
    first = add_address(user, data=address_data())
    second = add_address(user, data=address_data())

    # when
    with pytest.raises(ValueError, match="unknown address kind 'postal'"):
        set_default_address(second, kind="postal")

    # then
    assert defaults_of(user) == ([first.pk], [first.pk])


@pytest.mark.parametrize("flag", ["is_default_billing", "is_default_shipping"])
def test_the_database_refuses_a_second_default_for_one_customer(flag):
    # given a customer with a default address
    user = UserFactory()
    existing = AddressFactory(user=user, **{flag: True})

    # when a second default of the same kind is written past the services
    with pytest.raises(IntegrityError), transaction.atomic():
        AddressFactory(user=user, **{flag: True})

    # then the first is still the only address and the only default
    assert list(Address.objects.for_user(user).values_list("id", flag)) == [(existing.pk, True)]


def test_the_database_allows_one_default_per_customer():
    # when two customers each have a default
    a = AddressFactory(is_default_billing=True, is_default_shipping=True)
    b = AddressFactory(is_default_billing=True, is_default_shipping=True)

    # then both are saved
    assert Address.objects.filter(is_default_billing=True).count() == 2
    assert a.user != b.user


def test_delete_moves_defaults_to_the_oldest_remaining_address():
    # given three addresses, the newest default for both
    user = UserFactory()
    oldest = add_address(user, data=address_data())
    middle = add_address(user, data=address_data())
    newest = add_address(user, data=address_data(is_default_billing=True, is_default_shipping=True))

    # when the default is deleted
    delete_address(newest)

    # then the oldest remaining address holds both defaults
    assert not Address.objects.filter(pk=newest.pk).exists()
    assert defaults_of(user) == ([oldest.pk], [oldest.pk])
    middle.refresh_from_db()
    assert (middle.is_default_billing, middle.is_default_shipping) == (False, False)


def test_delete_moves_only_the_default_the_address_held():
    # given billing on the oldest, shipping on the newest
    user = UserFactory()
    oldest = add_address(user, data=address_data())
    middle = add_address(user, data=address_data())
    newest = add_address(user, data=address_data(is_default_shipping=True))
    assert defaults_of(user) == ([oldest.pk], [newest.pk])

    # when the shipping default is deleted
    delete_address(newest)

    # then shipping moves to the oldest, which keeps billing
    assert defaults_of(user) == ([oldest.pk], [oldest.pk])
    assert sorted(Address.objects.for_user(user).values_list("id", flat=True)) == [
        oldest.pk,
        middle.pk,
    ]


def test_delete_of_a_non_default_address_leaves_the_defaults():
    # given
    user = UserFactory()
    first = add_address(user, data=address_data())
    second = add_address(user, data=address_data())

    # when
    delete_address(second)

    # then
    assert defaults_of(user) == ([first.pk], [first.pk])
    assert list(Address.objects.for_user(user)) == [first]


def test_delete_of_the_last_address_leaves_an_empty_book():
    # given
    user = UserFactory()
    only = add_address(user, data=address_data())

    # when
    delete_address(only)

    # then
    assert Address.objects.for_user(user).count() == 0


def test_update_address_changes_the_fields():
    # given
    user = UserFactory()
    address = add_address(user, data=address_data())

    # when
    update_address(
        address,
        data=address_data(
            label="Office",
            line1="1 Jalan Ampang",
            line2="",
            postcode="50450",
            phone="",
            is_default_billing=True,
            is_default_shipping=True,
        ),
    )

    # then
    address.refresh_from_db()
    assert (address.label, address.line1, address.line2, address.postcode, address.phone) == (
        "Office",
        "1 Jalan Ampang",
        "",
        "50450",
        "",
    )
    assert defaults_of(user) == ([address.pk], [address.pk])


def test_update_address_ticking_default_moves_it_here():
    # given
    user = UserFactory()
    add_address(user, data=address_data())
    second = add_address(user, data=address_data())

    # when
    update_address(second, data=address_data(is_default_billing=True, is_default_shipping=True))

    # then
    assert defaults_of(user) == ([second.pk], [second.pk])


def test_update_address_unticking_the_only_default_leaves_none():
    # given
    user = UserFactory()
    first = add_address(user, data=address_data())

    # when
    update_address(first, data=address_data(is_default_billing=False, is_default_shipping=True))

    # then
    assert defaults_of(user) == ([], [first.pk])


def test_the_selector_returns_own_addresses_and_404s_for_anyone_elses():
    # given
    owner = UserFactory()
    address = AddressFactory(user=owner)
    stranger = UserFactory()

    # then
    assert get_address_for_user(owner, address.pk) == address
    with pytest.raises(Http404):
        get_address_for_user(stranger, address.pk)
