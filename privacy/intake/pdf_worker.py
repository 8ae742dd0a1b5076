"""Child process that parses and renders one untrusted PDF (run by privacy.intake.pdf).

Runs as `python -I pdf_worker.py MAX_PAGES MAX_SIDE` under CPU-time and memory limits set by the
parent, reads the PDF on stdin and writes one JSON line, then the rendered pages as PNGs
back to back (their sizes are in the JSON). Imports no Django and nothing of the store: a
malicious PDF that crashes or hangs the parser only takes this process down.

Refusal reasons: broken, encrypted, too_many_pages, active_content (JavaScript, launch and
submit actions, forms, embedded files, rich media)."""

import io
import json
import re
import sys

FORBIDDEN_KEYS = {
    "/JavaScript",
    "/JS",
    "/Launch",
    "/EmbeddedFiles",
    "/EmbeddedFile",
    "/EF",
    "/RichMedia",
    "/XFA",
    "/SubmitForm",
}
FORBIDDEN_ACTIONS = {
    "/JavaScript",
    "/Launch",
    "/SubmitForm",
    "/ImportData",
    "/RichMediaExecute",
    "/GoToE",
}
FORBIDDEN_SUBTYPES = {"/FileAttachment", "/RichMedia", "/Movie", "/Sound", "/Screen", "/3D"}
RAW_MARKERS = re.compile(rb"/(?:JavaScript|JS|Launch|EmbeddedFiles?|RichMedia|XFA|SubmitForm)\b")
MAX_TEXT = 2_000_000


class Refused(Exception):
    pass


def scan_structure(reader) -> None:
    """Walk every object reachable from the trailer; refuse active content anywhere."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    seen: set[tuple[int, int]] = set()
    stack = [reader.trailer]
    while stack:
        obj = stack.pop()
        if isinstance(obj, IndirectObject):
            ref = (obj.idnum, obj.generation)
            if ref in seen:
                continue
            seen.add(ref)
            obj = obj.get_object()
        if isinstance(obj, DictionaryObject):
            keys = set(obj.keys())
            if keys & FORBIDDEN_KEYS:
                raise Refused("active_content")
            if obj.get("/S") in FORBIDDEN_ACTIONS or obj.get("/Subtype") in FORBIDDEN_SUBTYPES:
                raise Refused("active_content")
            form = obj.get("/AcroForm")
            if form is not None:
                form = form.get_object()
                if form.get("/Fields") or form.get("/XFA") is not None:
                    raise Refused("active_content")
            stack.extend(value for key, value in obj.items() if key != "/Parent")
        elif isinstance(obj, ArrayObject):
            stack.extend(obj)


def check(data: bytes, max_pages: int) -> int:
    import pypdf

    if not data.startswith(b"%PDF-"):
        raise Refused("broken")
    if not data.rstrip(b"\r\n\t \x00").endswith(b"%%EOF"):
        raise Refused("broken")  # truncated, or something appended after the end
    if RAW_MARKERS.search(data):
        raise Refused("active_content")
    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=True)
        if reader.is_encrypted:
            raise Refused("encrypted")
        pages = len(reader.pages)
    except Refused:
        raise
    except Exception as error:
        raise Refused("broken") from error
    if pages < 1:
        raise Refused("broken")
    if pages > max_pages:
        raise Refused("too_many_pages")
    try:
        scan_structure(reader)
    except Refused:
        raise
    except Exception as error:
        raise Refused("broken") from error
    return pages


def render(data: bytes, max_side: int) -> tuple[list[bytes], str]:
    import pypdfium2

    try:
        document = pypdfium2.PdfDocument(data)
    except Exception as error:
        raise Refused("broken") from error
    images, texts = [], []
    try:
        for index in range(len(document)):
            page = document[index]
            width, height = page.get_size()
            scale = min(2.0, max_side / max(width, height, 1))
            image = page.render(scale=scale).to_pil()
            out = io.BytesIO()
            image.save(out, format="PNG")
            images.append(out.getvalue())
            textpage = page.get_textpage()
            texts.append(textpage.get_text_range())
            textpage.close()
            page.close()
    except Refused:
        raise
    except Exception as error:
        raise Refused("broken") from error
    finally:
        document.close()
    return images, "\n".join(texts)[:MAX_TEXT]


def main() -> int:
    max_pages, max_side = int(sys.argv[1]), int(sys.argv[2])
    data = sys.stdin.buffer.read()
    try:
        pages = check(data, max_pages)
        images, text = render(data, max_side)
        if len(images) != pages:
            raise Refused("broken")
    except Refused as refusal:
        header = {"ok": False, "reason": str(refusal)}
        images = []
    else:
        header = {"ok": True, "pages": pages, "text": text, "sizes": [len(i) for i in images]}
    out = sys.stdout.buffer
    out.write(json.dumps(header).encode() + b"\n")
    for image in images:
        out.write(image)
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
