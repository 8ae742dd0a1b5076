"""Images attached to inquiries: type from the bytes, size capped while streaming, pixel limit,
re-encoded from pixels (metadata and trailing bytes gone); downloaded by staff only, logged."""

import io
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from privacy.models import AccessAction, AccessLog
from support import tokens
from support.attachments import MAX_BYTES
from support.models import Attachment, Category, Inquiry
from tests.factories import CustomerFactory, InquiryFactory

pytestmark = pytest.mark.django_db

ASK = "/support/ask/"


def png(size=(40, 30), *, text_chunk=True, trailer=b"") -> bytes:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    if text_chunk:
        info.add_text("Comment", "secret-metadata-gps-3.14")
    out = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(out, "PNG", pnginfo=info)
    return out.getvalue() + trailer


def jpeg_with_exif() -> bytes:
    image = Image.new("RGB", (50, 40), (10, 200, 10))
    exif = Image.Exif()
    exif[0x010E] = "secret-exif-description"  # ImageDescription
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def ask(client, *files, message="See the screenshot"):
    return client.post(
        ASK,
        {
            "name": "Siti",
            "email": "siti@example.com",
            "category": "licence_key",
            "subject": "Error",
            "message": message,
            "attachments": list(files),
        },
    )


def test_a_png_and_a_jpeg_are_kept_re_encoded_without_metadata_or_trailing_bytes(client):
    # given
    trailer = b"<script>alert(1)</script>" * 10
    files = [
        SimpleUploadedFile("shot.png", png(trailer=trailer), content_type="image/png"),
        SimpleUploadedFile("photo.jpeg", jpeg_with_exif(), content_type="image/jpeg"),
    ]

    # when
    response = ask(client, *files)

    # then
    assert response.status_code == 302
    first, second = Attachment.objects.order_by("id")
    assert (first.name, first.content_type, first.width, first.height) == (
        "image-1.png",
        "image/png",
        40,
        30,
    )
    assert (second.name, second.content_type) == ("image-2.jpg", "image/jpeg")
    for attachment in (first, second):
        data = bytes(attachment.data)
        assert b"secret" not in data and b"<script>" not in data
        assert attachment.size == len(data)
        Image.open(io.BytesIO(data)).verify()


@pytest.mark.parametrize(
    "name, data",
    [
        ("doc.pdf", b"%PDF-1.7\n1 0 obj<<>>endobj\n"),
        ("page.png", b"<html><script>alert(1)</script></html>"),
        ("anim.gif", b"GIF89a" + b"\x00" * 40),
        ("broken.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 50),
        ("broken.jpg", b"\xff\xd8\xff\xe0" + b"garbage" * 10),
    ],
)
def test_anything_but_a_real_jpeg_or_png_is_refused_and_the_text_is_kept(client, name, data):
    response = ask(client, SimpleUploadedFile(name, data), message="Keep my words")
    assert response.status_code == 400
    assert Inquiry.objects.count() == Attachment.objects.count() == 0
    html = response.content.decode()
    assert "Keep my words</textarea>" in html and name in html


def test_a_decompression_bomb_is_refused_before_decoding(client):
    # a 5,000 × 5,000 PNG of one colour is small on disk and 25 million pixels
    out = io.BytesIO()
    Image.new("1", (5000, 5000)).save(out, "PNG")
    assert len(out.getvalue()) < 100_000
    response = ask(client, SimpleUploadedFile("bomb.png", out.getvalue()))
    assert response.status_code == 400
    assert "too many pixels" in response.content.decode()
    assert Attachment.objects.count() == 0


def test_an_oversize_file_is_skipped_while_streaming_and_the_form_says_so(client):
    big = png() + os.urandom(MAX_BYTES)  # a valid start, then more than the cap
    response = ask(client, SimpleUploadedFile("huge.png", big), message="Still here")
    assert response.status_code == 400
    html = response.content.decode()
    assert "huge.png" in html and "Still here</textarea>" in html
    assert Inquiry.objects.count() == 0


def test_at_most_three_images(client):
    files = [SimpleUploadedFile(f"s{n}.png", png()) for n in range(4)]
    assert ask(client, *files).status_code == 400
    assert Attachment.objects.count() == 0


def test_a_guest_reply_can_carry_an_image(client):
    inquiry = InquiryFactory()
    client.post(
        f"/support/t/{tokens.guest_token(inquiry)}/",
        {"message": "Here", "attachments": [SimpleUploadedFile("a.png", png())]},
    )
    assert inquiry.messages.last().attachments.count() == 1


def _attachment(inquiry) -> Attachment:
    message = inquiry.messages.first()
    return Attachment.objects.create(
        message=message,
        name="image-1.png",
        content_type="image/png",
        size=10,
        width=1,
        height=1,
        data=png(text_chunk=False),
    )


def test_an_agent_downloads_an_attachment_and_it_is_logged(client, agent):
    # given
    customer = CustomerFactory()
    inquiry = InquiryFactory(user=customer)
    attachment = _attachment(inquiry)
    client.force_login(agent)

    # when
    page = client.get(f"/admin/support/inquiry/{inquiry.pk}/change/").content.decode()
    url = f"/admin/support/inquiry/{inquiry.pk}/attachment/{attachment.pk}/"
    response = client.get(url)

    # then
    assert url in page
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="image-1.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    assert response.content == bytes(attachment.data)
    assert (
        AccessLog.objects.filter(
            actor=agent, subject=customer, action=AccessAction.DOWNLOADED
        ).count()
        == 1
    )


@pytest.mark.parametrize("who", ["anonymous", "customer", "agent on a complaint", "store manager"])
def test_others_cannot_download_an_attachment(client, who, agent):
    from tests.factories import StaffFactory
    from tests.support.conftest import with_totp

    inquiry = InquiryFactory(
        category=Category.COMPLAINT if who == "agent on a complaint" else Category.ORDER
    )
    attachment = _attachment(inquiry)
    if who == "customer":
        client.force_login(CustomerFactory())
    elif who == "agent on a complaint":
        client.force_login(agent)
    elif who == "store manager":
        client.force_login(with_totp(StaffFactory(role="store manager")))
    response = client.get(f"/admin/support/inquiry/{inquiry.pk}/attachment/{attachment.pk}/")
    assert response.status_code in {302, 403}
    assert response.content != bytes(attachment.data)
    assert AccessLog.objects.filter(action=AccessAction.DOWNLOADED).count() == 0
