"""Agents in admin: the queue, the inquiry page (access log, thread, notes, orders, escaping),
replies with canned replies, assignment, resolve and reopen, restricted inquiries."""

import datetime
import re

import pytest
from django.core import mail
from django.utils import timezone

from orders.models import LicenceKeyStatus, OrderStatus
from privacy.models import AccessLog
from support.models import Category, Inquiry, Message, MessageKind, Status
from support.services import submit_inquiry
from support.tokens import reply_address
from tests.factories import (
    CustomerFactory,
    InquiryFactory,
    LicenceKeyFactory,
    MacroFactory,
    OrderFactory,
    OrderLineFactory,
)

pytestmark = pytest.mark.django_db

QUEUE = "/admin/support/inquiry/"


def page(inquiry) -> str:
    return f"/admin/support/inquiry/{inquiry.pk}/change/"


def form(inquiry, **changes):
    data = {
        "macro": "",
        "reply": "",
        "new_status": inquiry.status,
        "shown_status": inquiry.status,
        "new_assignee": inquiry.assignee_id or "",
        "note": "",
    }
    data.update(changes)
    return data


# --- the queue


def test_the_queue_shows_overdue_inquiries_first_and_marks_them(client, agent):
    # given
    now = timezone.now()
    later = InquiryFactory(
        subject="Due later", first_response_due=now + datetime.timedelta(hours=5)
    )
    overdue = InquiryFactory(
        subject="Overdue one", first_response_due=now - datetime.timedelta(hours=1)
    )
    InquiryFactory(subject="Resolved one", status=Status.RESOLVED)
    client.force_login(agent)

    # when
    html = client.get(QUEUE).content.decode()

    # then
    order = [html.index(s) for s in ("Overdue one", "Due later", "Resolved one")]
    assert order == sorted(order)
    assert "OVERDUE" in html
    assert later.reference in html and overdue.reference in html


def test_agents_see_that_a_privacy_request_exists_but_not_its_subject(client, agent, dpo):
    # given
    inquiry = InquiryFactory(category=Category.PRIVACY_REQUEST, subject="Delete my data please")

    # when
    client.force_login(agent)
    agent_queue = client.get(QUEUE).content.decode()
    agent_page = client.get(page(inquiry))
    agent_search = client.get(QUEUE, {"q": inquiry.email}).content.decode()
    client.force_login(dpo)
    dpo_queue = client.get(QUEUE).content.decode()
    dpo_page = client.get(page(inquiry))

    # then
    assert inquiry.reference in agent_queue and "Delete my data please" not in agent_queue
    assert "data protection officer only" in agent_queue
    assert agent_page.status_code == 403
    assert inquiry.reference not in agent_search
    assert "Delete my data please" in dpo_queue
    assert dpo_page.status_code == 200
    inquiry_pages = AccessLog.objects.filter(detail__startswith="admin inquiry")
    assert inquiry_pages.filter(actor=agent).count() == 0
    assert inquiry_pages.filter(actor=dpo).count() == 1


def test_a_privacy_request_is_routed_to_the_data_protection_officer_with_21_days(dpo):
    # when
    inquiry = submit_inquiry(
        user=None,
        email="x@example.com",
        name="X",
        category=Category.PRIVACY_REQUEST,
        subject="My data",
        body="Send me a copy",
        language="en",
    )

    # then
    assert inquiry.assignee == dpo
    assert inquiry.resolution_due - inquiry.created_at <= datetime.timedelta(days=21)
    assert inquiry.resolution_due - inquiry.created_at == datetime.timedelta(days=21)


# --- the inquiry page


def test_opening_an_inquiry_shows_thread_customer_and_orders_and_writes_the_access_log(
    client, agent
):
    # given
    customer = CustomerFactory(full_name="Aina Customer", phone="+60 12-345 6789")
    paid = OrderFactory(user=customer, status=OrderStatus.FULFILLED)
    line = OrderLineFactory(order=paid)
    LicenceKeyFactory(
        product=line.product,
        order_line=line,
        status=LicenceKeyStatus.ISSUED,
        key="SECRET-KEY-1",
    )
    unpaid = OrderFactory(user=customer)
    inquiry = InquiryFactory(user=customer, body="<img src=x onerror=alert(1)>")
    Message.objects.create(inquiry=inquiry, kind=MessageKind.NOTE, channel="admin", body="Note A")
    client.force_login(agent)

    # when
    response = client.get(page(inquiry))

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "<img src=x" not in html
    assert "Note A" in html and "+60 12-345 6789" in html
    assert paid.number in html and unpaid.number in html
    assert "SECRET-KEY-1" not in html  # keys issued: yes/no, never the key
    [row] = AccessLog.objects.all()
    assert (row.actor, row.subject, row.target_id) == (agent, customer, str(inquiry.pk))


def test_an_agent_replies_with_a_canned_reply_that_resolves_in_the_customers_language(
    client, agent, django_capture_on_commit_callbacks
):
    # given
    customer = CustomerFactory(preferred_language="ms")
    inquiry = InquiryFactory(user=customer, language="ms")
    macro = MacroFactory(sets_status=Status.RESOLVED)
    client.force_login(agent)

    # when: the macro is chosen and the reply left empty (no JavaScript)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(page(inquiry), form(inquiry, macro=macro.pk))

    # then
    assert response.status_code == 302
    inquiry.refresh_from_db()
    assert inquiry.status == Status.RESOLVED and inquiry.first_responded_at is not None
    assert inquiry.assignee == agent
    reply = inquiry.messages.get(kind=MessageKind.AGENT)
    assert reply.body == "Kunci anda telah dihantar semula."
    [email] = mail.outbox
    assert email.to == [customer.email] and email.reply_to == [reply_address(inquiry)]
    assert "Kunci anda telah dihantar semula." in email.body
    assert "/support/rate/" in email.body


def test_an_edited_reply_and_a_note_and_an_assignment_in_one_save(client, agent, superuser):
    # given
    inquiry = InquiryFactory()
    client.force_login(agent)

    # when
    client.post(
        page(inquiry),
        form(
            inquiry,
            reply="Please send the order number",
            note="Probably a duplicate",
            new_assignee=superuser.pk,
        ),
    )

    # then
    inquiry.refresh_from_db()
    assert inquiry.status == Status.WAITING
    assert inquiry.assignee == superuser
    kinds = list(inquiry.messages.values_list("kind", "body"))
    assert kinds[1:] == [
        (MessageKind.NOTE, "Probably a duplicate"),
        (MessageKind.AGENT, "Please send the order number"),
    ]


def test_a_note_is_never_emailed_or_shown_to_the_customer(
    client, agent, django_capture_on_commit_callbacks
):
    inquiry = InquiryFactory()
    client.force_login(agent)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(page(inquiry), form(inquiry, note="Internal only"))
    assert len(mail.outbox) == 0
    assert inquiry.messages.filter(kind=MessageKind.NOTE).count() == 1


def test_resolve_then_reopen(client, agent, django_capture_on_commit_callbacks):
    inquiry = InquiryFactory(status=Status.OPEN)
    client.force_login(agent)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(page(inquiry), form(inquiry, new_status=Status.RESOLVED))
    inquiry.refresh_from_db()
    assert inquiry.status == Status.RESOLVED and inquiry.resolved_at is not None
    assert "/support/rate/" in mail.outbox[-1].body
    client.post(page(inquiry), form(inquiry, new_status=Status.OPEN))
    inquiry.refresh_from_db()
    assert inquiry.status == Status.OPEN and inquiry.resolved_at is None


def test_the_agent_reply_is_escaped_on_the_customer_page(client, agent):
    customer = CustomerFactory()
    inquiry = InquiryFactory(user=customer)
    client.force_login(agent)
    client.post(page(inquiry), form(inquiry, reply="<script>x()</script>"))
    client.force_login(customer)
    html = client.get(f"/support/inquiries/{inquiry.reference}/").content.decode()
    assert "&lt;script&gt;x()&lt;/script&gt;" in html and "<script>x()" not in html


# --- who may open what (the authorisation matrix of the admin pages)

ROLES = {
    "anonymous": None,
    "customer": "customer",
    "support agent": "support agent",
    "data protection officer": "data protection officer",
    "store manager": "store manager",
    "verification reviewer": "verification reviewer",
    "superuser": "superuser",
}


def _login(client, who):
    from tests.factories import StaffFactory, enrolled_in_mfa

    if who == "anonymous":
        return None
    if who == "customer":
        user = CustomerFactory()
    elif who == "superuser":
        user = enrolled_in_mfa(StaffFactory(is_superuser=True))
    else:
        user = enrolled_in_mfa(StaffFactory(role=who))
    client.force_login(user)
    return user


ADMIN_EXPECTED = {
    # who: (queue, ordinary inquiry page, privacy request page, canned replies, FAQ, inbound)
    "anonymous": (302, 302, 302, 302, 302, 302),
    "customer": (302, 302, 302, 302, 302, 302),
    "support agent": (200, 200, 403, 200, 200, 200),
    "data protection officer": (200, 200, 200, 200, 403, 200),
    "store manager": (403, 403, 403, 403, 403, 403),
    "verification reviewer": (403, 403, 403, 403, 403, 403),
    "superuser": (200, 200, 200, 200, 200, 200),
}


@pytest.mark.parametrize("who", list(ADMIN_EXPECTED))
def test_admin_pages_by_role(client, who):
    # given
    ordinary = InquiryFactory()
    restricted = InquiryFactory(category=Category.COMPLAINT)
    _login(client, who)

    # when
    codes = tuple(
        client.get(url).status_code
        for url in (
            QUEUE,
            page(ordinary),
            page(restricted),
            "/admin/support/macro/",
            "/admin/support/faqentry/",
            "/admin/support/inboundemail/",
        )
    )

    # then
    assert codes == ADMIN_EXPECTED[who]


@pytest.mark.parametrize("who", ["store manager", "verification reviewer", "customer"])
def test_staff_without_the_role_cannot_reply(client, who):
    inquiry = InquiryFactory()
    _login(client, who)
    response = client.post(page(inquiry), form(inquiry, reply="hijack", new_status="closed"))
    assert response.status_code in {302, 403}
    inquiry.refresh_from_db()
    assert inquiry.status == Status.NEW and inquiry.messages.count() == 1


def test_an_agent_cannot_answer_a_complaint(client, agent):
    inquiry = InquiryFactory(category=Category.COMPLAINT)
    client.force_login(agent)
    response = client.post(page(inquiry), form(inquiry, reply="hi", new_status="closed"))
    assert response.status_code == 403
    inquiry.refresh_from_db()
    assert inquiry.status == Status.NEW and inquiry.messages.count() == 1


# --- fixed number of queries


def _bulk(n: int, customer) -> None:
    now = timezone.now()
    Inquiry.objects.bulk_create(
        [
            Inquiry(
                reference=f"SUP-B{n:03d}-{i:04d}"[:14],
                user=customer if i % 2 else None,
                email=f"bulk{i}@example.com",
                category=[Category.ORDER, Category.BILLING, Category.COMPLAINT][i % 3],
                subject=f"Bulk {i}",
                status=[Status.NEW, Status.OPEN, Status.WAITING, Status.RESOLVED][i % 4],
                first_response_due=now + datetime.timedelta(hours=i % 50 - 25),
                resolution_due=now + datetime.timedelta(hours=i % 90),
                created_at=now - datetime.timedelta(hours=i % 200),
            )
            for i in range(n)
        ]
    )


def _queries(client, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_the_queue_and_the_inquiry_page_run_the_same_queries_at_10_and_1000(client, agent):
    # given
    customer = CustomerFactory()
    for _ in range(3):
        OrderFactory(user=customer)
    inquiry = InquiryFactory(user=customer)
    MacroFactory()
    client.force_login(agent)
    _bulk(10, customer)
    # the first requests also fill per-process and per-session caches: warm them, then count
    _queries(client, QUEUE), _queries(client, page(inquiry))
    small = (_queries(client, QUEUE), _queries(client, page(inquiry)))

    # when
    _bulk(990, customer)
    for _ in range(30):
        OrderFactory(user=customer)
    large = (_queries(client, QUEUE), _queries(client, page(inquiry)))

    # then
    assert Inquiry.objects.count() == 1001
    assert small == large
    assert re.search(r"\d", str(small))


def test_bulk_resolve_skips_what_the_agent_may_not_handle(client, agent):
    # given
    ordinary = [InquiryFactory(status=Status.OPEN) for _ in range(2)]
    complaint = InquiryFactory(category=Category.COMPLAINT, status=Status.OPEN)
    client.force_login(agent)

    # when
    response = client.post(
        QUEUE,
        {
            "action": "resolve_selected",
            "_selected_action": [i.pk for i in [*ordinary, complaint]],
            "index": 0,
        },
        follow=True,
    )

    # then
    assert "2 inquiries changed, 1 skipped" in response.content.decode()
    statuses = dict(Inquiry.objects.values_list("pk", "status"))
    assert [statuses[i.pk] for i in ordinary] == [Status.RESOLVED, Status.RESOLVED]
    assert statuses[complaint.pk] == Status.OPEN


def test_assign_to_me(client, agent):
    inquiry = InquiryFactory()
    client.force_login(agent)
    client.post(QUEUE, {"action": "assign_to_me", "_selected_action": [inquiry.pk], "index": 0})
    inquiry.refresh_from_db()
    assert inquiry.assignee == agent


def test_html_in_a_subject_is_escaped_in_the_queue(client, agent):
    InquiryFactory(subject='<img src=x onerror="alert(1)">')
    client.force_login(agent)
    html = client.get(QUEUE).content.decode()
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html


def test_a_note_on_a_stale_page_does_not_undo_the_customers_reopening(client, agent):
    # given the agent's page showed "waiting", then the customer answered (reopened)
    inquiry = InquiryFactory(status=Status.WAITING)
    stale = form(inquiry, note="Checked the logs")
    Inquiry.objects.filter(pk=inquiry.pk).update(status=Status.OPEN)
    client.force_login(agent)

    # when the agent saves a note without touching the status
    client.post(page(inquiry), stale)

    # then
    inquiry.refresh_from_db()
    assert inquiry.status == Status.OPEN
    assert inquiry.messages.filter(kind=MessageKind.NOTE).count() == 1
