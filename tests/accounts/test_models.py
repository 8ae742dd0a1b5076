"""The custom user (email is the login) and the address model's single-row rules."""

import pytest
from django.contrib.auth import authenticate
from django.db import IntegrityError, transaction

from accounts.models import Address, Language, User
from tests.factories.accounts import PASSWORD, AddressFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_email_is_the_login_and_there_is_no_username():
    # given the user model
    field_names = {field.name for field in User._meta.get_fields()}

    # then the email address identifies a person and no username field exists
    assert User.USERNAME_FIELD == "email"
    assert User.EMAIL_FIELD == "email"
    assert User.REQUIRED_FIELDS == ["full_name"]
    assert "username" not in field_names
    assert User._meta.get_field("email").unique is True


def test_create_user_normalises_the_email_to_lower_case_and_logs_in_with_it():
    # when a customer is created with a mixed-case email
    user = User.objects.create_user(
        "Aisyah.Rahman@Example.COM", PASSWORD, full_name="Aisyah Rahman"
    )

    # then the stored email is lower-case, the password is hashed, and the defaults apply
    user.refresh_from_db()
    assert user.email == "aisyah.rahman@example.com"
    assert user.password != PASSWORD
    assert user.check_password(PASSWORD) is True
    assert (user.is_staff, user.is_superuser, user.is_active) == (False, False, True)
    assert user.preferred_language == Language.ENGLISH
    assert user.phone == ""
    # and the email is what authenticates
    assert authenticate(None, email="aisyah.rahman@example.com", password=PASSWORD) == user
    assert authenticate(None, email="aisyah.rahman@example.com", password="wrong password") is None


def test_the_same_email_in_another_case_is_refused_by_the_database():
    # given a customer
    User.objects.create_user("aisyah@example.com", PASSWORD, full_name="Aisyah Rahman")

    # when someone is created with the same address in upper case
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user("AISYAH@EXAMPLE.COM", PASSWORD, full_name="Someone Else")

    # then there is still one account
    assert list(User.objects.values_list("email", flat=True)) == ["aisyah@example.com"]


def test_the_database_refuses_a_case_variant_even_past_the_manager():
    # given a customer
    User.objects.create_user("aisyah@example.com", PASSWORD, full_name="Aisyah Rahman")

    # when a row with the same address in other case is inserted directly
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(email="Aisyah@Example.com", full_name="Someone Else")

    # then
    assert list(User.objects.values_list("email", flat=True)) == ["aisyah@example.com"]


def test_full_clean_lower_cases_the_email():
    # given a user built by a form (not the manager)
    user = User(email="Nurul.Aina@Example.COM", full_name="Nurul Aina", password="!")

    # when
    user.full_clean()

    # then
    assert user.email == "nurul.aina@example.com"


def test_create_user_without_email_raises_and_creates_nothing():
    # when
    with pytest.raises(ValueError, match="An email address is required."):
        User.objects.create_user("", PASSWORD, full_name="Nobody")

    # then
    assert User.objects.count() == 0


def test_create_superuser_is_staff_and_superuser_even_if_asked_otherwise():
    # when
    admin = User.objects.create_superuser(
        "Root@IPmart.com.my", PASSWORD, full_name="Store Owner", is_staff=False, is_superuser=False
    )

    # then
    admin.refresh_from_db()
    assert admin.email == "root@ipmart.com.my"
    assert (admin.is_staff, admin.is_superuser, admin.is_active) == (True, True, True)
    assert admin.check_password(PASSWORD) is True


def test_str_and_names():
    # given
    user = UserFactory(email="nurul@example.com", full_name="Nurul Aina Binti Ahmad")
    nameless = UserFactory(email="anon@example.com", full_name="")

    # then
    assert str(user) == "nurul@example.com"
    assert user.get_full_name() == "Nurul Aina Binti Ahmad"
    assert user.get_short_name() == "Nurul"
    assert nameless.get_short_name() == "anon@example.com"


def test_address_lines_leave_out_empty_parts_and_name_the_country():
    # given
    address = AddressFactory(
        full_name="Nurul Aina",
        line1="8 Jalan Tun Razak",
        line2="",
        postcode="50400",
        city="Kuala Lumpur",
        state="",
        country="MY",
    )

    # then
    assert address.lines() == ["Nurul Aina", "8 Jalan Tun Razak", "50400 Kuala Lumpur", "Malaysia"]
    assert str(address) == f"Address {address.pk}"


def test_addresses_list_defaults_first_then_oldest():
    # given a customer with three addresses, the last one default for both
    user = UserFactory()
    first = AddressFactory(user=user)
    billing = AddressFactory(user=user, is_default_billing=True)
    shipping = AddressFactory(user=user, is_default_shipping=True)
    AddressFactory()  # someone else's

    # then the customer's own addresses come default shipping, default billing, then by age
    assert list(Address.objects.for_user(user)) == [shipping, billing, first]
