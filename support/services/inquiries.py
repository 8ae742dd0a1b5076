"""What customers, guests and their emails do: open an inquiry, reply (web or email, with
attachments), rate; routing privacy requests and complaints to the data protection officer."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.roles import DATA_PROTECTION_OFFICER
from orders.models import Order
from privacy.intake import CleanFile
from privacy.models import DataRequestChannel, DataRequestKind
from privacy.services import open_data_request

from ..attachments import blobs_deleted_on_failure
from ..models import (
    FINISHED_STATUSES,
    RESTRICTED_CATEGORIES,
    Category,
    InboundEmail,
    InboundStatus,
    Inquiry,
    Message,
    MessageChannel,
    MessageKind,
    Rating,
    Status,
)
from ..targets import STATUTORY_DAYS, due_times
from .common import MAX_MESSAGE_CHARS, _clean_body, _notify, new_reference
from .files import store_attachments


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
