"""Closure and the text staff wrote: order notes, refund reasons, internal support notes, data
request answers, breach entries, the access log's detail, SMTP errors, admin change messages
and the staff audit trail can name the customer. After closure no text column of any table holds
their email, name, phone (in any spelling) or address lines, the append-only trails keep their
rows (who, what field, when) with the values erased, and another customer is untouched."""

import datetime

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from accounts.models import User
from ipmart.core.audit import ERASED, record_staff_change
from ipmart.core.erasure import PLACEHOLDER, Identifiers
from ipmart.core.models import OutboxMessage, StaffChange
from marketing.models import Delivery
from orders.models import Order, OrderEvent, Refund
from privacy.models import AccessAction, AccessLog, Breach, DataRequest
from privacy.rights import answer_data_request, close_account, list_affected_customers
from privacy.rights import record_breach as record_breach_service
from privacy.services import log_access
from support.models import Inquiry, Message, MessageKind
from tests.factories import StaffFactory
from tests.factories.personal_data import Person, customer_with_data_everywhere
from tests.privacy.test_closure import scan_every_table

pytestmark = pytest.mark.django_db


def staff_write_about(person: Person) -> dict:
    """Staff-written text naming `person` in every app, as staff really write it."""
    user, name, first = person.user, person.full_name, person.full_name.split()[0]
    digits = "".join(ch for ch in person.phone if ch.isdigit())
    local = "0" + digits[2:]  # 60 12-… as typed locally: 012…
    manager = StaffFactory(role="store manager")
    dpo = StaffFactory(role="data protection officer")
    order = Order.objects.get(number=person.order_numbers[0])
    OrderEvent.objects.create(
        order=order,
        kind="note",
        message=f"Spoke to {first} on {local}; delivery to {person.address_lines[0]} confirmed.",
        actor=manager,
    )
    Refund.objects.filter(order=order).update(
        reason=f"{name.upper()} ({person.email}) says the box was damaged"
    )
    inquiry = Inquiry.objects.get(user=user)
    Message.objects.create(
        inquiry=inquiry,
        kind=MessageKind.NOTE,
        channel="web",
        author=manager,
        body=f"Internal: {first} rang from {digits}, wants a call back.",
    )
    request = DataRequest.objects.get(user=user)
    answer_data_request(
        request,
        status="done",
        resolution=f"Dear {name}, we corrected the name; we still write to {person.email}.",
        acting_user=dpo,
    )
    breach = record_breach_service(
        summary=f"Mail to {person.email} went to the wrong customer",
        description=f"The parcel for {name} at {person.address_lines[1]} was opened.",
        data_categories="names, addresses",
        discovered_at=timezone.now() - datetime.timedelta(hours=2),
        acting_user=dpo,
        affected_models=["orders.Order"],
        measures=f"Called {person.phone}.",
    )
    list_affected_customers(breach)
    log_access(
        manager,
        action=AccessAction.VIEWED,
        target=order,
        subject=user,
        detail=f"phone call with {first} {person.email}"[:200],
    )
    Delivery.objects.filter(subscriber__user=user).update(
        error=f"550 5.1.1 <{person.email}>: mailbox unavailable"
    )
    enqueue_failed(f"SMTPRecipientsRefused: {{'{person.email}': (550, b'mailbox unavailable')}}")
    LogEntry.objects.create(
        user=manager,
        content_type=ContentType.objects.get_for_model(User),
        object_id=str(user.pk),
        object_repr=f"User {user.pk}",
        action_flag=CHANGE,
        change_message=f"Phone changed to {person.phone}",
    )
    # the audit trail: staff corrected the customer's name, phone and email, and an order's
    # delivery address; an unrelated field on the same row stays readable
    record_staff_change(
        manager,
        user,
        action="update",
        changes={
            "full_name": [f"{first} Typo", name],
            "phone": ["", person.phone],
            "email": ["old@example.com", person.email],
            "is_active": ["no", "yes"],
        },
    )
    record_staff_change(
        manager,
        order,
        action="update",
        changes={
            "shipping_address": ["", "\n".join(person.address_lines)],
            "status": ["paid", "shipped"],
        },
        detail=f"customer {name} asked by phone",
    )
    return {"digits": digits, "local": local, "first": first, "order": order}


def test_closure_removes_the_customer_from_every_text_staff_wrote(
    django_capture_on_commit_callbacks,
):
    # given a customer with data everywhere and staff text about them in every app
    person = customer_with_data_everywhere("cempaka")
    other = customer_with_data_everywhere("delima")
    extra = staff_write_about(person)
    needles = [*person.needles, extra["digits"], extra["local"]]
    assert len(scan_every_table(needles)) > 20
    trail_before = list(
        StaffChange.objects.order_by("pk").values_list(
            "pk", "at", "actor_id", "content_type_id", "object_id", "action"
        )
    )
    other_before = sorted(scan_every_table(other.needles))
    # when
    with django_capture_on_commit_callbacks(execute=True):
        close_account(person.user)
    # then no column of any table holds the customer, however the phone was spelt
    assert scan_every_table(needles) == []
    # and the texts still say what happened, with the identifiers replaced
    order = extra["order"]
    note = OrderEvent.objects.get(order=order, kind="note").message
    assert note == f"Spoke to {PLACEHOLDER} on {PLACEHOLDER}; delivery to {PLACEHOLDER} confirmed."
    assert Refund.objects.get(order=order).reason == (
        f"{PLACEHOLDER} ({PLACEHOLDER}) says the box was damaged"
    )
    breach = Breach.objects.get(summary__startswith="Mail to")
    assert breach.summary == f"Mail to {PLACEHOLDER} went to the wrong customer"
    assert breach.measures == f"Called {PLACEHOLDER}."
    # and the append-only trails keep every row: who, which record, which field, when
    assert (
        list(
            StaffChange.objects.order_by("pk").values_list(
                "pk", "at", "actor_id", "content_type_id", "object_id", "action"
            )
        )
        == trail_before
    )
    about_account = StaffChange.objects.filter(
        content_type=ContentType.objects.get_for_model(User),
        object_id=str(person.user.pk),
        changes__has_key="full_name",
    ).get()
    assert about_account.changes == {
        "full_name": [ERASED, ERASED],
        "phone": ["", ERASED],
        "email": ["old@example.com", ERASED],
        "is_active": ["no", "yes"],
    }
    about_order = StaffChange.objects.get(
        content_type=ContentType.objects.get_for_model(Order),
        object_id=str(order.pk),
        changes__has_key="shipping_address",
    )
    assert about_order.changes == {
        "shipping_address": ["", ERASED],
        "status": ["paid", "shipped"],
    }
    assert about_order.detail == ERASED
    access = AccessLog.objects.get(subject=person.user, detail=ERASED)
    assert (access.target_type, access.target_id) == ("orders.order", str(order.pk))
    # and the other customer is exactly as before
    assert sorted(scan_every_table(other.needles)) == other_before


def enqueue_failed(error: str) -> OutboxMessage:
    """An outbox message whose last run failed with `error` (it waits for its next try)."""
    return OutboxMessage.objects.create(
        handler="orders.tasks.send_order_email_task", args=[1, "paid"], attempts=1, last_error=error
    )


def test_closure_scrubs_the_customer_from_outbox_errors_and_leaves_other_errors_alone():
    # given failed outbox messages whose errors quote the customer, and one quoting another
    person = customer_with_data_everywhere("cempaka")
    other = customer_with_data_everywhere("delima")
    refused = enqueue_failed(
        f"SMTPRecipientsRefused: {{'{person.email.upper()}': (550, b'5.1.1 user unknown')}}"
    )
    named = enqueue_failed(f"ValueError: no state in the address of {person.full_name}")
    first_name_only = enqueue_failed(f"ValueError: {person.full_name.split()[0]} has no state")
    another = enqueue_failed(f"SMTPRecipientsRefused: {{'{other.email}': (550, b'full')}}")
    # when
    close_account(person.user)
    # then the customer's identifiers are gone from the errors, the rest of each error stays
    errors = dict(OutboxMessage.objects.values_list("pk", "last_error"))
    assert errors[refused.pk] == (
        f"SMTPRecipientsRefused: {{'{PLACEHOLDER}': (550, b'5.1.1 user unknown')}}"
    )
    assert errors[named.pk] == f"ValueError: no state in the address of {PLACEHOLDER}"
    # a first name alone may be anyone's; another customer's address is theirs
    assert errors[first_name_only.pk] == first_name_only.last_error
    assert errors[another.pk] == another.last_error


def test_another_customer_sharing_a_first_name_keeps_their_trail():
    # given two customers called Cempaka, and staff changing the second one's name
    person = customer_with_data_everywhere("cempaka")
    namesake = User.objects.create_user("namesake@example.com", full_name="Cempaka Rahman")
    manager = StaffFactory(role="store manager")
    kept = record_staff_change(
        manager, namesake, action="update", changes={"full_name": ["Cempaka R", "Cempaka Rahman"]}
    )
    # when the first closes their account
    close_account(person.user)
    # then the namesake's trail is untouched
    kept.refresh_from_db()
    assert kept.changes == {"full_name": ["Cempaka R", "Cempaka Rahman"]}


def test_identifiers_match_phones_in_any_spelling_and_name_parts_as_words():
    identifiers = Identifiers.from_values(
        ["aminah@example.com", "+60 12-345 6789", "12 Jalan Ampang"], names=["Aminah Ali"]
    )
    text = (
        "Aminah (AMINAH@example.com) rang from 012 345 6789 and 60123456789; "
        "quality checked at 12 jalan ampang, Ali said"
    )
    assert identifiers.redact(text) == (
        f"{PLACEHOLDER} ({PLACEHOLDER}) rang from {PLACEHOLDER} and {PLACEHOLDER}; "
        f"quality checked at {PLACEHOLDER}, {PLACEHOLDER} said"
    )
    # only the specific identifiers are looked for outside the person's own rows
    assert identifiers.without_name_parts().redact("Ali and Aminah Ali") == f"Ali and {PLACEHOLDER}"


# --- The database: the trail's one allowed change, and nothing else (PostgreSQL)

APP_ROLE = "ipmart_gap_privacy_test_app"


@pytest.fixture
def app_role(postgres):
    """A role like deploy/postgres/init-roles.sh's application role: rows only, owns nothing."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') "
            f"THEN CREATE ROLE {APP_ROLE} NOLOGIN NOINHERIT; END IF; END $$"
        )
        cursor.execute(
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON core_staffchange, privacy_accesslog "
            f"TO {APP_ROLE}"
        )
    yield APP_ROLE
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")
        cursor.execute(f"REVOKE ALL ON core_staffchange, privacy_accesslog FROM {APP_ROLE}")


def _as_app(sql: str, params=()):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {APP_ROLE}")
        cursor.execute(sql, params)
        return cursor.fetchone() if cursor.description else None


def test_the_application_role_cannot_change_the_trail_except_by_erasing_values(app_role):
    import json

    manager = StaffFactory(role="store manager")
    customer = User.objects.create_user("trail@example.com", full_name="Trail Person")
    change = record_staff_change(
        manager,
        customer,
        action="update",
        changes={"phone": ["0123", "0456"], "is_active": ["no", "yes"]},
        detail="asked by phone",
    )
    before = StaffChange.objects.filter(pk=change.pk).values().get()
    # a direct update or delete is refused, even with the erasing flag set by the role itself
    for sql in [
        "UPDATE core_staffchange SET action = 'x' WHERE id = %s",
        "UPDATE core_staffchange SET detail = '[erased]' WHERE id = %s",
        "DELETE FROM core_staffchange WHERE id = %s",
    ]:
        with pytest.raises(DatabaseError):
            _as_app(
                "SELECT set_config('ipmart.erasing_personal_values', 'on', true); " + sql,
                [change.pk],
            )
    # the erasing function refuses anything but the marker, a new field or a dropped one
    for forged in [
        {"phone": ["0123", "0999"], "is_active": ["no", "yes"]},
        {"phone": [ERASED, ERASED]},
        {"phone": [ERASED, ERASED], "is_active": ["no", "yes"], "role": ["", "superuser"]},
    ]:
        with pytest.raises(DatabaseError):
            _as_app(
                "SELECT core_staffchange_erase_values(%s, %s::jsonb, false, false)",
                [change.pk, json.dumps(forged)],
            )
    assert StaffChange.objects.filter(pk=change.pk).values().get() == before
    # and erasing values through it works for the application's role
    _as_app(
        "SELECT core_staffchange_erase_values(%s, %s::jsonb, true, false)",
        [change.pk, json.dumps({"phone": [ERASED, ERASED], "is_active": ["no", "yes"]})],
    )
    after = StaffChange.objects.filter(pk=change.pk).values().get()
    assert after == {
        **before,
        "changes": {"phone": [ERASED, ERASED], "is_active": ["no", "yes"]},
        "detail": ERASED,
    }


def test_the_application_role_can_only_erase_an_access_log_detail(app_role):
    manager = StaffFactory(role="store manager")
    customer = User.objects.create_user("log@example.com", full_name="Log Person")
    row = log_access(
        manager, action=AccessAction.VIEWED, target=customer, subject=customer, detail="x y"
    )
    before = AccessLog.objects.filter(pk=row.pk).values().get()
    for sql in [
        "UPDATE privacy_accesslog SET detail = '[erased]' WHERE id = %s",
        "UPDATE privacy_accesslog SET target_id = '0' WHERE id = %s",
        "DELETE FROM privacy_accesslog WHERE id = %s",
    ]:
        with pytest.raises(DatabaseError):
            _as_app(
                "SELECT set_config('ipmart.erasing_personal_values', 'on', true); " + sql,
                [row.pk],
            )
    assert AccessLog.objects.filter(pk=row.pk).values().get() == before
    assert _as_app("SELECT privacy_accesslog_erase_details(%s::bigint[])", [[row.pk]]) == (1,)
    assert AccessLog.objects.filter(pk=row.pk).values().get() == {**before, "detail": ERASED}
