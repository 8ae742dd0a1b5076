"""Product images: the renditions served with `srcset`, and the demo catalogue's drawn images.

An uploaded image has already been through `privacy.intake.validate_upload` (type from its
bytes, pixel limit, decompression bombs refused, re-encoded from pixels so no metadata is left);
here it is scaled to a few widths and encoded as WebP (JPEG when this Pillow has no WebP)."""

import colorsys
import hashlib
import io
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont, features

# Widths served in `srcset`; an image narrower than one keeps only the widths it can fill.
RENDITION_WIDTHS = (320, 640, 960)
# Landscape 4:3 frame: every rendition is cropped to it, so cards line up and width/height
# attributes are known before the file loads (no layout shift).
ASPECT = (4, 3)


@dataclass(frozen=True)
class Rendition:
    width: int
    height: int
    content: bytes


def image_format() -> str:
    return "webp" if features.check("webp") else "jpeg"


def make_renditions(content: bytes) -> list[Rendition]:
    """Scale a clean image (bytes from the intake) to each width of RENDITION_WIDTHS it can
    fill (at least the smallest), cropped to the 4:3 frame, without metadata."""
    fmt = image_format()
    with Image.open(io.BytesIO(content)) as source:
        source.load()
        image = source.convert("RGB")
    image = _crop_to_aspect(image)
    widths = [w for w in RENDITION_WIDTHS if w <= image.width] or [RENDITION_WIDTHS[0]]
    renditions = []
    for width in widths:
        height = round(width * ASPECT[1] / ASPECT[0])
        scaled = image.resize((width, height), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        if fmt == "webp":
            scaled.save(out, format="WEBP", quality=82, method=3)
        else:
            scaled.save(out, format="JPEG", quality=85, optimize=True, progressive=True)
        renditions.append(Rendition(width, height, out.getvalue()))
    return renditions


def _crop_to_aspect(image: Image.Image) -> Image.Image:
    target = ASPECT[0] / ASPECT[1]
    if image.width / image.height > target:  # too wide: trim the sides
        width = round(image.height * target)
        left = (image.width - width) // 2
        return image.crop((left, 0, left + width, image.height))
    height = round(image.width / target)
    top = (image.height - height) // 2
    return image.crop((0, top, image.width, top + height))


def _colour(seed: bytes, offset: int, lightness: float, saturation: float) -> tuple[int, ...]:
    hue = ((seed[offset] << 8 | seed[offset + 1]) % 360) / 360
    r, g, b = colorsys.hls_to_rgb(hue, lightness, saturation)
    return (round(r * 255), round(g * 255), round(b * 255))


def initials(name: str) -> str:
    """Up to three letters: the first of each of the first three words ("Windows 11 Pro" →
    "W1P", "Windows 11 Home" → "W1H")."""
    words = [w for w in name.replace("&", " ").split() if w[:1].isalnum()]
    if len(words) >= 2:
        return "".join(w[0] for w in words[:3]).upper()
    return (name[:2] or "?").upper()


def demo_product_image(slug: str, name: str, *, width: int = 960) -> bytes:
    """A JPEG for the demo catalogue, different for every slug: a diagonal gradient in two
    colours from the slug's hash, a shape chosen by it, and the product's initials."""
    seed = hashlib.sha256(slug.encode()).digest()
    height = round(width * ASPECT[1] / ASPECT[0])
    start = _colour(seed, 0, 0.35, 0.55)
    end = _colour(seed, 2, 0.6, 0.65)
    image = Image.new("RGB", (width, height))
    pixels = ImageDraw.Draw(image)
    steps = width + height
    for i in range(0, steps, 4):
        t = i / steps
        colour = tuple(round(a + (b - a) * t) for a, b in zip(start, end, strict=True))
        pixels.line([(i, 0), (i - height, height)], fill=colour, width=5)
    accent = _colour(seed, 4, 0.85, 0.5)
    shape = seed[6] % 3
    cx, cy, r = width * (0.25 + seed[7] / 512), height * (0.3 + seed[8] / 640), height * 0.28
    box = [cx - r, cy - r, cx + r, cy + r]
    if shape == 0:
        pixels.ellipse(box, outline=accent, width=max(6, width // 80))
    elif shape == 1:
        pixels.rectangle(box, outline=accent, width=max(6, width // 80))
    else:
        pixels.polygon(
            [(cx, cy - r), (cx + r, cy + r), (cx - r, cy + r)],
            outline=accent,
            width=max(6, width // 80),
        )
    font = ImageFont.load_default(size=height // 3)
    text = initials(name)
    left, top, right, bottom = pixels.textbbox((0, 0), text, font=font)
    x = width - (right - left) - width // 12
    y = height - (bottom - top) - height // 8 - top
    pixels.text((x + 4, y + 4), text, font=font, fill=(0, 0, 0))
    pixels.text((x, y), text, font=font, fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=92)
    return out.getvalue()
