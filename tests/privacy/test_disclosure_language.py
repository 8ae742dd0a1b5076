"""Disclosures are stored as codes and shown in the reader's language: a Malay customer reads
the payment disclosure in Malay; rows written before the codes are converted by the migration;
an unknown value is kept and shown as it was written."""

import importlib

import pytest
from django.apps import apps as django_apps

from privacy.models import Disclosure
from privacy.services import record_disclosure
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

CENTRE = "/account/privacy/"


def _payment_disclosure(customer) -> Disclosure:
    # as orders.services.payments writes it: English labels
    return record_disclosure(
        customer,
        recipient="Worldline",
        data_categories=["email address", "billing country", "customer number", "order amount"],
        purpose="Processing the card payment for your order",
        reference="IPM-0001",
    )


def test_a_disclosure_is_stored_as_codes():
    disclosure = _payment_disclosure(CustomerFactory())
    row = Disclosure.objects.values("category_codes", "purpose_code").get(pk=disclosure.pk)
    assert row == {
        "category_codes": "email_address,billing_country,customer_number,order_amount",
        "purpose_code": "card_payment",
    }


def test_a_malay_customer_reads_their_disclosures_in_malay(client):
    customer = CustomerFactory(preferred_language="ms")
    _payment_disclosure(customer)
    client.force_login(customer)
    client.cookies["django_language"] = "ms"
    html = client.get(CENTRE).content.decode()
    assert (
        "alamat e-mel, negara pengebilan, nombor pelanggan, amaun pesanan" in html
        and "Memproses pembayaran kad untuk pesanan anda" in html
    )
    assert "email address" not in html and "Processing the card payment" not in html
    # and in English, English
    client.cookies["django_language"] = "en"
    html = client.get(CENTRE).content.decode()
    assert "email address, billing country, customer number, order amount" in html


def test_an_unknown_value_is_kept_as_written():
    disclosure = record_disclosure(
        CustomerFactory(), recipient="Courier", data_categories=["parcel size"], purpose="Freight"
    )
    disclosure.refresh_from_db()
    assert (disclosure.data_categories, disclosure.purpose) == ("parcel size", "Freight")


def test_the_migration_turns_existing_english_rows_into_codes():
    customer = CustomerFactory()
    Disclosure.objects.bulk_create(
        [
            Disclosure(
                subject=customer,
                recipient="Worldline",
                category_codes="email address, billing country, order amount",
                purpose_code="Processing the card payment for your order",
            )
        ]
    )
    migration = importlib.import_module(
        "privacy.migrations.0008_erasure_breach_notice_disclosure_codes"
    )
    migration.disclosure_codes(django_apps, None)
    assert Disclosure.objects.values_list("category_codes", "purpose_code").get() == (
        "email_address,billing_country,order_amount",
        "card_payment",
    )
