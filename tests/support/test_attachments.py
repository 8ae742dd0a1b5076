"""Attachments to inquiries (JPEG, PNG, PDF) through privacy.intake and the vault: type from the
bytes, size capped while streaming, PDFs checked (card numbers refused) and rendered to
previews, kept only encrypted; the hostile corpus refused with nothing left behind and the
text kept; agents open previews only (permission-checked, logged), customers and guests their
own files."""

import io
import os

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from privacy import vault
from privacy.models import AccessAction, AccessLog, VaultFile
from support import tokens
from support.attachments import MAX_BYTES
from support.models import Attachment, AttachmentPreview, Category, Inquiry, Message
from tests.factories import CustomerFactory, InquiryFactory, attach_file
from tests.factories import documents as files
from tests.orders.verification_helpers import (
    MARKER,
    nothing_stored,
    staff,
    stored_files,
    use_vault_dir,
)

pytestmark = pytest.mark.django_db

ASK = "/support/ask/"


@pytest.fixture
def vault_dir(settings, tmp_path):
    return use_vault_dir(settings, tmp_path)


def marked_pdf() -> bytes:
    return files.text_pdf(["Invoice for my licence", MARKER, "Card ending **** **** **** 1111"])


def ask(client, *uploads, message="See the file", category="licence_key"):
    return client.post(
        ASK,
        {
            "name": "Siti",
            "email": "siti@example.com",
            "category": category,
            "subject": "Error",
            "message": message,
            "attachments": list(uploads),
        },
    )


def _assert_no_plaintext(vault_dir) -> None:
    blobs = stored_files(vault_dir)
    assert blobs, "the vault holds the files"
    for path in blobs:
        data = path.read_bytes()
        assert MARKER.encode() not in data and b"%PDF" not in data and b"PNG" not in data


def test_an_image_and_a_pdf_are_kept_encrypted_with_previews(client, vault_dir):
    # given
    pdf = marked_pdf()
    uploads = [
        files.upload("photo.jpeg", files.jpeg(120, 80, gps=True), "image/jpeg"),
        files.upload("invoice.pdf", pdf, "application/pdf"),
    ]

    # when
    response = ask(client, *uploads)

    # then
    assert response.status_code == 302
    photo, invoice = Attachment.objects.order_by("id")
    assert (photo.name, photo.original_name, photo.content_type, photo.pages) == (
        "file-1.jpg",
        "photo.jpeg",
        "image/jpeg",
        1,
    )
    assert (invoice.name, invoice.original_name, invoice.content_type) == (
        "file-2.pdf",
        "invoice.pdf",
        "application/pdf",
    )
    assert vault.read_bytes(invoice.file) == pdf
    assert invoice.size == len(pdf)
    jpeg = vault.read_bytes(photo.file)
    assert b"SecretCam" not in jpeg  # re-encoded: no EXIF, no GPS
    assert Image.open(io.BytesIO(jpeg)).size == (120, 80)
    assert list(invoice.previews.values_list("page", flat=True)) == [1]
    preview = vault.read_bytes(invoice.previews.get().file)
    assert preview.startswith(b"\x89PNG\r\n\x1a\n")
    # nothing readable on disk: 2 files + 2 previews, all ciphertext
    assert len(stored_files(vault_dir)) == VaultFile.objects.count() == 4
    _assert_no_plaintext(vault_dir)


HOSTILE = [
    ("truncated.pdf", files.truncated_pdf, "damaged"),
    ("script.pdf", files.javascript_pdf, "scripts, forms"),
    ("open-action.pdf", files.open_action_javascript_pdf, "scripts, forms"),
    ("locked.pdf", files.encrypted_pdf, "password"),
    ("attachment.pdf", files.embedded_file_pdf, "scripts, forms"),
    ("form.pdf", files.form_pdf, "scripts, forms"),
    ("html.pdf", files.html_with_pdf_marker, "not accepted"),
    ("appended.pdf", files.pdf_with_html_appended, "damaged"),
    ("polyglot.png", files.png_zip_polyglot, "extra data"),
    ("setup.pdf", files.renamed_executable, "not accepted"),
    ("bomb.png", files.image_bomb, "too many pixels"),
    ("loop.pdf", files.looping_pdf, "damaged"),
    ("png-as.pdf", files.png, "not accepted"),
    ("anim.gif", lambda: b"GIF89a" + b"\x00" * 40, "not accepted"),
    ("card.pdf", lambda: files.text_pdf(["Card 4111 1111 1111 1111"]), "full card number"),
    ("long.pdf", lambda: files.many_pages_pdf(21), "more than 20 pages"),
]


@pytest.mark.parametrize(("name", "make", "says"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_the_hostile_corpus_is_refused_the_text_kept_and_nothing_left_behind(
    client, vault_dir, name, make, says
):
    # when
    response = ask(client, files.upload(name, make()), message="Keep my words")

    # then
    assert response.status_code == 400
    html = response.content.decode()
    assert "Keep my words</textarea>" in html
    assert name in html and says in html
    assert Inquiry.objects.count() == Message.objects.count() == Attachment.objects.count() == 0
    assert nothing_stored(vault_dir, django_settings.FILE_UPLOAD_TEMP_DIR)


def test_a_refusal_reads_in_the_customers_language(client, vault_dir):
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "ms"
    card = files.text_pdf(["Card 4111 1111 1111 1111"])
    response = ask(client, files.upload("kad.pdf", card), message="Kata-kata saya")
    assert response.status_code == 400
    html = response.content.decode()
    assert "Dokumen ini menunjukkan nombor kad penuh." in html
    assert "Kata-kata saya</textarea>" in html
    assert nothing_stored(vault_dir, django_settings.FILE_UPLOAD_TEMP_DIR)


def test_an_oversize_file_is_dropped_while_streaming_and_nothing_touches_the_disk(
    client, vault_dir
):
    big = files.png() + b"\x00" * MAX_BYTES  # a valid start, then more than the cap
    response = ask(client, SimpleUploadedFile("huge.png", big), message="Still here")
    assert response.status_code == 400
    html = response.content.decode()
    assert "huge.png" in html and "more than 5 MB" in html and "Still here</textarea>" in html
    assert Inquiry.objects.count() == 0
    assert nothing_stored(vault_dir, django_settings.FILE_UPLOAD_TEMP_DIR)


def test_two_files_that_together_pass_one_files_cap_are_both_kept(client, vault_dir):
    # each under 5 MB, together over it: the cap is per file
    noise = Image.frombytes("RGB", (1200, 1000), os.urandom(1200 * 1000 * 3))
    out = io.BytesIO()
    noise.save(out, "PNG", compress_level=0)
    assert 3 * 1024 * 1024 < len(out.getvalue()) < MAX_BYTES
    uploads = [files.upload(f"big{n}.png", out.getvalue()) for n in range(2)]
    assert ask(client, *uploads).status_code == 302
    assert Attachment.objects.count() == 2


def test_at_most_three_files(client, vault_dir):
    uploads = [files.upload(f"s{n}.png", files.png()) for n in range(4)]
    assert ask(client, *uploads).status_code == 400
    assert Attachment.objects.count() == 0
    assert nothing_stored(vault_dir, django_settings.FILE_UPLOAD_TEMP_DIR)


def test_a_failure_after_the_blobs_were_written_deletes_them(client, vault_dir, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(AttachmentPreview.objects, "bulk_create", broken)
    with pytest.raises(RuntimeError):
        ask(client, files.upload("a.pdf", marked_pdf()))
    assert Inquiry.objects.count() == 0
    assert nothing_stored(vault_dir, django_settings.FILE_UPLOAD_TEMP_DIR)


def test_a_guest_reply_can_carry_a_pdf(client, vault_dir):
    inquiry = InquiryFactory()
    response = client.post(
        f"/support/t/{tokens.guest_token(inquiry)}/",
        {"message": "Here", "attachments": [files.upload("invoice.pdf", marked_pdf())]},
    )
    assert response.status_code == 302
    attachment = inquiry.messages.last().attachments.get()
    assert attachment.content_type == "application/pdf"
    _assert_no_plaintext(vault_dir)


# --- who may open what -------------------------------------------------------------------


def _preview_url(attachment, page=1) -> str:
    inquiry = attachment.message.inquiry
    return f"/admin/support/inquiry/{inquiry.pk}/attachment/{attachment.pk}/{page}/"


def _pdf_attachment(inquiry):
    return attach_file(inquiry.messages.first(), "invoice.pdf", marked_pdf())


PREVIEW_CASES = [
    # (who, category, allowed)
    ("anonymous", Category.ORDER, False),
    ("owner", Category.ORDER, False),
    ("another customer", Category.ORDER, False),
    ("support agent", Category.ORDER, True),
    ("support agent", Category.PRIVACY_REQUEST, False),
    ("store manager", Category.ORDER, False),
    ("verification reviewer", Category.ORDER, False),
    ("marketing manager", Category.ORDER, False),
    ("data protection officer", Category.PRIVACY_REQUEST, True),
    ("superuser", Category.COMPLAINT, True),
]


def _login(client, who, owner):
    if who == "anonymous":
        return None
    if who == "owner":
        user = owner
    elif who == "another customer":
        user = CustomerFactory()
    elif who == "superuser":
        user = staff(is_superuser=True)
    else:
        user = staff(who)
    client.force_login(user)
    return user


@pytest.mark.parametrize(("who", "category", "allowed"), PREVIEW_CASES)
def test_the_agents_preview_view_matrix(client, vault_dir, who, category, allowed):
    # given
    owner = CustomerFactory()
    inquiry = InquiryFactory(user=owner, category=category)
    attachment = _pdf_attachment(inquiry)
    expected = vault.read_bytes(attachment.previews.get().file)
    user = _login(client, who, owner)

    # when
    response = client.get(_preview_url(attachment))

    # then
    viewed = AccessLog.objects.filter(action=AccessAction.VIEWED, subject=owner)
    if allowed:
        assert response.status_code == 200
        assert response.content == expected and response["Content-Type"] == "image/png"
        assert response["Content-Disposition"] == (
            f'inline; filename="{inquiry.reference}-{attachment.pk}-page-1.png"'
        )
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "no-store" in response["Cache-Control"]
        assert response["Content-Security-Policy"] == "default-src 'none'; img-src 'self'; sandbox"
        assert [(row.actor_id, row.detail) for row in viewed] == [
            (
                user.pk,
                f"admin inquiry {inquiry.reference} attachment {attachment.pk} preview page 1",
            )
        ]
    else:
        assert response.status_code in {302, 403}
        assert response.content != expected
        assert not viewed.exists()
        # staff who reach the view without the right are refused and that is logged; others
        # never pass the admin's login
        denied = AccessLog.objects.filter(action=AccessAction.DENIED, subject=owner)
        is_staff = user is not None and user.is_staff
        assert [row.actor_id for row in denied] == ([user.pk] if is_staff else [])


def test_the_agent_never_gets_the_pdf_itself(client, vault_dir):
    inquiry = InquiryFactory(user=CustomerFactory())
    attachment = _pdf_attachment(inquiry)
    client.force_login(staff("support agent"))
    page = client.get(f"/admin/support/inquiry/{inquiry.pk}/change/").content.decode()
    assert _preview_url(attachment) in page
    assert f"/support/inquiries/{inquiry.reference}/files/" not in page
    assert b"%PDF" not in client.get(_preview_url(attachment)).content


def test_a_shredded_preview_is_gone_for_everyone(client, vault_dir):
    inquiry = InquiryFactory(user=CustomerFactory())
    attachment = _pdf_attachment(inquiry)
    vault.shred(attachment.previews.get().file)
    client.force_login(staff(is_superuser=True))
    assert client.get(_preview_url(attachment)).status_code == 404


DOWNLOAD_CASES = [
    ("anonymous", 302),
    ("owner", 200),
    ("another customer", 404),
    ("support agent", 404),
]


@pytest.mark.parametrize(("who", "status"), DOWNLOAD_CASES)
def test_a_customer_downloads_their_own_file_only(client, vault_dir, who, status):
    owner = CustomerFactory()
    inquiry = InquiryFactory(user=owner)
    attachment = _pdf_attachment(inquiry)
    _login(client, who, owner)
    url = f"/support/inquiries/{inquiry.reference}/files/{attachment.pk}/"

    response = client.get(url)

    assert response.status_code == status
    if status == 200:
        assert b"".join(response.streaming_content) == marked_pdf()
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"] == (
            f'attachment; filename="{inquiry.reference}-{attachment.pk}.pdf"'
        )
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "no-store" in response["Cache-Control"]
        assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
        thread = client.get(f"/support/inquiries/{inquiry.reference}/").content.decode()
        assert url in thread and "invoice.pdf" in thread


def test_a_guest_downloads_through_a_valid_link_only(client, vault_dir):
    inquiry = InquiryFactory()
    attachment = _pdf_attachment(inquiry)
    other = InquiryFactory()
    others_file = _pdf_attachment(other)
    token = tokens.guest_token(inquiry)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")

    ok = client.get(f"/support/t/{token}/files/{attachment.pk}/")
    bad = client.get(f"/support/t/{tampered}/files/{attachment.pk}/")
    cross = client.get(f"/support/t/{token}/files/{others_file.pk}/")

    assert ok.status_code == 200 and b"".join(ok.streaming_content) == marked_pdf()
    assert bad.status_code == 404 and b"%PDF" not in bad.content
    assert cross.status_code == 404
    page = client.get(f"/support/t/{token}/").content.decode()
    assert f"/support/t/{token}/files/{attachment.pk}/" in page


def test_a_customer_cannot_download_an_internal_notes_file(client, vault_dir):
    from support.models import MessageChannel, MessageKind

    owner = CustomerFactory()
    inquiry = InquiryFactory(user=owner)
    note = Message.objects.create(
        inquiry=inquiry, kind=MessageKind.NOTE, channel=MessageChannel.ADMIN, body="staff only"
    )
    hidden = attach_file(note, "x.png")
    client.force_login(owner)
    assert (
        client.get(f"/support/inquiries/{inquiry.reference}/files/{hidden.pk}/").status_code == 404
    )
