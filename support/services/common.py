"""Shared pieces of the support services: references, who may handle an inquiry, message checks,
the email handler, audit names."""

from __future__ import annotations

import secrets

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from accounts.models import User
from ipmart.core.outbox import enqueue

from ..models import (
    Inquiry,
    Message,
    Status,
)

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


def _notify(inquiry: Inquiry, kind: str, message: Message | None = None) -> None:
    enqueue(EMAIL_HANDLER, inquiry.pk, kind, message.pk if message else 0)


def _check_agent(inquiry: Inquiry, acting_user: User) -> None:
    if not acting_user.has_perm("support.change_inquiry") or not can_handle(acting_user, inquiry):
        raise PermissionDenied


def _named(user: User | None) -> str:
    """A staff member in the audit trail: their account id, never their email."""
    return user.audit_repr if user is not None else ""


def _status_label(status: str) -> str:
    return str(Status(status).label) if status in Status.values else status
