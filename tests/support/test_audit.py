"""Every staff change in customer service leaves one `core.StaffChange` row (issue 12): agents'
assignments, status changes, replies and notes, held emails, and FAQ and canned-reply edits in
admin. Refused actions leave none."""

import uuid

import pytest
from django.core.exceptions import PermissionDenied

from ipmart.core.audit import changes_for
from ipmart.core.models import StaffChange
from support import services
from support.models import (
    Category,
    FaqEntry,
    FaqTopic,
    InboundEmail,
    InboundStatus,
    Macro,
    MessageKind,
    Status,
)
from tests.factories import (
    FaqEntryFactory,
    FaqTopicFactory,
    InquiryFactory,
    MacroFactory,
    StaffFactory,
)

pytestmark = pytest.mark.django_db


def trail(obj) -> list[tuple]:
    return [
        (row.actor_id, row.action, row.changes, row.detail)
        for row in changes_for(obj).order_by("id")
    ]


def test_assign_status_reply_and_note_each_leave_a_row(agent, superuser):
    # given
    inquiry = InquiryFactory()

    # when
    services.assign_inquiry(inquiry, assignee=superuser, acting_user=agent)
    services.change_inquiry_status(inquiry, status=Status.OPEN, acting_user=agent)
    reply = services.reply_as_agent(
        inquiry, body="Sent again", acting_user=agent, status=Status.RESOLVED
    )
    note = services.add_internal_note(inquiry, body="Customer called", acting_user=agent)

    # then
    assert trail(inquiry) == [
        (agent.pk, "update", {"assignee": ["", f"account {superuser.pk}"]}, ""),
        (agent.pk, "update", {"status": ["New", "Open"]}, ""),
        (agent.pk, "reply", {}, f"message {reply.pk}"),
        (agent.pk, "update", {"status": ["Open", "Resolved"]}, ""),
        (agent.pk, "note", {}, f"message {note.pk}"),
    ]
    # the trail never holds the customer's or the agent's words
    assert "Sent again" not in str(trail(inquiry)) and "called" not in str(trail(inquiry))


def test_a_first_reply_that_assigns_the_agent_says_so(agent):
    inquiry = InquiryFactory()
    reply = services.reply_as_agent(inquiry, body="Hello", acting_user=agent)
    assert trail(inquiry) == [
        (agent.pk, "reply", {"assignee": ["", f"account {agent.pk}"]}, f"message {reply.pk}"),
        (agent.pk, "update", {"status": ["New", "Waiting on customer"]}, ""),
    ]


def test_refused_actions_leave_no_row(agent):
    complaint = InquiryFactory(category=Category.COMPLAINT)
    manager = StaffFactory(role="store manager")
    with pytest.raises(PermissionDenied):
        services.add_internal_note(complaint, body="x", acting_user=agent)
    with pytest.raises(PermissionDenied):
        services.change_inquiry_status(complaint, status=Status.CLOSED, acting_user=manager)
    assert StaffChange.objects.count() == 0
    assert complaint.messages.filter(kind=MessageKind.NOTE).count() == 0


def test_held_email_decisions_leave_a_row(agent):
    inquiry = InquiryFactory()
    held = [
        InboundEmail.objects.create(
            provider_event_id=str(uuid.uuid4()),
            inquiry=inquiry,
            from_address="other@example.com",
            body="Hello",
            status=InboundStatus.HELD,
        )
        for _ in range(2)
    ]
    services.accept_held_email(held[0], acting_user=agent)
    services.discard_held_email(held[1], acting_user=agent)
    detail = f"inquiry {inquiry.reference}"
    assert trail(held[0]) == [
        (
            agent.pk,
            "update",
            {"status": ["Held: sender is not the inquiry's customer", "Added by an agent"]},
            detail,
        )
    ]
    assert trail(held[1]) == [
        (
            agent.pk,
            "update",
            {"status": ["Held: sender is not the inquiry's customer", "Discarded by an agent"]},
            detail,
        )
    ]


# --- FAQ and canned replies through admin ------------------------------------------------


def test_a_canned_reply_edited_in_admin_is_audited_old_to_new(client, agent, superuser):
    # given
    macro = MacroFactory(name="Resend key", body="Old text", sets_status=Status.RESOLVED)
    client.force_login(superuser)

    # when
    response = client.post(
        f"/admin/support/macro/{macro.pk}/change/",
        {
            "name": "Resend key",
            "body": "New text",
            "body_ms": macro.body_ms,
            "sets_status": Status.WAITING,
            "position": 0,
        },
    )

    # then
    assert response.status_code == 302
    assert trail(macro) == [
        (
            superuser.pk,
            "update",
            {"body": ["Old text", "New text"], "sets_status": ["resolved", "waiting"]},
            "",
        )
    ]


def test_a_canned_reply_added_and_deleted_in_admin_is_audited(client, superuser):
    client.force_login(superuser)
    client.post(
        "/admin/support/macro/add/",
        {"name": "Thanks", "body": "Thank you", "body_ms": "", "sets_status": "", "position": 1},
    )
    macro = Macro.objects.get(name="Thanks")
    client.post(f"/admin/support/macro/{macro.pk}/delete/", {"post": "yes"})
    assert not Macro.objects.filter(pk=macro.pk).exists()
    assert [(row[1], row[3]) for row in trail(macro)] == [("create", ""), ("delete", "Thanks")]


def test_faq_entries_published_from_the_list_and_edited_inline_are_audited(client, superuser):
    # given
    topic = FaqTopicFactory(name="Keys", name_ms="Kunci")
    entry = FaqEntryFactory(topic=topic, is_published=False, position=0)
    client.force_login(superuser)

    # when: publish from the changelist (list_editable)
    client.post(
        "/admin/support/faqentry/",
        {
            "form-TOTAL_FORMS": 1,
            "form-INITIAL_FORMS": 1,
            "form-0-id": entry.pk,
            "form-0-position": 3,
            "form-0-is_published": "on",
            "_save": "Save",
        },
    )
    # and: rename the topic and add an entry on the topic page (inline)
    client.post(
        f"/admin/support/faqtopic/{topic.pk}/change/",
        {
            "name": "Licence keys",
            "name_ms": "Kunci",
            "position": 0,
            "entries-TOTAL_FORMS": 2,
            "entries-INITIAL_FORMS": 1,
            "entries-0-id": entry.pk,
            "entries-0-topic": topic.pk,
            "entries-0-question": entry.question,
            "entries-0-answer": entry.answer,
            "entries-0-question_ms": entry.question_ms,
            "entries-0-answer_ms": entry.answer_ms,
            "entries-0-position": 3,
            "entries-0-is_published": "on",
            "entries-1-topic": topic.pk,
            "entries-1-question": "Where is my key?",
            "entries-1-answer": "In your order page.",
            "entries-1-question_ms": "",
            "entries-1-answer_ms": "",
            "entries-1-position": 4,
        },
    )

    # then
    assert trail(entry) == [
        (
            superuser.pk,
            "update",
            {"is_published": ["no", "yes"], "position": ["0", "3"]},
            "",
        )
    ]
    assert trail(topic) == [(superuser.pk, "update", {"name": ["Keys", "Licence keys"]}, "")]
    new = FaqEntry.objects.get(question="Where is my key?")
    assert [row[:2] for row in trail(new)] == [(superuser.pk, "create")]
    assert FaqTopic.objects.get(pk=topic.pk).name == "Licence keys"


def test_an_agent_edits_faq_with_the_trail(client, agent):
    entry = FaqEntryFactory(answer="Old answer")
    services.save_faq_entry(entry, acting_user=agent)  # nothing changed: no row
    entry.answer = "New answer"
    services.save_faq_entry(entry, acting_user=agent)
    assert trail(entry) == [(agent.pk, "update", {"answer": ["Old answer", "New answer"]}, "")]
