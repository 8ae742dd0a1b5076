"""Reads that decide who may see what. Another customer's reference is a 404."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import User

from .models import Attachment, Inquiry, Message, MessageKind


def attachments_with_previews() -> Prefetch[str, QuerySet[Attachment]]:
    """A message's attachments with their previews (rows only: the files are in the vault)."""
    return Prefetch("attachments", queryset=Attachment.objects.prefetch_related("previews"))


def public_messages() -> QuerySet[Message]:
    """A thread as its customer sees it: never the internal notes."""
    return (
        Message.objects.exclude(kind=MessageKind.NOTE)
        .select_related("author")
        .prefetch_related(attachments_with_previews())
    )


def get_inquiry_for_customer(user: User, reference: str) -> Inquiry:
    return get_object_or_404(
        Inquiry.objects.for_customer(user)
        .select_related("order")
        .prefetch_related(
            Prefetch("messages", queryset=public_messages(), to_attr="public_messages")
        ),
        reference=reference,
    )


def inquiries_of_customer(user: User, *, limit: int = 50) -> list[Inquiry]:
    return list(Inquiry.objects.for_customer(user).order_by("-updated_at", "-id")[:limit])


def thread_for(inquiry: Inquiry) -> list[Message]:
    return list(public_messages().filter(inquiry=inquiry))


def get_attachment_of(inquiry: Inquiry, attachment_id: int) -> Attachment:
    """An attachment of one of the inquiry's public messages (a customer's own file), with its
    vault file; 404 for any other."""
    return get_object_or_404(
        Attachment.objects.select_related("file", "message__inquiry").exclude(
            message__kind=MessageKind.NOTE
        ),
        pk=attachment_id,
        message__inquiry=inquiry,
    )


def get_attachment_for_customer(user: User, reference: str, attachment_id: int) -> Attachment:
    """The customer's own attachment; another customer's reference or file is a 404."""
    inquiry = get_object_or_404(Inquiry.objects.for_customer(user), reference=reference)
    return get_attachment_of(inquiry, attachment_id)
