"""Images are decoded and re-encoded from their pixels: metadata (EXIF, GPS), comments and any
payload appended after the image are gone. The pixel limit is far below Pillow's default and
Pillow's decompression-bomb warning is an error."""

import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from PIL import Image, ImageOps

PREVIEW_MAX_SIDE = 1600
PNG_END = b"IEND\xaeB`\x82"


class ImageRefused(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class CleanImage:
    content: bytes
    preview: bytes
    width: int
    height: int


def reencode_image(data: bytes, kind: str) -> CleanImage:
    """`kind` is "jpeg" or "png" (from the signature). Raises ImageRefused(reason) with reason
    "broken", "too_many_pixels" or "trailing_data"."""
    if kind == "png" and not data.endswith(PNG_END):
        # Bytes after IEND: a PNG/ZIP or PNG/HTML polyglot, or a cut file.
        raise ImageRefused("trailing_data" if PNG_END in data else "broken")
    expected = {"jpeg": "JPEG", "png": "PNG"}[kind]
    limit = settings.INTAKE_MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = limit  # Pillow reads this global when it opens a file
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=[expected]) as probe:
                if probe.width * probe.height > limit:
                    raise ImageRefused("too_many_pixels")
                probe.verify()
            with Image.open(io.BytesIO(data), formats=[expected]) as image:
                image.load()
                image = ImageOps.exif_transpose(image)
                if kind == "jpeg":
                    image = image.convert("L" if image.mode in ("L", "LA") else "RGB")
                elif image.mode not in ("RGB", "RGBA", "L", "LA"):
                    image = image.convert("RGBA")
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as error:
            raise ImageRefused("too_many_pixels") from error
        except ImageRefused:
            raise
        except Exception as error:  # Pillow raises many types for damaged files
            raise ImageRefused("broken") from error
    out = io.BytesIO()
    if kind == "jpeg":
        image.save(out, format="JPEG", quality=90, optimize=True)
    else:
        image.save(out, format="PNG", optimize=True)
    preview = image.copy()
    preview.thumbnail((PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE))
    preview_out = io.BytesIO()
    preview.save(preview_out, format="PNG")
    return CleanImage(out.getvalue(), preview_out.getvalue(), image.width, image.height)
