"""What agents do (each writes the staff audit trail): reply, note, assign, change status, canned
replies, held emails."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from ipmart.core.audit import record_staff_change

from ..models import (
    FINISHED_STATUSES,
    InboundEmail,
    InboundStatus,
    Inquiry,
    Macro,
    Message,
    MessageChannel,
    MessageKind,
    Status,
)
from .common import _check_agent, _clean_body, _named, _notify, _status_label, can_handle
from .inquiries import reply_as_customer


@transaction.atomic
def reply_as_agent(
    inquiry: Inquiry, *, body: str, acting_user: User, status: str = Status.WAITING
) -> Message:
    """Answer the customer: the reply joins the thread, is emailed in the customer's language
    from the thread's reply address, and the inquiry moves to `status` (waiting on the customer
    unless a canned reply says otherwise; resolving also asks for a rating). Raises
    PermissionDenied for staff who may not handle it, ValidationError for an empty message."""
    _check_agent(inquiry, acting_user)
    body = _clean_body(body)
    inquiry = Inquiry.objects.select_for_update().get(pk=inquiry.pk)
    now = timezone.now()
    message = Message.objects.create(
        inquiry=inquiry,
        kind=MessageKind.AGENT,
        channel=MessageChannel.ADMIN,
        author=acting_user,
        body=body,
        created_at=now,
    )
    inquiry.first_responded_at = inquiry.first_responded_at or now
    inquiry.updated_at = now
    changes = {}
    if inquiry.assignee_id is None:
        inquiry.assignee = acting_user
        changes["assignee"] = ["", _named(acting_user)]
    inquiry.save(update_fields=["first_responded_at", "updated_at", "assignee"])
    # The reply's text is the thread's (erased with it); the trail names the message only.
    record_staff_change(
        acting_user, inquiry, action="reply", changes=changes, detail=f"message {message.pk}"
    )
    if status == Status.RESOLVED:
        # One email: the reply with the rating link under it.
        _notify(inquiry, "resolved", message)
    else:
        _notify(inquiry, "reply", message)
    if status != inquiry.status:
        _move(inquiry, status, acting_user=acting_user, notify=False)
    return message


@transaction.atomic
def add_internal_note(inquiry: Inquiry, *, body: str, acting_user: User) -> Message:
    """Write a note only staff see. Raises PermissionDenied, ValidationError."""
    _check_agent(inquiry, acting_user)
    note = Message.objects.create(
        inquiry=inquiry,
        kind=MessageKind.NOTE,
        channel=MessageChannel.ADMIN,
        author=acting_user,
        body=_clean_body(body),
    )
    record_staff_change(acting_user, inquiry, action="note", detail=f"message {note.pk}")
    return note


@transaction.atomic
def assign_inquiry(inquiry: Inquiry, *, assignee: User | None, acting_user: User) -> Inquiry:
    """Give the inquiry to `assignee` (a staff member who may handle it) or to nobody. Writes
    the staff audit row (assignee old → new, as account ids). Raises PermissionDenied,
    ValidationError (nothing changed)."""
    _check_agent(inquiry, acting_user)
    if assignee is not None and (not assignee.is_staff or not can_handle(assignee, inquiry)):
        raise ValidationError(_("This staff member cannot handle this inquiry."))
    inquiry = (
        Inquiry.objects.select_for_update(of=("self",))
        .select_related("assignee")
        .get(pk=inquiry.pk)
    )
    before = inquiry.assignee
    inquiry.assignee = assignee
    inquiry.save(update_fields=["assignee"])
    record_staff_change(
        acting_user,
        inquiry,
        action="update",
        changes={"assignee": [_named(before), _named(assignee)]} if before != assignee else {},
    )
    return inquiry


def _move(inquiry: Inquiry, status: str, *, acting_user: User, notify: bool = True) -> None:
    if status not in Status.values:
        raise ValidationError(_("Unknown status."))
    now = timezone.now()
    was_finished = inquiry.status in FINISHED_STATUSES
    record_staff_change(
        acting_user,
        inquiry,
        action="update",
        changes={"status": [_status_label(inquiry.status), _status_label(status)]},
    )
    inquiry.status = status
    inquiry.updated_at = now
    if status == Status.RESOLVED:
        inquiry.resolved_at = now
        if notify:  # resolved without a reply: the rating email goes alone
            _notify(inquiry, "resolved")
    elif status not in FINISHED_STATUSES:
        inquiry.resolved_at = None
        if was_finished:
            inquiry.rating, inquiry.rated_at = "", None
    inquiry.save(update_fields=["status", "updated_at", "resolved_at", "rating", "rated_at"])


@transaction.atomic
def change_inquiry_status(inquiry: Inquiry, *, status: str, acting_user: User) -> Inquiry:
    """Move the inquiry to `status` (resolve, reopen, close, wait on the customer). Resolving
    emails the customer a one-click rating link. Raises PermissionDenied, ValidationError."""
    _check_agent(inquiry, acting_user)
    inquiry = Inquiry.objects.select_for_update().get(pk=inquiry.pk)
    if status != inquiry.status:
        _move(inquiry, status, acting_user=acting_user)
    return inquiry


def resolve_inquiry(inquiry: Inquiry, *, acting_user: User) -> Inquiry:
    return change_inquiry_status(inquiry, status=Status.RESOLVED, acting_user=acting_user)


def reopen_inquiry(inquiry: Inquiry, *, acting_user: User) -> Inquiry:
    return change_inquiry_status(inquiry, status=Status.OPEN, acting_user=acting_user)


@transaction.atomic
def apply_macro(inquiry: Inquiry, macro: Macro, *, acting_user: User, body: str = "") -> Message:
    """Send a canned reply (its text in the customer's language, or `body` when the agent
    edited it) and set the status it names."""
    return reply_as_agent(
        inquiry,
        body=body or macro.body_in(inquiry.language),
        acting_user=acting_user,
        status=macro.sets_status or Status.WAITING,
    )


@transaction.atomic
def accept_held_email(inbound: InboundEmail, *, acting_user: User) -> InboundEmail:
    """An agent decided a held email belongs to the thread: add it as the customer's reply."""
    _check_agent(inbound.inquiry, acting_user)
    inbound = InboundEmail.objects.select_for_update().get(pk=inbound.pk)
    if inbound.status != InboundStatus.HELD:
        raise ValidationError(_("Only a held email can be added."))
    inbound.message = reply_as_customer(
        inbound.inquiry, body=inbound.body, author=None, channel=MessageChannel.EMAIL
    )
    inbound.status = InboundStatus.ACCEPTED
    inbound.save(update_fields=["message", "status"])
    record_staff_change(
        acting_user,
        inbound,
        action="update",
        changes={"status": [InboundStatus.HELD.label, InboundStatus.ACCEPTED.label]},
        detail=f"inquiry {inbound.inquiry.reference}",
    )
    return inbound


@transaction.atomic
def discard_held_email(inbound: InboundEmail, *, acting_user: User) -> InboundEmail:
    """An agent decided a held email does not belong to the thread."""
    _check_agent(inbound.inquiry, acting_user)
    updated = InboundEmail.objects.filter(pk=inbound.pk, status=InboundStatus.HELD).update(
        status=InboundStatus.DISCARDED
    )
    if not updated:
        raise ValidationError(_("Only a held email can be discarded."))
    inbound.refresh_from_db()
    record_staff_change(
        acting_user,
        inbound,
        action="update",
        changes={"status": [InboundStatus.HELD.label, InboundStatus.DISCARDED.label]},
        detail=f"inquiry {inbound.inquiry.reference}",
    )
    return inbound
