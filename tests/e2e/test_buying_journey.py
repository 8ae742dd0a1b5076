"""Buying goods and a licence in a real Chromium, at a phone's and a desktop's width: the shop,
the cart's shipping estimate, signing up from the checkout and coming back to it through the
emailed link, choosing a shipping method, paying on the sandbox's hosted page (which shows the
order's own number), the keys appearing without a reload, and the receipt."""

import re

import pytest
from django.core import mail

import ipmart.core.outbox as outbox
from orders.demo_shipping import seed_shipping_methods
from orders.models import LicenceKey, Order, OrderStatus
from tests.factories import CategoryFactory, ProductFactory
from tests.orders.conftest import APPROVED, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long and unusual passphrase"


def fits_the_screen(page, selector: str | None = None) -> bool:
    """The page (or one element of it) needs no sideways scroll."""
    if selector is None:
        return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    right = page.locator(selector).evaluate("e => e.getBoundingClientRect().right")
    return right <= page.evaluate("window.innerWidth")


@pytest.fixture
def catalogue():
    category = CategoryFactory(name="Everything", slug="everything")
    licence = ProductFactory(
        licence=True,
        keys=3,
        name="Office Home 2024",
        slug="office-home",
        price_sen=55900,
        category=category,
    )
    dock = ProductFactory(
        name="USB-C Dock", slug="usb-c-dock", price_sen=12000, stock=5, category=category
    )
    seed_shipping_methods()
    return licence, dock


@pytest.fixture
def held_fulfilment(monkeypatch):
    """Outbox messages (fulfilment, emails) wait until the test lets them go, so the order page
    is seen before the keys exist."""
    held: list[int] = []
    original = outbox.relay
    monkeypatch.setattr(outbox, "relay", held.append)

    def release() -> None:
        while held:
            original(held.pop(0))

    return release


@pytest.mark.parametrize("width", [360, 1280])
def test_goods_and_a_licence_from_signup_at_checkout_to_keys_and_receipt(
    store, page, catalogue, held_fulfilment, settings, width
):
    settings.SITE_URL = store.url  # emails link to SITE_URL
    settings.SELLER_LEGAL_NAME = "IPmart Sdn. Bhd."
    settings.SELLER_SST_NUMBER = "W10-1808-31000123"
    page.set_viewport_size({"width": width, "height": 900})
    licence, dock = catalogue
    base = store.url

    # browse → product → cart, goods and a licence
    page.goto(base + "/shop/")
    page.get_by_role("link", name="USB-C Dock").first.click()
    page.wait_for_url(re.compile(r"/shop/usb-c-dock/$"))
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_url(re.compile(r"/cart/$"))
    page.goto(base + "/shop/office-home/")
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_url(re.compile(r"/cart/$"))
    # the estimate: Pos Laju standard RM 8.00 + 8% service tax
    assert page.get_by_text(
        "Shipping to Peninsular Malaysia from RM 8.64 (with SST); you choose the method at "
        "checkout."
    ).is_visible()
    # the estimate fits (the cart's table itself is the layout's work: sf-layout)
    assert fits_the_screen(page, ".shipping-estimate")
    assert fits_the_screen(page, ".cart-footer .totals")

    # checkout → log in → sign up instead
    page.get_by_role("link", name="Check out").click()
    page.wait_for_url(re.compile(r"/accounts/login/\?next=/checkout/$"))
    page.locator("main").get_by_role("link", name="sign up").click()
    page.wait_for_url(re.compile(r"/accounts/signup/\?next="))
    page.get_by_label("Full name").fill("Nurul Aina")
    page.get_by_label("Email").fill("nurul@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.locator("#id_accept_privacy_policy").check()
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/accounts/confirm-email/$"))

    # the emailed link (the verification email is an outbox message too: let it go)
    held_fulfilment()
    wait_until(lambda: mail.outbox, what="the verification email")
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body).group(0)
    page.goto(link)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/accounts/login/\?next=%2Fcheckout%2F$"))
    page.get_by_label("Email").fill("nurul@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()

    # back to the checkout, which asks for an address first and comes back
    page.wait_for_url(re.compile(r"/account/addresses/new/\?next=/checkout/$"))
    page.get_by_label("Address line 1").fill("8 Jalan Tun Razak")
    page.get_by_label("City").fill("Kuala Lumpur")
    page.get_by_label("State or region").fill("Wilayah Persekutuan")
    page.get_by_label("Postcode").fill("50400")
    page.get_by_role("button", name="Save address").click()
    page.wait_for_url(re.compile(r"/checkout/$"))
    assert fits_the_screen(page)

    # the methods of Peninsular Malaysia, with price (with tax) and delivery estimate
    express = page.get_by_label("Pos Laju express (next day) · RM 16.20 · 1 working day")
    assert page.get_by_label("Pos Laju standard · RM 8.64 · 2–4 working days").is_checked()
    assert page.get_by_label(re.compile("EMS")).count() == 0
    express.check()
    page.get_by_role("button", name="Place order and pay").click()
    page.wait_for_url(re.compile(r"/hostedcheckout/"))

    # the hosted page shows the order's own number and the total with shipping
    order = Order.objects.get()
    assert (order.shipping_method_name, order.shipping_sen, order.shipping_tax_sen) == (
        "Pos Laju express (next day)",
        1500,
        120,
    )
    # 559.00 + 8% = 603.72; 120.00 + 10% = 132.00; shipping 15.00 + 8% = 16.20
    assert order.total_sen == 60372 + 13200 + 1620
    assert page.locator(".reference strong").inner_text() == order.number
    assert page.locator(".amount").inner_text() == "MYR 751.92"
    assert order.attempts.get().amount_sen == order.total_sen

    # pay; the store's page shows the order before the keys are issued
    page.get_by_label("Name on card").fill("Nurul Aina")
    page.get_by_label("Card number").fill(APPROVED)
    page.get_by_label("Expiry (MM/YY)").fill("12/30")
    page.get_by_label("CVC").fill("123")
    page.get_by_role("button", name=re.compile(r"^Pay")).click()
    page.wait_for_url(re.compile(rf"/orders/{order.number}/$"))
    assert page.get_by_text("Thank you, your payment was received.").is_visible()
    assert page.get_by_text("Waiting for your licence keys…").is_visible()
    assert page.locator("code.licence-key").count() == 0
    page.evaluate("window.stillTheSamePage = true")

    # when fulfilment runs, the keys appear on the same page (no reload), with copy buttons
    held_fulfilment()
    wait_until(
        lambda: (
            Order.objects.get(pk=order.pk).status == OrderStatus.PAID
            and LicenceKey.objects.filter(order_line__order=order, status="issued").exists()
        ),
        what="keys issued",
    )
    key = LicenceKey.objects.get(order_line__order=order).key
    page.locator("code.licence-key").wait_for(timeout=20000)
    assert page.locator("code.licence-key").inner_text() == key
    assert page.get_by_role("button", name=f"Copy {key}").is_visible()
    assert page.evaluate("window.stillTheSamePage") is True
    assert page.get_by_text(
        "Payment received. Your licence keys are below. Your goods are being prepared for "
        "shipping; we email you the tracking number."
    ).is_visible()
    assert fits_the_screen(page)

    # the receipt: shipping, the seller's legal facts, the same order number
    page.get_by_role("link", name="Print the receipt").click()
    page.wait_for_url(re.compile(rf"/orders/{order.number}/receipt/$"))
    receipt = page.locator("main").inner_text()
    assert "Shipping: Pos Laju express (next day)" in receipt
    assert "IPmart Sdn. Bhd." in receipt
    assert "SST registration number: W10-1808-31000123" in receipt
    assert order.number in receipt and "Payment reference" not in receipt
    assert "RM 751.92" in receipt
    assert fits_the_screen(page)
    assert page.console_errors == []
