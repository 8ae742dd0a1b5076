"""A customer sees a refund in a real Chromium, on a phone (360 px) and a desktop (1280 px): the
order is flagged "partly refunded", the credit note is listed and opens as a printable page with
the seller's facts, the refunded line's key is shown revoked (masked, not copyable as a usable
key) while the other key still is, and the receipt lists the credit note."""

import re

import pytest

from orders.models import LicenceKey, LicenceKeyStatus, OrderStatus
from orders.services.refunds import refund_order_lines
from tests.e2e.test_shop_journey import buy, customer_with_address, pay, sign_in
from tests.factories import ProductFactory, StaffFactory
from tests.orders.conftest import APPROVED, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _fits(page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 800})
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{page.url} scrolls sideways at {width} px ({scroll} px wide)"


@pytest.mark.parametrize("width", [360, 1280])
def test_the_customer_sees_the_credit_note_and_the_revoked_key(store, page, width):
    office = ProductFactory(
        licence=True, keys=2, name="Office Home 2024", slug="office-home", price_sen=55900
    )
    addon = ProductFactory(
        licence=True, keys=2, name="Antivirus Plus", slug="antivirus-plus", price_sen=10000
    )
    customer = customer_with_address()
    page.set_viewport_size({"width": width, "height": 800})
    sign_in(page, store.url, customer)
    page.goto(store.url + f"/shop/{addon.slug}/")
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_url(re.compile(r"/cart/$"))
    buy(page, store.url, office)
    pay(page, APPROVED)
    page.wait_for_url(re.compile(r"/orders/IPM-"))
    order = customer.orders.get()
    wait_until(
        lambda: order.__class__.objects.get(pk=order.pk).status == OrderStatus.FULFILLED,
        what="fulfilled",
    )
    office_line, addon_line = order.lines.order_by("id")
    # a store manager refunds the add-on
    refund_order_lines(
        order,
        lines={addon_line.pk: 1},
        reason="not needed",
        acting_user=StaffFactory(role="store manager"),
    )
    kept = LicenceKey.objects.get(order_line=office_line, status=LicenceKeyStatus.ISSUED)
    revoked = LicenceKey.objects.get(order_line=addon_line, status=LicenceKeyStatus.REVOKED)

    # the order page: flagged, the credit note listed, the add-on's key revoked
    page.goto(store.url + f"/orders/{order.number}/")
    assert page.locator(".status-partly-refunded").inner_text() == "Partly refunded"
    assert page.locator("code.licence-key").all_inner_texts() == [kept.key]
    assert revoked.key not in page.content()
    revoked_item = page.locator(".revoked-key")
    assert revoked_item.inner_text() == (
        f"{revoked.masked} revoked after the refund: no longer valid"
    )
    refunds = page.locator("#refunds").inner_text()
    assert "Credit note CN-000001" in refunds and "RM 108.00" in refunds
    assert "1 × Antivirus Plus" in refunds
    _fits(page, width)

    # the credit note, printable like the receipt, with the seller's facts
    page.get_by_role("link", name="Credit note CN-000001").click()
    page.wait_for_url(re.compile(r"/credit-notes/CN-000001/$"))
    note = page.locator("main").inner_text()
    assert "IPmart" in note and "ipmart.com.my" in note and order.number in note
    assert "Antivirus Plus" in note and "Office Home 2024" not in note
    assert "RM 108.00" in note and "RM 8.00" in note
    _fits(page, width)

    # the receipt lists it too (its refund section fits; the receipt's own line table is
    # sf-shipping's: on main today it makes the page 408 px wide at 360 px)
    page.goto(store.url + f"/orders/{order.number}/receipt/")
    section = page.locator("section.refunds")
    assert "Credit note CN-000001" in section.inner_text()
    assert section.evaluate("s => s.scrollWidth <= s.clientWidth")  # nothing of its own sticks out
