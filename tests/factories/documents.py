"""Files for upload tests, made by the tests: good PDFs, JPEGs and PNGs, and a hostile corpus.

`text_pdf(["line", ...])` writes a real PDF with a Helvetica text page per list (a minimal
writer, so the text is extractable and the bytes are known); the hostile ones are made with
pypdf or by hand."""

import io
import zlib

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from pypdf import PdfWriter
from pypdf.actions import JavaScript
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject


def _pdf(objects: list[bytes], *, root: int = 1, trailer_extra: bytes = b"") -> bytes:
    """Assemble numbered objects (1-based) with a correct xref table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root %d 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        root,
        trailer_extra,
        xref,
    )
    return bytes(out)


def text_pdf(*pages: list[str], catalog_extra: bytes = b"") -> bytes:
    """A PDF with one page per argument, each line of text drawn in Helvetica."""
    pages = pages or (["Statement"],)
    count = len(pages)
    # 1 catalog, 2 pages, 3 font, then (page, content) pairs
    kids = b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(count))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b">>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % count,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for index, lines in enumerate(pages):
        ops = b"BT /F1 14 Tf 50 750 Td 18 TL "
        for line in lines:
            escaped = line.encode("latin-1").replace(b"\\", b"\\\\").replace(b"(", b"\\(")
            ops += b"(" + escaped.replace(b")", b"\\)") + b") Tj T* "
        ops += b"ET"
        stream = zlib.compress(ops)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (5 + 2 * index)
        )
        objects.append(
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream)
            + stream
            + b"\nendstream"
        )
    return _pdf(objects)


def png(width: int = 64, height: int = 48, *, color=(30, 120, 200), exif: bool = False) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format="PNG")
    return out.getvalue()


def jpeg(width: int = 64, height: int = 48, *, gps: bool = False) -> bytes:
    image = Image.new("RGB", (width, height), (200, 100, 50))
    out = io.BytesIO()
    if gps:
        exif = Image.Exif()
        exif[0x010F] = "SecretCam"  # Make
        exif[0x8825] = {1: "N", 2: (3.0, 8.0, 0.0)}  # GPS IFD
        image.save(out, format="JPEG", exif=exif)
    else:
        image.save(out, format="JPEG")
    return out.getvalue()


# --- hostile corpus ------------------------------------------------------------------------


def _pypdf_bytes(writer: PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def javascript_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.add_open_action(JavaScript("app.alert('hello');"))
    return _pypdf_bytes(writer)


def open_action_javascript_pdf() -> bytes:
    """JavaScript in the catalogue's OpenAction, written by hand (no /JavaScript name tree)."""
    return text_pdf(["Hi"], catalog_extra=b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >> ")


def embedded_file_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.add_attachment("payload.exe", b"MZ\x90\x00 not really")
    return _pypdf_bytes(writer)


def encrypted_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-128")
    return _pypdf_bytes(writer)


def form_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    field = DictionaryObject(
        {NameObject("/FT"): NameObject("/Tx"), NameObject("/T"): TextStringObject("card")}
    )
    writer._root_object[NameObject("/AcroForm")] = DictionaryObject(
        {NameObject("/Fields"): ArrayObject([writer._add_object(field)])}
    )
    return _pypdf_bytes(writer)


def many_pages_pdf(pages: int) -> bytes:
    return text_pdf(*[[f"Page {n}"] for n in range(pages)])


def looping_pdf() -> bytes:
    """A page tree whose node is its own kid, and a huge declared page count."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 100000000 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>",
    ]
    return _pdf(objects)


def heavy_pdf(pages: int = 20, operators: int = 400_000) -> bytes:
    """Pages whose content streams hold hundreds of thousands of drawing operators each: the
    renderer spends CPU until the child's limit stops it."""
    ops = b"0 0 m 1 1 l S " * operators
    stream = zlib.compress(ops, 9)
    kids = b" ".join(b"%d 0 R" % (3 + i) for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages,
    ]
    content = 3 + pages
    for _ in range(pages):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R >>" % content
        )
    objects.append(
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream"
    )
    return _pdf(objects)


def html_with_pdf_marker() -> bytes:
    return b"<html><body>" + b" " * 88 + b"%PDF-1.4 <script>alert(1)</script></body></html>"


def pdf_with_html_appended() -> bytes:
    return text_pdf(["Hello"]) + b"<html><script>alert(1)</script></html>\n"


def png_zip_polyglot() -> bytes:
    zip_bytes = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(zip_bytes, "w") as archive:
        archive.writestr("evil.html", "<script>alert(1)</script>")
    return png() + zip_bytes.getvalue()


def renamed_executable() -> bytes:
    return b"\x7fELF\x02\x01\x01" + b"\x00" * 200


def image_bomb() -> bytes:
    """A small PNG that declares 10,000 × 10,000 pixels."""
    out = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(out, format="PNG", optimize=True)
    return out.getvalue()


def truncated_pdf() -> bytes:
    data = text_pdf(["Statement"])
    return data[: len(data) // 2]


def malformed_pdf() -> bytes:
    return b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >> endobj\ntrailer << >>\n%%EOF\n"


def upload(name: str, data: bytes, content_type: str = "application/octet-stream"):
    return SimpleUploadedFile(name, data, content_type=content_type)
