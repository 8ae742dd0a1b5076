"""Attachments to inquiries: images only (JPEG, PNG) until the shared safe-upload intake
(`privacy/intake/`) and the encrypted document vault (`privacy/vault.py`) are on main. Then this
module is replaced by them and PDFs are accepted; nothing outside this module and the
`Attachment` model knows how a file is checked or kept.

What happens to an upload here:
- its size is capped while it streams in (`CappedUploadHandler`): a file past MAX_BYTES is
  skipped before the rest of it is read, and the form says so;
- its type is decided from its bytes (the JPEG or PNG signature, then Pillow opening it as that
  format only), never from its name or the browser's content type;
- its pixel count is checked from the header before anything is decoded (MAX_PIXELS);
- it is re-encoded from its pixels into a new image: metadata (EXIF, GPS, comments), trailing
  data and anything hidden after the image are gone.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from django import forms
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_FILES = 3
MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 16_000_000  # 4000 × 4000: a screenshot or a phone photo, not a decompression bomb
SIGNATURES = {b"\xff\xd8\xff": "JPEG", b"\x89PNG\r\n\x1a\n": "PNG"}
CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png"}
EXTENSIONS = {"JPEG": "jpg", "PNG": "png"}


class AttachmentRejected(ValueError):
    """The file is not an image we accept; the message says why, in the visitor's words."""


@dataclass(frozen=True)
class CleanImage:
    name: str
    content_type: str
    data: bytes
    width: int
    height: int


class CappedUploadHandler(FileUploadHandler):
    """First upload handler of the support forms: counts each file's bytes as they arrive and
    skips a file that passes MAX_BYTES (so an oversize file is never read to the end). The
    names of skipped files are kept on the request for the form's error message."""

    def new_file(self, field_name, file_name, *args, **kwargs):
        super().new_file(field_name, file_name, *args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > MAX_BYTES:
            skipped = getattr(self.request, "support_skipped_files", [])
            skipped.append(self.file_name)
            self.request.support_skipped_files = skipped
            raise SkipFile
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handler (memory or temporary file) keeps the file


def install_upload_cap(request) -> None:
    """Call before anything reads request.POST or request.FILES."""
    request.upload_handlers.insert(0, CappedUploadHandler(request))


def clean_image(uploaded, *, index: int = 1) -> CleanImage:
    """A safe copy of an uploaded JPEG or PNG. Raises AttachmentRejected."""
    if uploaded.size > MAX_BYTES:
        raise AttachmentRejected(_("A file can be at most 5 MB."))
    head = uploaded.read(16)
    uploaded.seek(0)
    kind = next((fmt for sig, fmt in SIGNATURES.items() if head.startswith(sig)), None)
    if kind is None:
        raise AttachmentRejected(_("Only JPEG and PNG images can be attached."))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(uploaded, formats=[kind])
            if image.width * image.height > MAX_PIXELS:
                raise AttachmentRejected(_("This image is too large (too many pixels)."))
            image.seek(0)  # an animated PNG: its first frame only
            image.load()
            image = ImageOps.exif_transpose(image)
    except AttachmentRejected:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as error:
        raise AttachmentRejected(_("This file is damaged or not a real image.")) from error
    mode = (
        "RGBA"
        if kind == "PNG" and ("A" in image.getbands() or "transparency" in image.info)
        else "RGB"
    )
    pixels = image.convert(mode)
    # A new image from the pixels alone: nothing of the upload but its picture survives.
    clean = Image.frombytes(mode, pixels.size, pixels.tobytes())
    out = io.BytesIO()
    if kind == "JPEG":
        clean.save(out, "JPEG", quality=85, optimize=True)
    else:
        clean.save(out, "PNG", optimize=True)
    return CleanImage(
        name=f"image-{index}.{EXTENSIONS[kind]}",
        content_type=CONTENT_TYPES[kind],
        data=out.getvalue(),
        width=clean.width,
        height=clean.height,
    )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class ImagesField(forms.FileField):
    """Up to MAX_FILES images; cleaned into CleanImage copies."""

    widget = MultipleFileInput

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text",
            gettext_lazy("Up to 3 JPEG or PNG images (screenshots, photos), 5 MB each."),
        )
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("accept", "image/jpeg,image/png")

    def clean(self, data, initial=None):
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        if len(files) > MAX_FILES:
            raise forms.ValidationError(_("Attach at most 3 images."))
        cleaned, errors = [], []
        for index, uploaded in enumerate(files, start=1):
            try:
                cleaned.append(clean_image(uploaded, index=index))
            except AttachmentRejected as error:
                errors.append(f"{uploaded.name}: {error}")
        if errors:
            raise forms.ValidationError(errors)
        return cleaned


def skipped_files_error(request) -> str:
    names = getattr(request, "support_skipped_files", [])
    if not names:
        return ""
    return _("Too large (more than 5 MB), not attached: %(names)s") % {"names": ", ".join(names)}
