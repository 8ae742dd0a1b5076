"""The safe-upload intake on its own (privacy.intake): type from the bytes, images re-encoded,
PDFs checked and rendered in a limited child, full card numbers refused. The same hostile
corpus goes through the real upload view in tests/orders/test_document_upload.py."""

import io

import pytest
from django.core.exceptions import ValidationError
from PIL import Image

from privacy.intake import sanitize_name, validate_upload
from privacy.intake.pan import contains_pan
from tests.factories import documents as files

HOSTILE = [
    ("truncated.pdf", files.truncated_pdf, "broken"),
    ("malformed.pdf", files.malformed_pdf, "broken"),
    ("script.pdf", files.javascript_pdf, "active_content"),
    ("open-action.pdf", files.open_action_javascript_pdf, "active_content"),
    ("locked.pdf", files.encrypted_pdf, "encrypted"),
    ("attachment.pdf", files.embedded_file_pdf, "active_content"),
    ("form.pdf", files.form_pdf, "active_content"),
    ("html.pdf", files.html_with_pdf_marker, "unsupported"),
    ("appended.pdf", files.pdf_with_html_appended, "broken"),
    ("polyglot.png", files.png_zip_polyglot, "trailing_data"),
    ("setup.pdf", files.renamed_executable, "unsupported"),
    ("empty.pdf", lambda: b"", "empty"),
    ("bomb.png", files.image_bomb, "too_many_pixels"),
    ("loop.pdf", files.looping_pdf, "broken"),
    ("png-as.pdf", files.png, "unsupported"),
    ("page.svg", lambda: b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>', "unsupported"),
]


def _code(name, data, **kwargs):
    with pytest.raises(ValidationError) as refusal:
        validate_upload(files.upload(name, data), **kwargs)
    return refusal.value.code


@pytest.mark.parametrize(("name", "make", "code"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_the_hostile_corpus_is_refused_with_a_reason(name, make, code, caplog):
    assert _code(name, make()) == code
    assert f"upload_validation:{code}:FAILED" in caplog.text
    assert name not in caplog.text


def test_a_pdf_that_keeps_the_parser_busy_is_stopped_by_the_cpu_limit(settings):
    settings.INTAKE_PDF_CPU_SECONDS = 1
    assert _code("heavy.pdf", files.heavy_pdf()) == "too_complex"


def test_too_many_pages(settings):
    settings.INTAKE_PDF_MAX_PAGES = 3
    assert _code("long.pdf", files.many_pages_pdf(4)) == "too_many_pages"


def test_oversize_is_refused():
    assert _code("big.png", files.png(), max_bytes=10) == "too_large"


def test_a_plain_pdf_is_accepted_with_rendered_pages():
    data = files.text_pdf(["Statement of account", "Card ending 1111"], ["Page two"])
    clean = validate_upload(files.upload("statement.pdf", data))
    assert (clean.kind, clean.content_type, clean.pages) == ("pdf", "application/pdf", 2)
    assert clean.content == data
    assert len(clean.previews) == 2
    for preview in clean.previews:
        assert Image.open(io.BytesIO(preview)).format == "PNG"


def test_a_full_card_number_is_refused_and_a_masked_one_accepted():
    full = files.text_pdf(["Card number 4111 1111 1111 1111"])
    masked = files.text_pdf(["Card number **** **** **** 1111"])
    assert _code("full.pdf", full) == "card_number"
    assert validate_upload(files.upload("masked.pdf", masked)).kind == "pdf"


def test_images_are_reencoded_without_metadata_or_payload():
    clean = validate_upload(files.upload("me.jpg", files.jpeg(120, 80, gps=True)))
    image = Image.open(io.BytesIO(clean.content))
    assert (image.format, image.size) == ("JPEG", (120, 80))
    assert dict(image.getexif()) == {}
    assert b"SecretCam" not in clean.content
    png = validate_upload(files.upload("scan.PNG", files.png(50, 40)))
    assert Image.open(io.BytesIO(png.content)).size == (50, 40)
    assert Image.open(io.BytesIO(png.previews[0])).format == "PNG"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../x.pdf", "x.pdf"),
        ("a\r\nb.pdf", "ab.pdf"),
        ("nul\x00name.pdf", "nulname.pdf"),
        ("C:\\Users\\me\\scan.pdf", "scan.pdf"),
    ],
)
def test_names_are_sanitised_for_display(name, expected):
    assert sanitize_name(name) == expected


def test_a_long_name_keeps_its_extension():
    name = sanitize_name("a" * 300 + ".pdf")
    assert len(name) == 100 and name.endswith(".pdf")


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("4111 1111 1111 1111", True),
        ("4111-1111-1111-1111", True),
        ("5500000000000004", True),
        ("**** **** **** 1111", False),
        ("4111 1111 1111 1112", False),
        ("Invoice 2026 11 29", False),
        ("0000 0000 0000 0000", False),
    ],
)
def test_pan_detection(text, found):
    assert contains_pan(text) is found


@pytest.mark.parametrize("kind", ["pdf", "jpeg", "png"])
def test_random_bytes_behind_a_valid_signature_only_ever_give_a_validation_error(kind):
    """A small property test: whatever follows the signature, the intake answers with a
    ValidationError (or a clean file), never another exception."""
    import random

    from privacy.intake import SIGNATURES

    rng = random.Random(7)
    name = {"pdf": "x.pdf", "jpeg": "x.jpg", "png": "x.png"}[kind]
    for _ in range(6 if kind == "pdf" else 40):
        body = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 4000)))
        if kind == "pdf" and rng.random() < 0.5:
            body += b"\n%%EOF\n"
        try:
            validate_upload(files.upload(name, SIGNATURES[kind] + body))
        except ValidationError as error:
            assert error.code in {"broken", "trailing_data", "active_content", "too_complex"}
