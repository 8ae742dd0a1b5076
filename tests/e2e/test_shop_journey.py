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
