"""`manage.py seed_demo`: the demo people, idempotent, and never on a store with DEBUG off unless
asked for explicitly."""

from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from accounts import roles
from accounts.management.commands.seed_demo import CUSTOMER, DEMO_PASSWORD, STAFF
from accounts.models import Address, User
from privacy.models import PolicyAcceptance
from privacy.services import get_current_policy

pytestmark = pytest.mark.django_db

EMAILS = {
    "customer@demo.ipmart.test",
    "reviewer@demo.ipmart.test",
    "support@demo.ipmart.test",
    "marketing@demo.ipmart.test",
    "manager@demo.ipmart.test",
    "dpo@demo.ipmart.test",
}


def seed(**options) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


def test_seeding_twice_leaves_six_verified_people_in_their_roles(settings):
    # given a development store
    settings.DEBUG = True

    # when the command runs twice
    seed()
    output = seed()

    # then exactly the six demo people exist, each with one verified primary email
    assert set(User.objects.values_list("email", flat=True)) == EMAILS
    assert User.objects.count() == 6
    assert set(EmailAddress.objects.values_list("email", "verified", "primary")) == {
        (email, True, True) for email in EMAILS
    }
    assert EmailAddress.objects.count() == 6
    # and each staff member is staff, in exactly their role's group, with the demo password
    for email, name, role in STAFF:
        person = User.objects.get(email=email)
        assert (person.full_name, person.is_staff, person.is_superuser) == (name, True, False)
        assert list(person.groups.values_list("name", flat=True)) == [role]
        assert person.check_password(DEMO_PASSWORD) is True
    # and the customer is a customer with one address and the current policy accepted once
    customer = User.objects.get(email=CUSTOMER[0])
    assert (customer.full_name, customer.is_staff, customer.groups.count()) == (
        "Aisyah Rahman",
        False,
        0,
    )
    address = Address.objects.get(user=customer)
    assert (address.line1, address.is_default_billing, address.is_default_shipping) == (
        "12 Jalan Bukit Bintang",
        True,
        True,
    )
    acceptance = PolicyAcceptance.objects.get()
    assert (acceptance.user, acceptance.policy, acceptance.method) == (
        customer,
        get_current_policy(),
        "signup",
    )
    # and the logins are printed
    assert "Demo logins (password for all: demo-password-2026)" in output
    assert all(email in output for email in EMAILS)


def test_seeding_again_does_not_reset_what_the_demo_people_changed(settings):
    # given a seeded store where the customer changed their password and a role was changed
    settings.DEBUG = True
    seed()
    customer = User.objects.get(email=CUSTOMER[0])
    customer.set_password("my own new passphrase")
    customer.save()
    support = User.objects.get(email="support@demo.ipmart.test")
    support.groups.add(Group.objects.get(name=roles.STORE_MANAGER))

    # when
    seed()

    # then the password stays; the staff member's groups are the demo role again
    customer.refresh_from_db()
    assert customer.check_password("my own new passphrase") is True
    assert list(support.groups.values_list("name", flat=True)) == [roles.SUPPORT_AGENT]


def test_seeding_with_debug_off_is_refused_and_creates_nothing(settings):
    # given a store with DEBUG off (as in production)
    settings.DEBUG = False
    users = User.objects.count()

    # when / then
    with pytest.raises(CommandError, match="Demo users have known passwords"):
        seed()
    assert User.objects.count() == users == 0
    assert EmailAddress.objects.count() == 0
    assert PolicyAcceptance.objects.count() == 0


def test_seeding_with_debug_off_works_when_explicitly_allowed(settings):
    # given
    settings.DEBUG = False

    # when
    seed(allow_production=True)

    # then
    assert set(User.objects.values_list("email", flat=True)) == EMAILS
