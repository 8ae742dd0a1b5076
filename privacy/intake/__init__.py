"""Safe intake of files people upload (verification documents, support attachments).

    request.upload_handlers = [SizeCappedUploadHandler(request, max_bytes=...)]   # in the view
    clean = validate_upload(request.FILES["file"], allowed=("pdf", "jpeg", "png"))

`validate_upload` decides the type from the bytes (an exact signature at byte 0, then a full
parse), never from the name or the Content-Type header; the name's extension must also agree.
Images are re-encoded from pixels (privacy.intake.images). PDFs are checked and rendered to PNG
pages in a child process with CPU and memory limits (privacy.intake.pdf); a PDF with active
content, a password, too many pages or a full card number in its text is refused. Every refusal
is a ValidationError with a message in the active language and a `code`; it is logged as
`upload_validation:<code>:FAILED` without the file's name or content. Nothing here writes to
disk or to the database: the caller stores `CleanFile.content` (e.g. in privacy.vault).
"""

import logging
import re
import unicodedata
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .handler import SizeCappedUploadHandler
from .images import ImageRefused, reencode_image
from .pan import contains_pan
from .pdf import inspect_pdf

__all__ = ["CleanFile", "SizeCappedUploadHandler", "sanitize_name", "validate_upload"]

logger = logging.getLogger("security.upload")

SIGNATURES = {
    "pdf": b"%PDF-",
    "jpeg": b"\xff\xd8\xff",
    "png": b"\x89PNG\r\n\x1a\n",
}
EXTENSIONS = {"pdf": {"pdf"}, "jpeg": {"jpg", "jpeg"}, "png": {"png"}}
CONTENT_TYPES = {"pdf": "application/pdf", "jpeg": "image/jpeg", "png": "image/png"}

MESSAGES = {
    "empty": _("The file is empty."),
    "too_large": _("The file is larger than %(mb)s MB."),
    "unsupported": _("This type of file is not accepted. Upload a PDF, JPEG or PNG file."),
    "broken": _(
        "This file is damaged or incomplete and cannot be read. Please upload a fresh copy."
    ),
    "trailing_data": _(
        "This image has extra data hidden after the picture. Please upload a fresh copy."
    ),
    "too_many_pixels": _("The image has too many pixels. Please upload a smaller photo or scan."),
    "encrypted": _("The PDF is protected by a password. Please upload a copy without one."),
    "active_content": _(
        "The PDF contains scripts, forms, attachments or actions, which we do not accept. "
        "Please print it to a new PDF or upload a photo of it."
    ),
    "too_many_pages": _("The PDF has more than %(pages)s pages."),
    "too_complex": _(
        "We could not check this PDF in time. Please upload a simpler copy, such as a photo "
        "or a scan."
    ),
    "card_number": _(
        "The document shows a full card number. Cover all but the last four digits of the "
        "card number, then upload it again."
    ),
}


@dataclass(frozen=True)
class CleanFile:
    """A file that passed intake. `content` is what may be stored (re-encoded for images, the
    checked original for PDFs); `previews` are PNG images safe to show a reviewer (one per PDF
    page, or the re-encoded image)."""

    kind: str
    content: bytes
    previews: tuple[bytes, ...]
    original_name: str
    pages: int = 1
    content_type: str = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "content_type", CONTENT_TYPES[self.kind])

    @property
    def size(self) -> int:
        return len(self.content)


def refuse(code: str, **params) -> ValidationError:
    logger.warning("upload_validation:%s:FAILED", code)
    return ValidationError(MESSAGES[code], code=code, params=params or None)


def sanitize_name(name: str, *, limit: int = 100) -> str:
    """A display-only version of the customer's file name: the last path part, no control
    characters, at most `limit` characters (the extension kept). Never used as a storage
    name."""
    name = unicodedata.normalize("NFC", str(name or ""))
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip(" .")
    if len(name) > limit:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: limit - len(ext) - 1] + "." + ext) if dot and len(ext) < 10 else name[:limit]
    return name or "file"


def sniff_kind(head: bytes) -> str | None:
    for kind, signature in SIGNATURES.items():
        if head.startswith(signature):
            return kind
    return None


def validate_upload(
    uploaded_file,
    *,
    allowed: tuple[str, ...] = ("pdf", "jpeg", "png"),
    max_bytes: int | None = None,
) -> CleanFile:
    """Check one uploaded file (a Django UploadedFile, already size-capped by the handler).
    Returns a CleanFile; raises ValidationError (translated message, `code`) otherwise."""
    max_bytes = max_bytes or settings.DOCUMENT_MAX_UPLOAD_MB * 1024 * 1024
    if uploaded_file is None:
        raise refuse("too_large", mb=max_bytes // (1024 * 1024))
    if uploaded_file.size is not None and uploaded_file.size > max_bytes:
        raise refuse("too_large", mb=max_bytes // (1024 * 1024))
    uploaded_file.seek(0)
    data = uploaded_file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise refuse("too_large", mb=max_bytes // (1024 * 1024))
    if not data:
        raise refuse("empty")
    kind = sniff_kind(data[:16])
    name = sanitize_name(uploaded_file.name)
    extension = name.rpartition(".")[2].lower() if "." in name else ""
    if kind is None or kind not in allowed or extension not in EXTENSIONS[kind]:
        raise refuse("unsupported")
    if kind == "pdf":
        result = inspect_pdf(data)
        if not result.ok:
            raise refuse(result.reason, pages=settings.INTAKE_PDF_MAX_PAGES)
        if contains_pan(result.text):
            raise refuse("card_number")
        return CleanFile("pdf", data, result.previews, name, pages=result.pages)
    try:
        image = reencode_image(data, kind)
    except ImageRefused as refusal:
        raise refuse(refusal.reason) from None
    return CleanFile(kind, image.content, (image.preview,), name)
