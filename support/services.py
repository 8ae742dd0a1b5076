"""Every state change of customer service, one function per action. Views, admin, the inbound
email webhook and tasks call these; emails go through the outbox (`support.tasks`)."""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.roles import DATA_PROTECTION_OFFICER
from ipmart.core.audit import record_staff_change, save_with_trail
from ipmart.core.outbox import enqueue
from orders.models import Order
from privacy import vault
from privacy.intake import CleanFile
from privacy.models import AccessAction, DataRequestChannel, DataRequestKind
from privacy.services import log_access, open_data_request

from .attachments import blobs_deleted_on_failure, store_clean_file
from .models import (
    FINISHED_STATUSES,
    RESTRICTED_CATEGORIES,
    Attachment,
    AttachmentPreview,
    Category,
    FaqEntry,
    FaqTopic,
    InboundEmail,
    InboundStatus,
    Inquiry,
    Macro,
    Message,
    MessageChannel,
    MessageKind,
    Rating,
    Status,
)
from .targets import STATUTORY_DAYS, due_times

REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read over the phone
MAX_MESSAGE_CHARS = 10_000
EMAIL_HANDLER = "support.tasks.send_inquiry_email"


def new_reference() -> str:
    while True:
        chars = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
        reference = f"SUP-{chars[:4]}-{chars[4:]}"
        if not Inquiry.objects.filter(reference=reference).exists():
            return reference


def can_handle(user: User, inquiry: Inquiry) -> bool:
    """May this staff member read the thread? Privacy requests and complaints only for the data
    protection officer (and superusers)."""
    if not inquiry.is_restricted:
        return True
    return user.has_perm("support.handle_restricted_inquiry")


def _clean_body(body: str) -> str:
    body = (body or "").replace("\r\n", "\n").strip()
    if not body:
        raise ValidationError(_("Write a message."))
    if len(body) > MAX_MESSAGE_CHARS:
        raise ValidationError(
            _("A message can be at most %(n)s characters.") % {"n": MAX_MESSAGE_CHARS}
        )
    return body


EXTENSIONS = {"pdf": "pdf", "jpeg": "jpg", "png": "png"}


def store_attachments(message: Message, files: Iterable[CleanFile], stored: list[str]) -> None:
    """Keep the files that passed privacy.intake with the message: each encrypted in the vault
    with its PNG previews (blob first, then the row). `stored` collects the blobs' names so
    the caller deletes them if its transaction fails (`blobs_deleted_on_failure`)."""
    for index, clean in enumerate(files, start=1):
        blob, previews = store_clean_file(clean, stored)
        attachment = Attachment.objects.create(
            message=message,
            name=f"file-{index}.{EXTENSIONS[clean.kind]}",
            original_name=clean.original_name[:100],
            content_type=clean.content_type,
            size=clean.size,
            pages=clean.pages,
            file=blob,
        )
        AttachmentPreview.objects.bulk_create(
            [
                AttachmentPreview(attachment=attachment, page=page, file=preview)
                for page, preview in enumerate(previews, start=1)
            ]
        )


def shred_attachments(attachments: Iterable[Attachment]) -> int:
    """Crypto-shred the vault files (and previews) of `attachments` (rows of
    Attachment.objects, ideally with `previews__file` and `file` prefetched); the caller then
    deletes the rows (their inquiry). Returns how many attachments were shredded."""
    count = 0
    for attachment in attachments:
        files = [attachment.file, *(preview.file for preview in attachment.previews.all())]
        for vault_file in files:
            if vault_file is not None:
                vault.shred(vault_file)
        count += 1
    return count


def attachments_of(inquiries: QuerySet[Inquiry]) -> QuerySet[Attachment]:
    """The attachments of an Inquiry queryset, with their vault files, ready to shred."""
    return (
        Attachment.objects.filter(message__inquiry__in=inquiries)
        .select_related("file")
        .prefetch_related("previews__file")
        .order_by("id")
    )


def open_attachment_preview(
    preview: AttachmentPreview, *, acting_user: User, ip_address: str | None = None
) -> bytes:
    """An attachment's preview (PNG) for an agent, written to the access log. The caller has
    checked the permission. Raises ValidationError when the file was shredded and
    privacy.vault.VaultError when it does not authenticate (never partial bytes)."""
    if preview.file is None or preview.file.is_shredded:
        raise ValidationError(_("This file has been destroyed."))
    content = vault.read_bytes(preview.file)
    inquiry = preview.attachment.message.inquiry
    log_access(
        acting_user,
        action=AccessAction.VIEWED,
        target=inquiry,
        subject=inquiry.user,
        ip_address=ip_address,
        detail=(
            f"admin inquiry {inquiry.reference} attachment {preview.attachment_id} "
            f"preview page {preview.page}"
        ),
    )
    return content


def _notify(inquiry: Inquiry, kind: str, message: Message | None = None) -> None:
    enqueue(EMAIL_HANDLER, inquiry.pk, kind, message.pk if message else 0)


def submit_inquiry(
    *,
    user: User | None,
    email: str,
    name: str,
    category: str,
    subject: str,
    body: str,
    language: str,
    order: Order | None = None,
    attachments: Iterable[CleanFile] = (),
) -> Inquiry:
    """Open an inquiry with its first message and email the acknowledgement (reference, and for
    a guest the signed link). `user` is None for a guest. `order` must be the user's own.
    Privacy requests and complaints are routed to the data protection officer. `attachments`
    passed privacy.intake; they are encrypted into the vault (deleted again if this fails).
    Raises ValidationError for an empty or oversize message or someone else's order."""
    body = _clean_body(body)
    if order is not None and (user is None or order.user_id != user.pk):
        raise ValidationError(_("Choose one of your own orders."))
    with blobs_deleted_on_failure() as stored, transaction.atomic():
        return _submit_inquiry(
            user=user,
            email=email,
            name=name,
            category=category,
            subject=subject,
            body=body,
            language=language,
            order=order,
            attachments=attachments,
            stored=stored,
        )


def _submit_inquiry(
    *,
    user: User | None,
    email: str,
    name: str,
    category: str,
    subject: str,
    body: str,
    language: str,
    order: Order | None,
    attachments: Iterable[CleanFile],
    stored: list[str],
) -> Inquiry:
    now = timezone.now()
    first_due, resolution_due = due_times(category, now)
    inquiry = Inquiry.objects.create(
        reference=new_reference(),
        user=user,
        email=user.email if user is not None else email.strip(),
        name=(user.full_name if user is not None else name.strip())[:150],
        language=language if language in {"en", "ms"} else "en",
        category=category,
        order=order,
        subject=subject.strip()[:150],
        created_at=now,
        updated_at=now,
        first_response_due=first_due,
        resolution_due=resolution_due,
    )
    message = Message.objects.create(
        inquiry=inquiry,
        kind=MessageKind.CUSTOMER,
        channel=MessageChannel.WEB,
        author=user,
        body=body,
        created_at=now,
    )
    store_attachments(message, attachments, stored)
    if category in RESTRICTED_CATEGORIES:
        inquiry = route_inquiry_to_data_request(inquiry)
    _notify(inquiry, "acknowledgement")
    return inquiry


@transaction.atomic
def route_inquiry_to_data_request(inquiry: Inquiry) -> Inquiry:
    """Hand a privacy request or complaint to the data protection officer: it is assigned to an
    active member of the data protection officer role (the longest-serving one), or left
    unassigned for superusers when nobody holds the role, and its resolution is due within the
    statutory 21 days. Only staff with `support.handle_restricted_inquiry` can read it.

    When the inquiry belongs to a signed-in customer, it also opens the privacy app's data
    request (`privacy.services.open_data_request`, channel "customer_service", received when
    the inquiry was, so due 21 days later), linked from `Inquiry.data_request`, in the caller's
    transaction. Kind "complaint" for a complaint; "objection" for a privacy request: the form
    does not say which right is asked for, export and closure are opened only by the owner in
    the privacy centre (they need the password again and act at once), so the officer records it
    as the general objection/enquiry kind and reads the inquiry's text (in the details).
    A guest has no account for a data request to belong to: the inquiry is only routed, and the
    officer answers it in the thread. Calling this twice (or concurrently) opens one request:
    the inquiry row is locked and its one-to-one link is checked first."""
    inquiry = (
        Inquiry.objects.select_for_update(of=("self",)).select_related("user").get(pk=inquiry.pk)
    )
    officer = (
        User.objects.filter(is_active=True, is_staff=True, groups__name=DATA_PROTECTION_OFFICER)
        .order_by("date_joined", "pk")
        .first()
    )
    statutory_due = inquiry.created_at + datetime.timedelta(days=STATUTORY_DAYS)
    inquiry.assignee = officer
    inquiry.resolution_due = min(inquiry.resolution_due, statutory_due)
    fields = ["assignee", "resolution_due"]
    if inquiry.user is not None and inquiry.data_request_id is None:
        inquiry.data_request = open_data_request(
            inquiry.user,
            kind=(
                DataRequestKind.COMPLAINT
                if inquiry.category == Category.COMPLAINT
                else DataRequestKind.OBJECTION
            ),
            channel=DataRequestChannel.CUSTOMER_SERVICE,
            details=_data_request_details(inquiry),
            received_at=inquiry.created_at,
        )
        fields.append("data_request")
    inquiry.save(update_fields=fields)
    return inquiry


def _data_request_details(inquiry: Inquiry) -> str:
    first = inquiry.messages.filter(kind=MessageKind.CUSTOMER).order_by("created_at", "pk").first()
    body = first.body if first is not None else ""
    return f"Customer service inquiry {inquiry.reference}: {inquiry.subject}\n\n{body}"


def reply_as_customer(
    inquiry: Inquiry,
    *,
    body: str,
    author: User | None = None,
    channel: str = MessageChannel.WEB,
    attachments: Iterable[CleanFile] = (),
) -> Message:
    """Add the customer's reply to the thread, with its attachments (passed privacy.intake;
    encrypted into the vault, deleted again if this fails). A reply reopens a resolved, closed
    or waiting inquiry. Raises ValidationError for an empty or oversize message."""
    body = _clean_body(body)
    with blobs_deleted_on_failure() as stored, transaction.atomic():
        return _reply_as_customer(inquiry, body, author, channel, attachments, stored)


def _reply_as_customer(
    inquiry: Inquiry,
    body: str,
    author: User | None,
    channel: str,
    attachments: Iterable[CleanFile],
    stored: list[str],
) -> Message:
    inquiry = Inquiry.objects.select_for_update().get(pk=inquiry.pk)
    now = timezone.now()
    message = Message.objects.create(
        inquiry=inquiry,
        kind=MessageKind.CUSTOMER,
        channel=channel,
        author=author,
        body=body,
        created_at=now,
    )
    store_attachments(message, attachments, stored)
    inquiry.updated_at = now
    if inquiry.status != Status.NEW:
        inquiry.status = Status.OPEN
        inquiry.resolved_at = None
    inquiry.save(update_fields=["status", "updated_at", "resolved_at"])
    return message


def _check_agent(inquiry: Inquiry, acting_user: User) -> None:
    if not acting_user.has_perm("support.change_inquiry") or not can_handle(acting_user, inquiry):
        raise PermissionDenied


def _named(user: User | None) -> str:
    """A staff member in the audit trail: their account id, never their email."""
    return user.audit_repr if user is not None else ""


def _status_label(status: str) -> str:
    return str(Status(status).label) if status in Status.values else status


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
def rate_inquiry(inquiry: Inquiry, *, rating: str) -> Inquiry:
    """Record the customer's rating of a resolved inquiry (the last click counts). Raises
    ValidationError when the inquiry is not resolved or the rating is unknown."""
    if rating not in Rating.values:
        raise ValidationError(_("Choose one of the ratings."))
    inquiry = Inquiry.objects.select_for_update().get(pk=inquiry.pk)
    if inquiry.status not in FINISHED_STATUSES:
        raise ValidationError(_("This inquiry is open again; rate it when it is resolved."))
    inquiry.rating = rating
    inquiry.rated_at = timezone.now()
    inquiry.save(update_fields=["rating", "rated_at"])
    return inquiry


@transaction.atomic
def receive_email_reply(
    inquiry: Inquiry,
    *,
    provider_event_id: str,
    message_id: str,
    from_address: str,
    subject: str,
    text: str,
    attachments: Iterable[CleanFile] = (),
    refused: Iterable[tuple[str, str]] = (),
) -> InboundEmail | None:
    """Record an email sent to the thread's reply address. From the inquiry's own address it
    joins the thread (and reopens it) with its `attachments` (passed privacy.intake, encrypted
    into the vault); each of the `refused` ones ((name, reason): never stored) is noted on the
    thread for the agent ("attachment refused: reason"). From anyone else it is held for an
    agent and its attachments are not kept (a stranger's files never enter the vault; a note
    says how many). A provider event or Message-ID seen before changes nothing (returns None),
    nor does an empty text: an email with only attachments gets a placeholder text."""
    attachments, refused = list(attachments), list(refused)
    if InboundEmail.objects.filter(provider_event_id=provider_event_id).exists():
        return None
    if (
        message_id
        and InboundEmail.objects.filter(inquiry=inquiry, email_message_id=message_id).exists()
    ):
        return None
    text = (text or "").strip()[:MAX_MESSAGE_CHARS]
    if not text and (attachments or refused):
        text = "(email with attachments only)"
    if not text:
        return None
    from_address = from_address.strip()
    known = from_address.lower() == inquiry.email.lower()
    inbound = InboundEmail.objects.create(
        provider_event_id=provider_event_id[:200],
        email_message_id=message_id[:255],
        inquiry=inquiry,
        from_address=from_address,
        subject=subject[:255],
        body=text,
        status=InboundStatus.ADDED if known else InboundStatus.HELD,
    )
    notes = [f"Email attachment refused: {name}: {reason}" for name, reason in refused]
    if known:
        inbound.message = reply_as_customer(
            inquiry,
            body=text,
            author=inquiry.user,
            channel=MessageChannel.EMAIL,
            attachments=attachments,
        )
        inbound.save(update_fields=["message"])
    elif attachments or refused:
        notes = [
            f"Held email from another sender: its {len(attachments) + len(refused)} "
            "attachment(s) were not kept."
        ]
    for note in notes:
        Message.objects.create(
            inquiry=inquiry, kind=MessageKind.NOTE, channel=MessageChannel.EMAIL, body=note
        )
    return inbound


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


# --- FAQ and canned replies (admin) --------------------------------------------------------

FAQ_TOPIC_FIELDS = ["name", "name_ms", "position"]
FAQ_ENTRY_FIELDS = [
    "topic",
    "question",
    "answer",
    "question_ms",
    "answer_ms",
    "position",
    "is_published",
]
MACRO_FIELDS = ["name", "body", "body_ms", "sets_status", "position"]
# Long texts are shown shortened in the trail (the full text is the row itself).
_SHORT = {
    name: (lambda text: str(text)[:80]) for name in ("answer", "answer_ms", "body", "body_ms")
}


@transaction.atomic
def save_faq_topic(topic: FaqTopic, *, acting_user: User) -> FaqTopic:
    """Create or change a FAQ topic from admin; the staff audit trail gets old → new."""
    save_with_trail(topic, acting_user=acting_user, fields=FAQ_TOPIC_FIELDS)
    return topic


@transaction.atomic
def save_faq_entry(entry: FaqEntry, *, acting_user: User) -> FaqEntry:
    """Create or change a FAQ question and answer (publishing included), audited."""
    save_with_trail(entry, acting_user=acting_user, fields=FAQ_ENTRY_FIELDS, formatters=_SHORT)
    return entry


@transaction.atomic
def save_macro(macro: Macro, *, acting_user: User) -> Macro:
    """Create or change a canned reply, audited."""
    save_with_trail(macro, acting_user=acting_user, fields=MACRO_FIELDS, formatters=_SHORT)
    return macro


@transaction.atomic
def delete_support_content(obj: FaqTopic | FaqEntry | Macro, *, acting_user: User) -> None:
    """Delete a FAQ topic or entry or a canned reply from admin; the audit row keeps its
    name. Raises django.db.models.ProtectedError for a topic that still has entries."""
    record_staff_change(acting_user, obj, action="delete", detail=str(obj)[:300])
    obj.delete()
