"""Reads that decide who may see what. Another customer's reference is a 404."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import User

from .models import Attachment, Inquiry, Message, MessageKind


def attachments_without_data() -> Prefetch[str, QuerySet[Attachment]]:
    return Prefetch("attachments", queryset=Attachment.objects.defer("data"))


def public_messages() -> QuerySet[Message]:
    """A thread as its customer sees it: never the internal notes."""
    return (
        Message.objects.exclude(kind=MessageKind.NOTE)
        .select_related("author")
        .prefetch_related(attachments_without_data())
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
