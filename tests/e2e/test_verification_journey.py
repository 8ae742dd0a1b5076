"""Verification documents in a real Chromium: a customer whose first big order is held uploads
two documents; a reviewer rejects one with a reason; the customer uploads again; the reviewer
approves; the customer sees the licence key. The pages fit a 360 px screen."""

import re

import pytest
from django.conf import settings
from django.test import Client

from orders.models import DocumentStatus, LicenceKey, OrderStatus
from tests.e2e.test_shop_journey import buy, customer_with_address, pay, sign_in
from tests.factories import ProductFactory
from tests.factories import documents as files
from tests.orders.conftest import APPROVED, wait_until
from tests.orders.verification_helpers import staff, use_vault_dir

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _reviewer_page(browser, store):
    """A reviewer's browser with a logged-in session (the reviewer has TOTP enrolled; the
    allauth login with a second factor is tested in tests/accounts)."""
    client = Client()
    client.force_login(staff("verification reviewer"))
    context = browser.new_context(locale="en-GB")
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": store.url,
            }
        ]
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.console_errors = errors
    return page


def _upload(page, kind: str, path) -> None:
    page.get_by_label("Kind of document").select_option(label=kind)
    page.get_by_label("File (PDF, JPEG or PNG)").set_input_files(str(path))
    page.get_by_role("button", name="Upload").click()
    page.wait_for_load_state()


def _fits(page, width: int = 360) -> bool:
    page.set_viewport_size({"width": width, "height": 800})
    wide = page.evaluate(
        "w => [...document.querySelectorAll('body *')]"
        ".filter(e => e.getBoundingClientRect().right > w)"
        ".map(e => e.tagName + '.' + e.className)",
        width,
    )
    assert wide == [], wide
    return page.evaluate("document.documentElement.scrollWidth") <= width


def test_held_order_documents_rejected_reuploaded_approved_key_shown(
    store, page, browser, settings, tmp_path
):
    use_vault_dir(settings, tmp_path)
    statement = tmp_path / "statement.pdf"
    statement.write_bytes(files.text_pdf(["Bank statement", "Card **** **** **** 1111"]))
    identity = tmp_path / "ic.png"
    identity.write_bytes(files.png(300, 200))
    product = ProductFactory(
        licence=True, keys=2, name="Server 2025", slug="server-2025", price_sen=300_000
    )
    customer = customer_with_address()

    # a first order above RM 2,000 is paid and held
    sign_in(page, store.url, customer)
    buy(page, store.url, product)
    pay(page, APPROVED)
    page.wait_for_url(re.compile(r"/orders/IPM-"))
    order = customer.orders.get()
    wait_until(
        lambda: order.__class__.objects.get(pk=order.pk).status == OrderStatus.ON_HOLD,
        what="held",
    )
    page.reload()
    assert page.get_by_text("cover all but the last four digits").is_visible()
    assert _fits(page)
    page.set_viewport_size({"width": 1280, "height": 900})
    _upload(page, "Card statement", statement)
    assert page.get_by_text("We received your document").is_visible()
    _upload(page, "Identity document", identity)
    assert page.locator(".doc-pending").count() == 2

    # the reviewer sees both previews and rejects the identity document
    reviewer = _reviewer_page(browser, store)
    reviewer.goto(store.url + "/admin/orders/orderawaitingverification/")
    reviewer.get_by_role("link", name=order.number).click()
    images = reviewer.locator(".previews img")
    assert images.count() == 2
    wait_until(
        lambda: images.evaluate_all("els => els.every(i => i.complete && i.naturalWidth > 0)"),
        what="the previews to load",
    )
    identity_doc = order.documents.get(kind="identity")
    card = reviewer.locator(f"#document-{identity_doc.pk}")
    card.get_by_label("Reason").select_option(label="The document is not readable")
    card.get_by_label("Note to the customer").fill("The photo is blurred")
    card.get_by_role("button", name="Reject").click()
    reviewer.wait_for_load_state()
    assert reviewer.get_by_text("The customer was emailed the reason").is_visible()

    # the customer sees the reason and uploads again
    page.reload()
    assert page.get_by_text("The photo is blurred").is_visible()
    _upload(page, "Identity document", identity)
    assert page.locator(".doc-pending").count() == 2

    # the reviewer approves both waiting documents
    reviewer.reload()
    for document in order.documents.filter(status=DocumentStatus.PENDING).order_by("id"):
        reviewer.locator(f"#document-{document.pk}").get_by_role("button", name="Approve").click()
        reviewer.wait_for_load_state()
    wait_until(
        lambda: order.__class__.objects.get(pk=order.pk).status == OrderStatus.FULFILLED,
        what="fulfilled",
    )

    # the customer sees the licence key, and who opened the documents
    page.reload()
    key = LicenceKey.objects.get(order_line__order=order).key
    assert page.locator("code.licence-key").inner_text() == key
    assert page.get_by_text("a verification reviewer").first.is_visible()
    assert _fits(page)
    assert page.console_errors == []
    assert reviewer.console_errors == []
