"""What support holds about a person (discovered by privacy.registry).

Whose inquiries are whose: those of the account, and guest inquiries (sent without signing in,
so linked to no account) from one of the account's *verified* email addresses. The account
proved it holds that mailbox, so what was written from it is the person's: exported with the
account and erased with it. An address the account never verified proves nothing (it may be
someone else's), so a guest inquiry from it stays; it goes by retention like any other."""

from allauth.account.models import EmailAddress
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from .models import (
    Attachment,
    AttachmentPreview,
    InboundEmail,
    Inquiry,
    Message,
    MessageKind,
    Notification,
)

# One entry per model holding personal data.
DECLARATIONS = [
    {
        "model": "support.Inquiry",
        "fields": ["reference", "name", "email", "language", "category", "subject", "rating"],
        "category": _("Messages to Customer Service"),
        "on_closure": "erase",
        "keep_reason": "",
        "retention_setting": "SUPPORT_RETENTION_DAYS",
    },
    {
        "model": "support.Message",
        "fields": ["body", "created_at"],
        "category": _("Messages to Customer Service"),
        "on_closure": "erase",
        "keep_reason": "",
        "retention_setting": "SUPPORT_RETENTION_DAYS",
    },
    {
        # The file itself is in the vault (encrypted); closure and retention crypto-shred it.
        "model": "support.Attachment",
        "fields": ["name", "original_name", "content_type", "size", "pages", "created_at"],
        "category": _("Messages to Customer Service"),
        "on_closure": "erase",
        "keep_reason": "",
        "retention_setting": "SUPPORT_RETENTION_DAYS",
    },
    {
        "model": "support.AttachmentPreview",
        "fields": ["page"],
        "category": _("Messages to Customer Service"),
        "on_closure": "erase",
        "keep_reason": "",
        "retention_setting": "SUPPORT_RETENTION_DAYS",
    },
    {
        "model": "support.InboundEmail",
        "fields": ["from_address", "subject", "body", "received_at"],
        "category": _("Messages to Customer Service"),
        "on_closure": "erase",
        "keep_reason": "",
        "retention_setting": "SUPPORT_RETENTION_DAYS",
    },
    {
        # Which emails about an inquiry were sent (the guard that sends each once).
        "model": "support.Notification",
        "fields": ["sent_at"],
        "category": _("Messages to Customer Service"),
        "on_closure": "erase",
        "keep_reason": "",
        "retention_setting": "SUPPORT_RETENTION_DAYS",
    },
]

# Written by staff for everyone, never about a person.
NO_PERSONAL_DATA = {
    "support.FaqTopic": "FAQ topics written by staff",
    "support.FaqEntry": "FAQ questions and answers written by staff",
    "support.Macro": "canned replies written by staff, filled in per inquiry only when sent",
}


def inquiries_of(user) -> QuerySet[Inquiry]:
    """The person's inquiries (the module docstring says which): the account's, and guest
    inquiries from an email address the account verified (compared case-insensitively)."""
    verified = EmailAddress.objects.filter(user=user, verified=True).annotate(
        address=Lower("email")
    )
    return Inquiry.objects.alias(address=Lower("email")).filter(
        Q(user=user) | Q(user__isnull=True, address__in=verified.values("address"))
    )


def export_user(user) -> dict[str, list[dict]]:
    """This app's rows about `user`, JSON-ready, keyed by model name (guest inquiries from a
    verified address of theirs included). Internal notes are staff's working notes about the
    inquiry and are included: they are about the person too."""
    theirs = inquiries_of(user)
    inquiries = list(theirs.order_by("created_at", "id"))
    messages = Message.objects.filter(inquiry__in=theirs).select_related("inquiry")
    inbound = InboundEmail.objects.filter(inquiry__in=theirs).select_related("inquiry")
    return {
        "Inquiry": [
            {
                "reference": i.reference,
                "name": i.name,
                "email": i.email,
                "language": i.language,
                "category": i.category,
                "subject": i.subject,
                "status": i.status,
                "created_at": i.created_at.isoformat(),
                "rating": i.rating,
            }
            for i in inquiries
        ],
        "Message": [
            {
                "inquiry": m.inquiry.reference,
                "from": "customer" if m.kind == MessageKind.CUSTOMER else m.kind,
                "body": m.body,
                "created_at": m.created_at.isoformat(),
            }
            for m in messages.order_by("created_at", "id")
        ],
        "InboundEmail": [
            {
                "inquiry": e.inquiry.reference,
                "from_address": e.from_address,
                "subject": e.subject,
                "body": e.body,
                "received_at": e.received_at.isoformat(),
            }
            for e in inbound.order_by("received_at", "id")
        ],
        "Attachment": [
            {
                "inquiry": a.message.inquiry.reference,
                "name": a.name,
                "original_name": a.original_name,
                "content_type": a.content_type,
                "size": a.size,
                "pages": a.pages,
                "created_at": a.created_at.isoformat(),
                "file_in_archive": _archive_path(a) if _kept(a) else None,
            }
            for a in Attachment.objects.filter(message__inquiry__in=theirs)
            .select_related("message__inquiry", "file")
            .order_by("id")
        ],
        # Which pages the store rendered for agents (the images themselves are not exported).
        "AttachmentPreview": [
            {
                "inquiry": p.attachment.message.inquiry.reference,
                "attachment": p.attachment_id,
                "page": p.page,
            }
            for p in AttachmentPreview.objects.filter(attachment__message__inquiry__in=theirs)
            .select_related("attachment__message__inquiry")
            .order_by("attachment_id", "page")
        ],
        "Notification": [
            {
                "inquiry": n.inquiry.reference,
                "sent_at": n.sent_at.isoformat() if n.sent_at else None,
            }
            for n in Notification.objects.filter(inquiry__in=theirs)
            .select_related("inquiry")
            .order_by("id")
        ],
    }


def _kept(attachment: Attachment) -> bool:
    return attachment.file is not None and not attachment.file.is_shredded


def _archive_path(attachment: Attachment) -> str:
    # The person's own name for their file (sanitised by the intake: no folders, no controls).
    name = attachment.original_name or attachment.name
    return f"inquiries/{attachment.message.inquiry.reference}/{attachment.pk}-{name}"


def export_files(user):
    """The files the person attached to their messages, decrypted from the vault (as kept:
    images re-encoded, PDFs as checked). Previews are the store's renderings, not exported."""
    from privacy import vault

    attachments = Attachment.objects.filter(message__inquiry__in=inquiries_of(user)).select_related(
        "message__inquiry", "file"
    )
    for attachment in attachments.order_by("id"):
        if _kept(attachment):
            yield _archive_path(attachment), vault.read_bytes(attachment.file)


def erase_user(user) -> None:
    """Crypto-shred the person's attachments (files and previews) in the vault, then delete
    their inquiries, guest inquiries from a verified address of theirs included (the module
    docstring); messages, attachments, inbound emails and notification rows go with them
    (cascade). The vault rows stay as the record that an encrypted file existed. Runs before
    the accounts app deletes the email addresses (apps erase top app first)."""
    from .services import attachments_of, shred_attachments

    inquiries = Inquiry.objects.filter(pk__in=list(inquiries_of(user).values_list("pk", flat=True)))
    shred_attachments(attachments_of(inquiries))
    inquiries.delete()


RETENTION_RULES = [
    {
        "name": "resolved inquiries past retention",
        "setting": "SUPPORT_RETENTION_DAYS",
        "run": "support.retention.delete_expired_inquiries",
    },
]
