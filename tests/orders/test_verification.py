"""Verification documents end to end (real intake, real vault on disk, admin views): a held
order is emailed, the customer uploads, the files are encrypted at rest, a reviewer decides in
admin, the order is fulfilled once, a rejection is emailed and the customer uploads again."""

import re

import pytest
from django.core import mail
from django.utils import timezone

from orders.holds import verification_triggers
from orders.models import (
    DocumentStatus,
    Fulfilment,
    LicenceKey,
    LicenceKeyStatus,
    OrderEventKind,
    OrderStatus,
    VerificationDocument,
)
from orders.services.fulfilment import fulfil_order
from privacy.models import AccessAction, AccessLog
from tests.factories import CustomerFactory, OrderFactory
from tests.factories import documents as files

from .verification_helpers import (
    MARKER,
    held_order,
    identity_png,
    nothing_stored,
    paid_order,
    staff,
    statement_pdf,
    stored_files,
    upload,
    use_vault_dir,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def vault_dir(settings, tmp_path):
    return use_vault_dir(settings, tmp_path)


def _review_url(order):
    return f"/admin/orders/orderawaitingverification/{order.pk}/change/"


def _decide(client, document, **data):
    return client.post(
        f"/admin/orders/orderawaitingverification/document/{document.pk}/decide/", data
    )


# --- when verification is asked ------------------------------------------------------------


def test_a_first_big_order_is_held_and_emailed_in_the_customers_language(
    django_capture_on_commit_callbacks,
):
    customer = CustomerFactory(preferred_language="ms", full_name="Aina")
    order = paid_order(customer)
    with django_capture_on_commit_callbacks(execute=True):
        assert fulfil_order(order) is False
    order.refresh_from_db()
    assert order.status == OrderStatus.ON_HOLD
    assert order.events.filter(kind=OrderEventKind.HELD).count() == 1
    assert not Fulfilment.objects.filter(order=order).exists()
    assert list(
        LicenceKey.objects.filter(order_line__order=order).values_list("status", flat=True)
    ) == [LicenceKeyStatus.RESERVED]
    [email] = mail.outbox
    assert email.to == [customer.email]
    assert "pemegang kad" in email.subject  # Malay: "cardholder"
    assert "30" in email.body and "/orders/" + order.number in email.body


def test_the_page_says_awaiting_verification_and_what_to_upload(client):
    order = held_order()
    client.force_login(order.user)
    page = client.get(f"/orders/{order.number}/").content.decode()
    assert "Paid, held for verification" in page
    assert "Card statement" in page and "Identity document" in page
    assert "cover all but the last four digits" in page
    assert 'enctype="multipart/form-data"' in page


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (lambda s: {"subtotal_sen": 10_000}, []),
        (lambda s: {"subtotal_sen": 480_000}, ["total above RM 5000", "first order above RM 2000"]),
        (lambda s: {"subtotal_sen": 10_000, "high_risk": True}, ["high-risk product"]),
    ],
)
def test_the_hold_rule_triggers(setup, expected):
    order = paid_order(**setup(None))
    assert verification_triggers(order) == expected


def test_a_second_order_is_not_a_first_order_and_a_card_country_mismatch_holds():
    customer = CustomerFactory()
    OrderFactory(user=customer, status=OrderStatus.FULFILLED, paid_at=timezone.now())
    order = paid_order(customer)
    assert verification_triggers(order) == []
    order.attempts.update(card_country="SG")
    assert verification_triggers(order) == ["card issued in SG, billing country MY"]


def test_a_store_manager_holds_an_order_by_hand(client, django_capture_on_commit_callbacks):
    order = paid_order(subtotal_sen=10_000)
    manager = staff("store manager")
    client.force_login(manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/orders/order/{order.pk}/flag/", {"reason": "odd address"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.ON_HOLD and order.verification_flagged
    event = order.events.get(kind=OrderEventKind.HELD)
    assert event.actor == manager and "odd address" in event.message
    assert len(mail.outbox) == 1
    from ipmart.core.audit import changes_for

    (change,) = changes_for(order)
    assert change.actor == manager and change.detail == "odd address"
    # fulfilment keeps it held until documents are approved
    assert fulfil_order(order) is False


# --- upload --------------------------------------------------------------------------------


def test_uploads_are_encrypted_at_rest_with_previews(client, vault_dir, settings):
    order = held_order()
    client.force_login(order.user)
    first = upload(client, order, "card_statement", "statement.pdf", statement_pdf())
    second = upload(client, order, "identity", "ic.png", identity_png())
    assert (first.status_code, second.status_code) == (302, 302)
    documents = list(order.documents.order_by("id"))
    assert [(d.kind, d.status, d.content_type) for d in documents] == [
        ("card_statement", "pending", "application/pdf"),
        ("identity", "pending", "image/png"),
    ]
    assert [d.previews.count() for d in documents] == [1, 1]
    assert documents[0].original_name == "statement.pdf"
    blobs = stored_files(vault_dir)
    assert len(blobs) == 4  # two files, two previews
    for blob in blobs:
        raw = blob.read_bytes()
        assert MARKER.encode() not in raw and b"%PDF" not in raw and b"PNG" not in raw[:16]
        assert len(blob.name) == 36
    assert list((vault_dir.parent / "upload-tmp").iterdir()) == []
    page = client.get(f"/orders/{order.number}/").content.decode()
    assert page.count("Waiting for review") == 2


REFUSED = [
    ("truncated.pdf", files.truncated_pdf),
    ("script.pdf", files.javascript_pdf),
    ("locked.pdf", files.encrypted_pdf),
    ("attachment.pdf", files.embedded_file_pdf),
    ("html.pdf", files.html_with_pdf_marker),
    ("polyglot.png", files.png_zip_polyglot),
    ("setup.pdf", files.renamed_executable),
    ("empty.pdf", lambda: b""),
    ("bomb.png", files.image_bomb),
    ("loop.pdf", files.looping_pdf),
    ("card.pdf", lambda: files.text_pdf(["4111 1111 1111 1111"])),
]


@pytest.mark.parametrize(("name", "make"), REFUSED, ids=[r[0] for r in REFUSED])
def test_a_refused_file_gets_a_message_and_leaves_nothing(client, vault_dir, settings, name, make):
    order = held_order()
    client.force_login(order.user)
    response = upload(client, order, "card_statement", name, make())
    assert response.status_code == 400
    assert response.context["upload_form"].errors["file"]
    assert VerificationDocument.objects.count() == 0
    assert nothing_stored(vault_dir, settings.FILE_UPLOAD_TEMP_DIR)


def test_a_pdf_that_busies_the_parser_is_refused_and_the_server_goes_on(
    client, vault_dir, settings
):
    settings.INTAKE_PDF_CPU_SECONDS = 1
    order = held_order()
    client.force_login(order.user)
    response = upload(client, order, "card_statement", "heavy.pdf", files.heavy_pdf())
    assert response.status_code == 400
    assert "could not check this PDF in time" in response.content.decode()
    assert nothing_stored(vault_dir, settings.FILE_UPLOAD_TEMP_DIR)
    assert upload(client, order, "identity", "ok.png", identity_png()).status_code == 302


def test_an_oversize_file_is_dropped_while_it_streams_in(client, vault_dir, settings):
    settings.DOCUMENT_MAX_UPLOAD_MB = 1
    order = held_order()
    client.force_login(order.user)
    big = files.text_pdf(["x"])[:-6] + b" " * (1024 * 1024) + b"%%EOF\n"
    response = upload(client, order, "card_statement", "big.pdf", big)
    assert response.status_code == 400
    assert "larger than 1 MB" in response.content.decode()
    assert nothing_stored(vault_dir, settings.FILE_UPLOAD_TEMP_DIR)


def test_an_upload_without_csrf_token_is_refused_and_stores_nothing(vault_dir, settings):
    from django.test import Client

    order = held_order()
    client = Client(enforce_csrf_checks=True)
    client.force_login(order.user)
    response = upload(client, order, "identity", "ic.png", identity_png())
    assert response.status_code == 403
    assert nothing_stored(vault_dir, settings.FILE_UPLOAD_TEMP_DIR)


def test_the_number_of_files_is_capped(client, vault_dir, settings):
    settings.VERIFICATION_MAX_FILES = 2
    order = held_order()
    client.force_login(order.user)
    for _ in range(2):
        assert upload(client, order, "identity", "ic.png", identity_png()).status_code == 302
    third = upload(client, order, "identity", "ic.png", identity_png())
    assert third.status_code == 400
    assert order.documents.count() == 2
    assert len(stored_files(vault_dir)) == 4


def test_only_the_owner_can_upload_and_only_while_held(client, vault_dir, settings):
    order = held_order()
    response = upload(client, order, "identity", "ic.png", identity_png())
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(CustomerFactory())
    assert upload(client, order, "identity", "ic.png", identity_png()).status_code == 404
    unheld = paid_order(subtotal_sen=10_000)
    client.force_login(unheld.user)
    assert upload(client, unheld, "identity", "ic.png", identity_png()).status_code == 400
    assert nothing_stored(vault_dir, settings.FILE_UPLOAD_TEMP_DIR)


# --- review --------------------------------------------------------------------------------


def _held_with_two_documents(client):
    order = held_order()
    client.force_login(order.user)
    upload(client, order, "card_statement", "statement.pdf", statement_pdf())
    upload(client, order, "identity", "ic.png", identity_png())
    return order, list(order.documents.order_by("id"))


def test_the_reviewer_approves_and_the_order_is_fulfilled_once(
    client,
    vault_dir,
    django_capture_on_commit_callbacks,
):
    order, (statement, identity) = _held_with_two_documents(client)
    reviewer = staff("verification reviewer")
    client.force_login(reviewer)

    page = client.get(_review_url(order))
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    html = page.content.decode()
    assert f"/document/{statement.pk}/preview/1/" in html
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []  # no inline script
    preview = client.get(
        f"/admin/orders/orderawaitingverification/document/{statement.pk}/preview/1/"
    )
    assert preview.status_code == 200 and preview.content.startswith(b"\x89PNG")

    with django_capture_on_commit_callbacks(execute=True):
        assert _decide(client, statement, decision="approve").status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.ON_HOLD and not mail.outbox
    with django_capture_on_commit_callbacks(execute=True):
        _decide(client, identity, decision="approve")
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED
    assert Fulfilment.objects.filter(order=order).count() == 1
    assert list(
        LicenceKey.objects.filter(order_line__order=order).values_list("status", flat=True)
    ) == [LicenceKeyStatus.ISSUED]
    assert [m.to for m in mail.outbox] == [[order.email]]
    assert "key" in mail.outbox[0].body.lower()
    # approving again changes nothing
    _decide(client, identity, decision="approve")
    assert Fulfilment.objects.filter(order=order).count() == 1
    kinds = list(order.events.values_list("kind", flat=True))
    assert kinds.count(OrderEventKind.DOCUMENT_APPROVED) == 2
    assert kinds.count(OrderEventKind.VERIFIED) == 1 and kinds.count(OrderEventKind.FULFILLED) == 1
    # each decision is in the staff audit trail, under the reviewer's name
    from ipmart.core.models import StaffChange

    decisions = StaffChange.objects.filter(
        content_type__model="verificationdocument", actor=reviewer
    )
    assert sorted(int(c.object_id) for c in decisions) == [statement.pk, identity.pk]
    assert all(c.changes["status"] == ["Waiting for review", "Approved"] for c in decisions)
    # every opening is in the access log and shown to the customer
    views = AccessLog.objects.filter(
        target_type="orders.verificationdocument", action=AccessAction.VIEWED
    )
    assert views.count() == 1 and views.get().actor_role == "verification reviewer"
    client.force_login(order.user)
    assert "a verification reviewer" in client.get(f"/orders/{order.number}/").content.decode()


def test_a_rejection_is_emailed_with_its_reason_and_the_customer_uploads_again(
    client,
    vault_dir,
    django_capture_on_commit_callbacks,
):
    order, (statement, identity) = _held_with_two_documents(client)
    client.force_login(staff("verification reviewer"))
    # a reason is required
    _decide(client, statement, decision="reject", **{f"d{statement.pk}-reason": "other"})
    statement.refresh_from_db()
    assert statement.status == DocumentStatus.PENDING
    with django_capture_on_commit_callbacks(execute=True):
        _decide(
            client,
            statement,
            decision="reject",
            **{f"d{statement.pk}-reason": "unreadable", f"d{statement.pk}-note": "Too blurry"},
        )
    statement.refresh_from_db()
    assert (statement.status, statement.rejection_reason) == ("rejected", "unreadable")
    [email] = mail.outbox
    assert "not readable" in email.body and "Too blurry" in email.body
    # the customer sees it and uploads again
    client.force_login(order.user)
    page = client.get(f"/orders/{order.number}/").content.decode()
    assert "Too blurry" in page and 'name="file"' in page
    assert upload(client, order, "card_statement", "new.pdf", statement_pdf()).status_code == 302
    assert order.documents.filter(status=DocumentStatus.PENDING).count() == 2


def test_a_wrong_key_fails_closed_on_the_preview(client, vault_dir, settings):
    from privacy.keys import new_master_key

    order, (statement, _) = _held_with_two_documents(client)
    client.force_login(staff("verification reviewer"))
    settings.DOCUMENT_KEYS = [new_master_key(settings.DOCUMENT_KEYS[0].split(":")[0])]
    response = client.get(
        f"/admin/orders/orderawaitingverification/document/{statement.pk}/preview/1/"
    )
    assert response.status_code == 503
    assert b"PNG" not in response.content


def test_the_preview_headers(client, vault_dir):
    order, (statement, _) = _held_with_two_documents(client)
    client.force_login(staff("verification reviewer"))
    response = client.get(
        f"/admin/orders/orderawaitingverification/document/{statement.pk}/preview/1/"
    )
    assert response["Content-Type"] == "image/png"
    assert (
        response["Content-Disposition"] == f'inline; filename="document-{statement.pk}-page-1.png"'
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    assert response["Content-Security-Policy"].startswith("default-src 'none'")
    assert "sandbox" in response["Content-Security-Policy"]


def test_uploads_are_rate_limited(client, vault_dir, settings, monkeypatch):
    from orders import views

    monkeypatch.setattr(views, "UPLOADS_PER_MINUTE", 2)
    settings.VERIFICATION_MAX_FILES = 5
    order = held_order()
    client.force_login(order.user)
    codes = [
        upload(client, order, "identity", "ic.png", identity_png()).status_code for _ in range(3)
    ]
    assert codes == [302, 302, 429]
    assert order.documents.count() == 2


def test_the_order_page_reads_in_malay_and_the_privacy_centre_shows_the_opening(client, vault_dir):
    order = held_order(CustomerFactory(preferred_language="ms"))
    client.force_login(order.user)
    upload(client, order, "identity", "ic.png", identity_png())
    page = client.get(f"/orders/{order.number}/").content.decode()
    assert "Dokumen pengesahan" in page and "Tutup nombor kad." in page
    document = order.documents.get()
    client.force_login(staff("verification reviewer"))
    client.get(f"/admin/orders/orderawaitingverification/document/{document.pk}/preview/1/")
    client.force_login(order.user)
    centre = client.get("/account/privacy/").content.decode()
    assert "penyemak pengesahan" in centre  # the reviewer's role, in the customer's language
