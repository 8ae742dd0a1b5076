"""Attachments in the vault: storing checked files with their previews, crypto-shredding them,
opening a preview for an agent."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.models import User
from privacy import vault
from privacy.intake import CleanFile
from privacy.models import AccessAction
from privacy.services import log_access

from ..attachments import store_clean_file
from ..models import (
    Attachment,
    AttachmentPreview,
    Inquiry,
    Message,
)

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
