"""Close my account: afterwards no text column of any table holds the customer's email, name,
phone or address lines; orders remain and add up; the account cannot log in; its sessions and
MFA devices are gone; a final email went to the old address; the address can sign up again."""

import pytest
from allauth.mfa.models import Authenticator
from django.contrib.sessions.models import Session
from django.core import mail
from django.db import connection
from django.db.models import F, Sum

from accounts.models import User
from marketing.models import ConsentAction, ConsentMethod, ConsentRecord, Subscription
from marketing.services import is_suppressed, subscribe_topic
from orders.models import LicenceKey, Order
from privacy.models import AccountClosure, ClosureNotice, DataRequest
from privacy.rights import DataRightsError, close_account
from privacy.services import get_current_policy
from tests.factories import CustomerFactory, OrderFactory
from tests.factories.accounts import PASSWORD
from tests.factories.marketing import topic as marketing_topic
from tests.factories.personal_data import customer_with_data_everywhere, login_session

pytestmark = pytest.mark.django_db


def scan_every_table(needles: list[str]) -> list[str]:
    """Every (table.column: needle) where a text value of any row of any table contains one of
    the needles, case-insensitively. Reads raw rows, so JSON and history columns count too."""
    lowered = [needle.lower() for needle in needles]
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"SELECT * FROM {quoted}")  # noqa: S608 (table names from the database)
            columns = [column[0] for column in cursor.description]
            for row in cursor.fetchall():
                for column, value in zip(columns, row, strict=True):
                    if isinstance(value, memoryview | bytes):
                        value = bytes(value).decode("utf-8", "replace")
                    if not isinstance(value, str):
                        value = str(value) if isinstance(value, dict | list) else None
                    if value is None:
                        continue
                    text = value.lower()
                    found += [f"{table}.{column}: {needle}" for needle in lowered if needle in text]
    return found


def test_the_scan_finds_the_person_before_closure():
    person = customer_with_data_everywhere("melati")
    hits = scan_every_table(person.needles)
    assert any(hit.startswith("accounts_user.email") for hit in hits)
    assert any(hit.startswith("accounts_address.line1") for hit in hits)
    assert any(hit.startswith("orders_order.billing_address") for hit in hits)
    assert any(hit.startswith("orders_webhookevent.payload") for hit in hits)
    assert any(hit.startswith("privacy_datarequest.details") for hit in hits)
    assert any(hit.startswith("django_admin_log.object_repr") for hit in hits)


def test_after_closure_no_table_holds_the_person_and_the_books_still_add_up(
    client, django_capture_on_commit_callbacks
):
    # given a customer with data everywhere, and another customer who stays
    person = customer_with_data_everywhere("kenanga")
    other = customer_with_data_everywhere("seroja")
    totals_before = Order.objects.aggregate(total=Sum("total_sen"), tax=Sum("tax_sen"))
    orders_before = Order.objects.count()
    keys_before = list(
        LicenceKey.objects.filter(order_line__order__user=person.user).values_list("key", "status")
    )
    assert Session.objects.count() == 2
    # when
    with django_capture_on_commit_callbacks(execute=True):
        close_account(person.user)
    # then the person is nowhere, in any column of any table
    assert scan_every_table(person.needles) == []
    # and the other customer is untouched
    assert len(scan_every_table(other.needles)) > 5
    # and the orders remain, add up, and keep their keys
    assert Order.objects.count() == orders_before
    assert Order.objects.aggregate(total=Sum("total_sen"), tax=Sum("tax_sen")) == totals_before
    assert not Order.objects.exclude(total_sen=F("subtotal_sen") + F("tax_sen")).exists()
    assert (
        list(
            LicenceKey.objects.filter(order_line__order__user=person.user).values_list(
                "key", "status"
            )
        )
        == keys_before
    )
    # and sessions and MFA devices are gone, the account is inactive with no usable password
    user = User.objects.get(pk=person.user.pk)
    assert (user.is_active, user.has_usable_password(), user.full_name) == (False, False, "")
    assert not Authenticator.objects.filter(user=user).exists()
    assert Session.objects.count() == 1  # the other customer's
    # and a final email went to the old address; the address itself was then forgotten
    assert [message.to for message in mail.outbox] == [[person.email]]
    assert "closed" in mail.outbox[0].subject
    assert ClosureNotice.objects.count() == 0
    # and the closure is recorded as a handled request
    closure = AccountClosure.objects.get(user=user)
    assert DataRequest.objects.get(pk=closure.request_id).status == "done"


def test_the_closed_account_cannot_log_in_and_the_email_signs_up_afresh(
    client, django_capture_on_commit_callbacks
):
    # given
    person = customer_with_data_everywhere("teratai")
    with django_capture_on_commit_callbacks(execute=True):
        close_account(person.user)
    # when they try to log in
    response = client.post("/accounts/login/", {"login": person.email, "password": PASSWORD})
    # then they cannot
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    # when the address signs up again
    response = client.post(
        "/accounts/signup/",
        {
            "full_name": "Teratai Baru",
            "email": person.email,
            "password1": "a-brand-new-password-2027",
            "password2": "a-brand-new-password-2027",
            "accept_privacy_policy": "on",
            "policy_id": get_current_policy().pk,
        },
    )
    # then a new customer exists, with none of the old orders
    assert response.status_code == 302
    fresh = User.objects.get(email=person.email)
    assert fresh.pk != person.user.pk
    assert not Order.objects.filter(user=fresh).exists()
    # and the suppression list still keeps the old address out of promotional email
    assert is_suppressed(person.email)


def test_closure_withdraws_marketing_and_suppresses_the_address(django_capture_on_commit_callbacks):
    # given a customer subscribed to a topic (nothing suppressed yet)
    customer = CustomerFactory()
    subscribe_topic(customer, topic=marketing_topic("new-products"))
    email = customer.email
    assert not is_suppressed(email)
    # when the account is closed
    with django_capture_on_commit_callbacks(execute=True):
        close_account(customer)
    # then the withdrawal is in the ledger as "account closure" and the address is suppressed
    withdrawn = ConsentRecord.objects.get(action=ConsentAction.WITHDRAWN)
    assert withdrawn.method == ConsentMethod.ACCOUNT_CLOSURE
    assert is_suppressed(email)
    assert not Subscription.objects.exists()


def test_an_order_awaiting_payment_blocks_closure_and_nothing_changes():
    customer = CustomerFactory()
    login_session(customer)
    OrderFactory(user=customer)  # pending payment
    with pytest.raises(DataRightsError, match="waiting for payment"):
        close_account(customer)
    customer.refresh_from_db()
    assert customer.is_active and customer.has_usable_password()
    assert Session.objects.count() == 1
    assert not DataRequest.objects.exists() and not AccountClosure.objects.exists()


def test_an_app_failing_during_closure_rolls_every_app_back(monkeypatch):
    from privacy import personal_data

    person = customer_with_data_everywhere("anggerik")

    def broken(user):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(personal_data, "erase_user", broken)
    with pytest.raises(RuntimeError):
        close_account(person.user)
    assert len(scan_every_table([person.email])) > 3
    assert User.objects.get(pk=person.user.pk).is_active


def test_closing_twice_is_refused():
    customer = CustomerFactory()
    close_account(customer)
    with pytest.raises(DataRightsError):
        close_account(customer)


def test_apps_after_accounts_still_see_the_old_email_while_erasing(monkeypatch):
    """Marketing (after accounts in INSTALLED_APPS) suppresses the old address in its own
    erase_user: the user object it gets still carries it."""
    from privacy import personal_data

    person = customer_with_data_everywhere("kantan")
    seen = []
    original = personal_data.erase_user
    monkeypatch.setattr(
        personal_data, "erase_user", lambda user: seen.append(user.email) or original(user)
    )
    close_account(person.user)
    assert seen == [person.email]
    assert User.objects.get(pk=person.user.pk).email.endswith("@closed.invalid")


def test_closure_crypto_shreds_the_persons_support_attachments(django_capture_on_commit_callbacks):
    # given: the person attached a file to an inquiry (encrypted in the vault, with a preview)
    from privacy import vault
    from privacy.models import VaultFile
    from support.models import Attachment, AttachmentPreview

    person = customer_with_data_everywhere("teratai")
    other = customer_with_data_everywhere("mawar")
    mine = Attachment.objects.filter(message__inquiry__user=person.user)
    file_ids = [
        *mine.values_list("file_id", flat=True),
        *AttachmentPreview.objects.filter(attachment__in=mine).values_list("file_id", flat=True),
    ]
    assert len(file_ids) == 2
    names = list(VaultFile.objects.filter(pk__in=file_ids).values_list("storage_name", flat=True))
    storage = vault.document_storage()
    assert all(storage.exists(name) for name in names)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        close_account(person.user)
    # then the keys are forgotten and the blobs deleted; the other customer's file is untouched
    shredded = VaultFile.objects.filter(pk__in=file_ids)
    assert [(f.is_shredded, bytes(f.wrapped_key)) for f in shredded] == [(True, b"")] * 2
    assert not any(storage.exists(name) for name in names)
    assert Attachment.objects.filter(message__inquiry__user=person.user).count() == 0
    theirs = Attachment.objects.get(message__inquiry__user=other.user)
    assert vault.read_bytes(theirs.file).startswith(b"\x89PNG")
