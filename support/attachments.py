"""Attachments to inquiries (JPEG, PNG or PDF): through the shared safe-upload intake
(`privacy.intake`) and kept only encrypted in the document vault (`privacy.vault`), as
verification documents are.

What happens to an upload from the web:
- its size is capped while it streams in (`SupportUploadHandler`, a `SizeCappedUploadHandler`
  installed alone on the view): a file past MAX_BYTES is dropped before the rest is read and
  nothing is written to a temporary folder (files are held in memory up to the cap);
- `validate_upload` decides its type from the bytes, re-encodes images from their pixels, checks
  PDFs in a limited child process (no scripts, forms, attachments, passwords; at most
  INTAKE_PDF_MAX_PAGES; no full card number) and renders PNG previews of their pages;
- the service (`support.services`) stores the checked file and its previews in the vault
  (`store_clean_file`), blob first, then the rows; a failed transaction deletes the blobs.

An email's attachments go through `clean_email_attachments` (the same intake). Agents only ever
see the PNG previews (an agent's browser never opens a customer's PDF); the customer (or guest,
through their signed link) may download their own file."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import SkipFile
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from privacy import vault
from privacy.intake import CleanFile, SizeCappedUploadHandler, refuse, validate_upload
from privacy.intake.handler import FORM_OVERHEAD

MAX_FILES = 3
MAX_MB = 5
MAX_BYTES = MAX_MB * 1024 * 1024
ALLOWED = ("jpeg", "png", "pdf")
EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


class SupportUploadHandler(SizeCappedUploadHandler):
    """The intake's size cap for up to MAX_FILES files of MAX_BYTES each: the request may
    declare their total; each file is still dropped as soon as it passes MAX_BYTES, and its
    name is kept (`request.support_skipped_files`) for the form's message."""

    def __init__(self, request):
        super().__init__(request, max_bytes=MAX_BYTES)
        request.support_skipped_files = []

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.declared_too_large = content_length > MAX_FILES * MAX_BYTES + FORM_OVERHEAD
        return None

    def receive_data_chunk(self, raw_data, start):
        try:
            return super().receive_data_chunk(raw_data, start)
        except SkipFile:
            if self.file_name not in self.request.support_skipped_files:
                self.request.support_skipped_files.append(self.file_name)
            raise


class EmailUploadHandler(SupportUploadHandler):
    """For the inbound email webhook: each attachment capped at MAX_BYTES (the email's total is
    the provider's to limit); a dropped one is named as refused on the thread."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.declared_too_large = False
        return None


def install_upload_cap(request) -> None:
    """Call before anything reads request.POST or request.FILES: the capped handler alone."""
    request.upload_handlers = [SupportUploadHandler(request)]


def clean_upload(uploaded) -> CleanFile:
    """One attachment through the intake. Raises ValidationError (translated, with a code)."""
    return validate_upload(uploaded, allowed=ALLOWED, max_bytes=MAX_BYTES)


def refusal_text(error: ValidationError) -> str:
    return " ".join(str(message) for message in error.messages)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    """Up to MAX_FILES files (JPEG, PNG or PDF); cleaned into privacy.intake.CleanFile."""

    widget = MultipleFileInput

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text",
            gettext_lazy(
                "Up to 3 files (JPEG or PNG images, or PDF documents), 5 MB each. Cover card "
                "numbers except their last four digits."
            ),
        )
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("accept", ".jpg,.jpeg,.png,.pdf")

    def clean(self, data, initial=None):
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        if len(files) > MAX_FILES:
            raise forms.ValidationError(_("Attach at most 3 files."))
        cleaned, errors = [], []
        for uploaded in files:
            try:
                cleaned.append(clean_upload(uploaded))
            except ValidationError as error:
                errors.append(f"{uploaded.name}: {refusal_text(error)}")
        if errors:
            raise forms.ValidationError(errors)
        return cleaned


def skipped_files_error(request) -> str:
    names = getattr(request, "support_skipped_files", [])
    if not names:
        return ""
    return _("Too large (more than %(mb)s MB), not attached: %(names)s") % {
        "mb": MAX_MB,
        "names": ", ".join(names),
    }


@dataclass(frozen=True)
class EmailAttachments:
    """An email's attachments after intake: the clean ones, and (name, reason) of the refused."""

    clean: list[CleanFile]
    refused: list[tuple[str, str]]


def clean_email_attachments(parts: Iterable, *, skipped: Iterable[str] = ()) -> EmailAttachments:
    """Run each attachment of an inbound email (anymail's AnymailInboundMessage parts) through
    the intake. Nothing is stored here; refused ones are only named with their reason (those
    `skipped` by the upload cap as too large, too)."""
    clean: list[CleanFile] = []
    refused: list[tuple[str, str]] = [
        (name[:100], refusal_text(refuse("too_large", mb=MAX_MB))) for name in skipped
    ]
    for index, part in enumerate(parts, start=1):
        name = (part.get_filename() or f"attachment-{index}")[:100]
        if len(clean) >= MAX_FILES:
            refused.append((name, _("more than %(n)d files in one email") % {"n": MAX_FILES}))
            continue
        data = part.get_content_bytes() or b""
        if len(data) > MAX_BYTES:
            refused.append((name, refusal_text(refuse("too_large", mb=MAX_MB))))
            continue
        try:
            clean.append(clean_upload(SimpleUploadedFile(name, data)))
        except ValidationError as error:
            refused.append((name, refusal_text(error)))
    return EmailAttachments(clean, refused)


@contextmanager
def blobs_deleted_on_failure() -> Iterator[list[str]]:
    """Collects the storage names of blobs written inside; if the block fails, they are
    deleted (the vault has ciphertext only, but nothing is left behind either)."""
    stored: list[str] = []
    try:
        yield stored
    except BaseException:
        for name in stored:
            vault.delete_blob(name)
        raise


def store_clean_file(clean: CleanFile, stored: list[str]):
    """Encrypt the file and its previews into the vault: (file, [preview files]). Appends each
    blob's storage name to `stored` (for `blobs_deleted_on_failure`)."""
    blob = vault.store(clean.content)
    stored.append(blob.storage_name)
    previews = []
    for preview in clean.previews:
        preview_blob = vault.store(preview)
        stored.append(preview_blob.storage_name)
        previews.append(preview_blob)
    return blob, previews


def download_name(attachment) -> str:
    """The name a download is saved under: ours, never the uploaded one (no header tricks)."""
    return f"{attachment.message.inquiry.reference}-{attachment.pk}.{EXTENSIONS.get(attachment.content_type, 'bin')}"
