"""Buying a licence in a real Chromium: the store's pages, the sandbox's hosted card page, the
way back, the key on the order page and in the email."""

import re

import pytest
from django.core import mail

from orders.models import LicenceKey, OrderStatus
from tests.factories import AddressFactory, ProductFactory, UserFactory
from tests.factories.accounts import PASSWORD
from tests.orders.conftest import APPROVED, DECLINED, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def licence():
    return ProductFactory(
        licence=True, keys=5, name="Office Home 2024", slug="office-home", price_sen=55900
    )


def sign_in(page, base: str, customer) -> None:
    page.goto(base + "/accounts/login/")
    page.get_by_label("Email").fill(customer.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/account/$"))


def buy(page, base: str, product) -> None:
    page.goto(base + f"/shop/{product.slug}/")
    page.get_by_role("button", name="Add to cart").click()
    page.get_by_role("link", name="Check out").click()
    page.get_by_role("button", name="Place order and pay").click()
    page.wait_for_url(re.compile(r"/hostedcheckout/"))


def pay(page, card: str) -> None:
    page.get_by_label("Name on card").fill("Nurul Aina")
    page.get_by_label("Card number").fill(card)
    page.get_by_label("Expiry (MM/YY)").fill("12/30")
    page.get_by_label("CVC").fill("123")
    page.get_by_role("button", name=re.compile(r"^Pay")).click()


def customer_with_address():
    customer = UserFactory(full_name="Nurul Aina")
    AddressFactory(user=customer)
    return customer


def test_a_customer_buys_a_licence_with_the_approve_card_and_gets_the_key(store, page, licence):
    customer = customer_with_address()
    sign_in(page, store.url, customer)
    buy(page, store.url, licence)
    # on the gateway's page: no card field ever exists on the store's pages
    assert "127.0.0.1" in page.url and store.url not in page.url
    pay(page, APPROVED)
    page.wait_for_url(re.compile(r"/orders/IPM-"))
    assert page.get_by_text("Thank you, your payment was received.").is_visible()
    order = customer.orders.get()
    wait_until(
        lambda: order.__class__.objects.get(pk=order.pk).status == OrderStatus.FULFILLED,
        what="fulfilled",
    )
    key = LicenceKey.objects.get(order_line__order=order).key
    page.reload()
    assert page.locator("code.licence-key").inner_text() == key
    wait_until(lambda: mail.outbox, what="the key email")
    assert mail.outbox[0].to == [customer.email]
    assert key in mail.outbox[0].body
    assert page.console_errors == []


def test_a_declined_card_then_a_retry_succeeds(store, page, licence):
    customer = customer_with_address()
    sign_in(page, store.url, customer)
    buy(page, store.url, licence)
    pay(page, DECLINED)
    assert page.get_by_text(re.compile("declined", re.I)).first.is_visible()
    # still on the hosted page: another card
    pay(page, APPROVED)
    page.wait_for_url(re.compile(r"/orders/IPM-"))
    assert page.get_by_text("Thank you, your payment was received.").is_visible()
    order = customer.orders.get()
    wait_until(
        lambda: order.__class__.objects.get(pk=order.pk).status == OrderStatus.FULFILLED,
        what="fulfilled",
    )


def test_a_customer_who_cancels_on_the_hosted_page_can_pay_later(store, page, licence):
    customer = customer_with_address()
    sign_in(page, store.url, customer)
    buy(page, store.url, licence)
    page.get_by_role("button", name="Cancel").click()
    page.wait_for_url(re.compile(r"/orders/IPM-"))
    assert page.get_by_text("You cancelled the payment.").is_visible()
    order = customer.orders.get()
    assert order.status == OrderStatus.PENDING_PAYMENT
    # and the order page offers to pay again
    page.get_by_role("button", name="Pay now").click()
    page.wait_for_url(re.compile(r"/hostedcheckout/"))
    pay(page, APPROVED)
    page.wait_for_url(re.compile(r"/orders/IPM-"))
    wait_until(
        lambda: order.__class__.objects.get(pk=order.pk).status == OrderStatus.FULFILLED,
        what="fulfilled",
    )


def test_an_anonymous_visitor_browses_searches_and_adds_to_cart_from_the_page_cache(
    browser, live_server, settings, tmp_path
):
    """Home → search → product page (served from the page cache, image with srcset loaded) →
    Add to cart, on a 360 x 740 phone, as a visitor without an account or a session."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from orders.images import demo_product_image
    from orders.services.catalogue import add_product_image
    from privacy.intake import validate_upload

    # given product images stored under a real MEDIA_ROOT that the live server serves
    settings.MEDIA_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path, "base_url": "/media/"},
        },
    }
    settings.ROOT_URLCONF = "tests.e2e.media_urls"
    product = ProductFactory(
        licence=True, keys=3, name="Guard Antivirus", slug="guard-antivirus", featured=True
    )
    ProductFactory(name="Wireless keyboard", slug="wireless-keyboard")
    photo = demo_product_image(product.slug, product.name)
    add_product_image(
        product,
        clean=validate_upload(SimpleUploadedFile("guard.jpg", photo, "image/jpeg")),
        alt="Guard Antivirus box",
        acting_user=None,
    )
    # and the product page already in the page cache (another visitor saw it)
    primer = browser.new_context()
    primer.new_page().goto(live_server.url + "/shop/guard-antivirus/")
    primer.close()
    context = browser.new_context(locale="en-GB", viewport={"width": 360, "height": 740})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    try:
        # when the visitor comes to the home page and searches
        page.goto(live_server.url + "/")
        page.get_by_role("searchbox", name="Search products").fill("antivirus")
        page.get_by_role("button", name="Search").click()
        page.wait_for_url(re.compile(r"/shop/\?q=antivirus"))
        assert page.get_by_text("1 result for “antivirus”").is_visible()
        with page.expect_response(re.compile(r"/shop/guard-antivirus/$")) as opened:
            page.get_by_role("link", name="Guard Antivirus").click()
        # then the product page came from the page cache, with its image in several widths
        assert opened.value.headers["x-page-cache"] == "hit"
        image = page.get_by_role("img", name="Guard Antivirus box")
        assert "320w" in image.get_attribute("srcset") and "960w" in image.get_attribute("srcset")
        assert image.evaluate("img => img.complete && img.naturalWidth") > 0
        # and Add to cart is above the fold on the phone
        button = page.get_by_role("button", name="Add to cart")
        box = button.bounding_box()
        assert box["y"] + box["height"] <= 740
        # when they add it to the cart
        button.click()
        page.wait_for_url(re.compile(r"/cart/$"))
        # then the cart holds it (the cached page's CSRF token was theirs)
        assert page.get_by_text("Guard Antivirus was added to your cart.").is_visible()
        assert errors == []
    finally:
        context.close()
