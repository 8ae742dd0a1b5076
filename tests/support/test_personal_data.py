"""Whose inquiries are whose at export and closure: the account's own, and guest inquiries
(sent without signing in) from an email address the account verified; not those from an address
it never verified, nor anyone else's."""

import pytest
from allauth.account.models import EmailAddress

from privacy.rights import close_account
from support import personal_data
from support.models import Inquiry, Message
from tests.factories import CustomerFactory, InquiryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def inquiries():
    """A customer with a second verified address and an unverified one, and inquiries: their
    own, guest ones from each address, and another customer's guest one."""
    customer = CustomerFactory(email="aina@example.com")
    EmailAddress.objects.create(user=customer, email="aina.work@example.com", verified=True)
    EmailAddress.objects.create(user=customer, email="not-yet-aina@example.com", verified=False)
    other = CustomerFactory(email="budi@example.com")
    made = {
        "own": InquiryFactory(user=customer),
        "guest, primary address": InquiryFactory(email="Aina@Example.COM", body="From Aina"),
        "guest, second address": InquiryFactory(email="aina.work@example.com"),
        "guest, unverified address": InquiryFactory(email="not-yet-aina@example.com"),
        "another customer's guest": InquiryFactory(email=other.email),
        "a stranger's": InquiryFactory(email="stranger@example.com"),
    }
    return customer, made


THEIRS = ["own", "guest, primary address", "guest, second address"]
NOT_THEIRS = ["guest, unverified address", "another customer's guest", "a stranger's"]


def test_guest_inquiries_from_a_verified_address_are_the_persons(inquiries):
    customer, made = inquiries
    assert set(personal_data.inquiries_of(customer)) == {made[kind] for kind in THEIRS}


def test_the_export_holds_the_guest_inquiries_from_their_verified_addresses(inquiries):
    customer, made = inquiries
    exported = personal_data.export_user(customer)
    assert sorted(row["reference"] for row in exported["Inquiry"]) == sorted(
        made[kind].reference for kind in THEIRS
    )
    assert "From Aina" in [row["body"] for row in exported["Message"]]


def test_closure_erases_the_guest_inquiries_from_their_verified_addresses_and_no_other(
    inquiries, django_capture_on_commit_callbacks
):
    customer, made = inquiries
    kept = {made[kind].pk for kind in NOT_THEIRS}
    kept_messages = set(Message.objects.filter(inquiry__in=kept).values_list("pk", flat=True))
    # when
    with django_capture_on_commit_callbacks(execute=True):
        close_account(customer)
    # then their inquiries and messages are gone, everyone else's are all there
    assert set(Inquiry.objects.values_list("pk", flat=True)) == kept
    assert set(Message.objects.values_list("pk", flat=True)) == kept_messages
