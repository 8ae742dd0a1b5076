"""A store manager's day in a real Chromium: the admin home's counts, finding an order by the
customer's name, shipping three orders from a CSV, refunding one line of a paid order at the
(sandbox) gateway through the review and confirm page, and seeing it all on the admin home and
in the audit trail."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from orders.models import Fulfilment, LicenceKeyStatus, OrderStatus, RefundStatus
from tests.e2e.test_shop_journey import buy, customer_with_address, pay, sign_in
from tests.factories import OrderFactory, OrderLineFactory, ProductFactory, staff_client
from tests.orders.conftest import APPROVED, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _waiting_for_shipping(name: str):
    order = OrderFactory(
        user=customer_with_address(),
        status=OrderStatus.PAID,
        paid_at=timezone.now(),
        shipping_address="1 Jalan Ampang\nKuala Lumpur",
    )
    order.user.full_name = name
    order.user.save(update_fields=["full_name"])
    OrderLineFactory(order=order, product=ProductFactory(name=f"Keyboard for {name}"))
    Fulfilment.objects.create(order=order)
    return order


def _manager_page(browser, base: str):
    manager, client = staff_client("store manager", full_name="Mohan Manager")
    context = browser.new_context(locale="en-GB")
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base}]
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.console_errors = errors
    return manager, page


def test_a_store_manager_finds_ships_refunds_and_sees_it_in_the_home_and_the_trail(
    store, page, browser
):
    # given a customer who paid for two licences at the gateway…
    licence = ProductFactory(
        licence=True, keys=3, name="Office Home 2024", slug="office-home", price_sen=55900
    )
    addon = ProductFactory(
        licence=True, keys=3, name="Antivirus Plus", slug="antivirus-plus", price_sen=10000
    )
    customer = customer_with_address()
    sign_in(page, store.url, customer)
    page.goto(store.url + f"/shop/{addon.slug}/")
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_url(re.compile(r"/cart/$"))
    buy(page, store.url, licence)
    pay(page, APPROVED)
    page.wait_for_url(re.compile(r"/orders/IPM-"))
    paid = customer.orders.get()
    wait_until(
        lambda: paid.__class__.objects.get(pk=paid.pk).status == OrderStatus.FULFILLED,
        what="fulfilled",
    )
    # …and three orders whose goods wait to be posted
    waiting = [_waiting_for_shipping(name) for name in ("Siti Aminah", "Tan Wei", "Raj Kumar")]
    manager, admin = _manager_page(browser, store.url)

    # the admin home says what needs doing
    admin.goto(store.url + "/admin/")
    shipping_count = admin.locator(".staff-count", has_text="Orders awaiting shipping")
    assert shipping_count.locator(".staff-count-number").inner_text() == "3"
    assert admin.locator("svg.staff-chart-svg").count() == 2

    # finds the paid order by the customer's name
    admin.goto(store.url + "/admin/orders/order/")
    admin.locator("#searchbar").fill(customer.full_name.split()[0])
    admin.locator("#changelist-search input[type=submit]").click()
    expect(admin.locator("#result_list tbody tr")).to_have_count(1)
    admin.get_by_role("link", name=paid.number).click()
    expect(admin.get_by_role("link", name="Refund")).to_be_visible()
    expect(admin.get_by_role("link", name="Mark shipped")).to_have_count(0)

    # ships three orders from a CSV
    admin.goto(store.url + "/admin/orders/order/")
    admin.get_by_role("link", name="Ship from CSV").click()
    csv = "order,carrier,tracking\n" + "".join(
        f"{order.number},Pos Laju,EP00000000{n}MY\n" for n, order in enumerate(waiting)
    )
    admin.set_input_files(
        "input[name=file]",
        files=[{"name": "ship.csv", "mimeType": "text/csv", "buffer": csv.encode()}],
    )
    admin.get_by_role("button", name="Ship").click()
    expect(admin.get_by_text("3 order(s) marked shipped.")).to_be_visible()
    for order in waiting:
        assert order.__class__.objects.get(pk=order.pk).status == OrderStatus.FULFILLED

    # refunds ONE line (the add-on) at the gateway, seeing the amount before confirming
    admin.goto(store.url + f"/admin/orders/order/{paid.pk}/change/")
    admin.get_by_role("link", name="Refund").click()
    admin.get_by_label("Antivirus Plus").fill("1")
    admin.get_by_label("Reason (kept in the order's history)").fill("Bought by mistake")
    admin.get_by_role("button", name="Review the refund").click()
    summary = admin.locator("table.refund-summary").inner_text()
    assert "Antivirus Plus" in summary and "Office Home 2024" not in summary
    assert "RM 108.00" in summary  # RM 100.00 and 8% service tax
    paid.refresh_from_db()
    assert paid.refunds.count() == 0  # nothing happens before the confirmation
    confirm = admin.get_by_role("button", name="Confirm refund of RM 108.00")
    sent_twice = confirm.evaluate("b => Object.fromEntries(new FormData(b.form))")
    refund_url = admin.url
    confirm.click()
    expect(admin.get_by_text("Refunded RM 108.00: credit note CN-000001.")).to_be_visible()
    paid.refresh_from_db()
    assert paid.status == OrderStatus.FULFILLED and paid.refunded_sen == 10800
    refund = paid.refunds.get()
    assert refund.status == RefundStatus.DONE and refund.credit_note_number == "CN-000001"
    assert [(item.order_line.product_name, item.quantity) for item in refund.lines.all()] == [
        ("Antivirus Plus", 1)
    ]
    statuses = dict(paid.lines.values_list("product_name", "licence_keys__status").order_by("id"))
    assert statuses == {
        "Office Home 2024": LicenceKeyStatus.ISSUED,
        "Antivirus Plus": LicenceKeyStatus.REVOKED,
    }
    # the same confirmation sent again (a double click) refunds nothing more
    again = admin.request.post(refund_url, form={**sent_twice, "step": "confirm"})
    assert again.ok and "This refund was already made: credit note CN-000001." in again.text()
    assert paid.refunds.count() == 1 and paid.refunds.get().pk == refund.pk

    # sees it on the admin home: nothing left to ship, and their own recent changes
    admin.goto(store.url + "/admin/")
    assert shipping_count.locator(".staff-count-number").inner_text() == "0"
    recent = admin.locator("#recent-actions-module").inner_text()
    assert paid.number in recent and all(order.number in recent for order in waiting)

    # and in the audit trail: the order's History and the manager's own changes
    admin.goto(store.url + f"/admin/orders/order/{paid.pk}/history/")
    history = admin.locator("#content-main").inner_text()
    assert "Bought by mistake" in history and "RM 108.00" in history and manager.email in history
    assert "CN-000001" in history
    admin.goto(store.url + "/admin/")
    admin.get_by_role("link", name="All your changes").click()
    trail = admin.locator("#result_list").inner_text()
    assert trail.count("\tshipped\t") == 3 and trail.count("\trefunded\t") == 1
    assert admin.console_errors == [] and page.console_errors == []
