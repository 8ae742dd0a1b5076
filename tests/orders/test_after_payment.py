"""After paying: the order page's words for what the order holds, the status JSON its script
polls for keys, the receipt's seller facts and shipping, and the gateway reference."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders.emails import send_order_email
from orders.models import AttemptStatus, LicenceKeyStatus, OrderStatus, ProductKind
from orders.services.payments import _prepare_attempt
from tests.factories import (
    CustomerFactory,
    LicenceKeyFactory,
    OrderFactory,
    OrderLineFactory,
    PaymentAttemptFactory,
)

pytestmark = pytest.mark.django_db


def _order(kinds: list[str], *, status=OrderStatus.PAID, keys: bool = False, **fields):
    order = OrderFactory(status=status, paid_at=timezone.now(), **fields)
    for kind in kinds:
        line = OrderLineFactory(order=order, kind=kind)
        if keys and kind == ProductKind.LICENCE:
            LicenceKeyFactory(
                product=line.product,
                key=f"KEY-{line.pk}-AAAA",
                status=LicenceKeyStatus.ISSUED,
                order_line=line,
                issued_at=timezone.now(),
            )
    return order


def _next_step(client, order) -> str:
    client.force_login(order.user)
    return client.get(order.get_absolute_url()).context["next_step"]


@pytest.mark.parametrize(
    ("kinds", "status", "keys", "expected"),
    [
        (
            ["licence"],
            OrderStatus.PAID,
            False,
            "Payment received. Your licence keys appear below in a moment.",
        ),
        (
            ["licence"],
            OrderStatus.FULFILLED,
            True,
            "Your order is complete. Your licence keys are below.",
        ),
        (
            ["physical"],
            OrderStatus.PAID,
            False,
            "Payment received. Your goods are being prepared for shipping; we email you the "
            "tracking number.",
        ),
        (
            ["licence", "physical"],
            OrderStatus.PAID,
            True,
            "Payment received. Your licence keys are below. Your goods are being prepared for "
            "shipping; we email you the tracking number.",
        ),
        (
            ["licence", "physical"],
            OrderStatus.ON_HOLD,
            False,
            "Payment received. Before we send your licence keys and ship your goods, we need to "
            "confirm that you are the cardholder. Please upload your documents below.",
        ),
        (
            ["physical"],
            OrderStatus.FULFILLED,
            False,
            "Your order is complete: your goods were shipped.",
        ),
    ],
)
def test_what_happens_next_speaks_of_what_the_order_holds(client, kinds, status, keys, expected):
    assert _next_step(client, _order(kinds, status=status, keys=keys)) == expected


def test_a_closed_order_says_nothing_was_charged_only_when_nothing_was(client):
    never_paid = OrderFactory(status=OrderStatus.CANCELLED, paid_at=None)
    OrderLineFactory(order=never_paid, kind=ProductKind.LICENCE)
    assert _next_step(client, never_paid) == "This order is closed. Nothing was charged."
    # an order closed after its bank took the payment back (services.review) was charged
    charged_back = _order(["licence"], status=OrderStatus.CANCELLED)
    assert _next_step(client, charged_back) == (
        "Your bank reversed the payment for this order, so we closed it: its licence keys no "
        "longer work."
    )
    goods = _order(["physical"], status=OrderStatus.CANCELLED)
    assert _next_step(client, goods) == (
        "Your bank reversed the payment for this order, so we closed it."
    )


def test_the_order_page_polls_only_while_keys_may_still_come(client):
    waiting = _order(["licence"])
    done = _order(["licence"], status=OrderStatus.FULFILLED, keys=True)
    goods = _order(["physical"])
    pages = {}
    for order in (waiting, done, goods):
        client.force_login(order.user)
        pages[order.pk] = client.get(order.get_absolute_url()).content.decode()
    assert f'data-status-url="/orders/{waiting.number}/status/"' in pages[waiting.pk]
    assert "js/order-progress.js" in pages[waiting.pk]
    assert "data-status-url" not in pages[done.pk] and "data-status-url" not in pages[goods.pk]
    # issued keys are marked for their copy button (static/js/copy.js adds it)
    key = done.lines.get().licence_keys.get().key
    assert f'<code class="licence-key copy-key">{key}</code>' in pages[done.pk]
    assert "js/copy.js" in pages[done.pk]


def test_the_status_view_gives_the_owner_the_issued_keys_and_is_never_stored(client):
    order = _order(["licence", "physical"], keys=True)
    line = order.lines.get(kind="licence")
    client.force_login(order.user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/orders/{order.number}/status/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"]
    assert json.loads(response.content) == {
        "number": order.number,
        "status": "paid",
        "status_label": "Paid, being prepared",
        "next_step": "Payment received. Your licence keys are below. Your goods are being "
        "prepared for shipping; we email you the tracking number.",
        "keys": [{"line": line.pk, "product": line.display_name, "key": f"KEY-{line.pk}-AAAA"}],
        "waiting": False,
        "retry_after": None,
    }
    # the session and user, then the order with its lines, issued and revoked keys: nothing
    # per line
    order_queries = [q for q in queries.captured_queries if "orders_" in q["sql"]]
    assert len(order_queries) == 4


def test_the_status_view_says_to_ask_again_while_keys_are_not_issued(client):
    order = _order(["licence"])
    client.force_login(order.user)
    body = json.loads(client.get(f"/orders/{order.number}/status/").content)
    assert (body["keys"], body["waiting"], body["retry_after"]) == ([], True, 2)


@pytest.mark.parametrize("who", ["another customer", "anonymous"])
def test_the_status_view_is_404_for_anyone_but_the_owner(client, who):
    order = _order(["licence"], keys=True)
    if who == "another customer":
        client.force_login(CustomerFactory())
    response = client.get(f"/orders/{order.number}/status/")
    assert response.status_code == 404
    assert b"KEY-" not in response.content


def test_the_status_view_answers_only_get(client):
    order = _order(["licence"])
    client.force_login(order.user)
    assert client.post(f"/orders/{order.number}/status/").status_code == 405


# --- receipt


def test_the_receipt_carries_the_sellers_legal_facts_and_the_shipping(client, settings):
    settings.SELLER_LEGAL_NAME = "IPmart Sdn. Bhd."
    settings.SELLER_ADDRESS = "Level 5, Menara X\n50450 Kuala Lumpur"
    settings.SELLER_SST_NUMBER = "W10-1808-31000123"
    order = _order(
        ["physical"],
        shipping_address="Aina\n1 Jalan Ampang",
        shipping_method_name="Pos Laju express",
        shipping_zone="peninsular",
        shipping_sen=1500,
        shipping_tax_rate_percent="8.00",
        shipping_tax_sen=120,
        subtotal_sen=5000,
        tax_sen=620,
    )
    PaymentAttemptFactory(
        order=order, merchant_reference=order.number, status=AttemptStatus.PAID, pays_for_order=True
    )
    client.force_login(order.user)
    html = client.get(f"/orders/{order.number}/receipt/").content.decode()
    assert "IPmart Sdn. Bhd.<br>Level 5, Menara X<br>50450 Kuala Lumpur<br>" in html
    assert "SST registration number: W10-1808-31000123" in html
    assert "Shipping: Pos Laju express" in html
    assert "RM 71.20" in html
    # the gateway showed the order number itself: no second reference is printed
    assert "Payment reference" not in html


@pytest.mark.parametrize("language", ["ms", "en"])
def test_the_order_receipt_keys_and_paid_email_name_products_in_the_customers_language(
    client, language, mailoutbox
):
    # given a paid order for a Malay-speaking (or English-speaking) customer of a product
    # bought under both names
    order = _order(["licence"], keys=True, user=CustomerFactory(preferred_language=language))
    line = order.lines.get()
    line.product_name, line.product_name_ms = "Security key", "Kunci keselamatan"
    line.save(update_fields=["product_name", "product_name_ms"])
    PaymentAttemptFactory(
        order=order, merchant_reference=order.number, status=AttemptStatus.PAID, pays_for_order=True
    )
    client.force_login(order.user)
    client.cookies["django_language"] = language
    # when
    page = client.get(order.get_absolute_url()).content.decode()
    receipt = client.get(f"/orders/{order.number}/receipt/").content.decode()
    status = json.loads(client.get(f"/orders/{order.number}/status/").content)
    send_order_email(order, "paid")
    # then each names it in the customer's language
    shown, hidden = ("Kunci keselamatan", "Security key")[:: 1 if language == "ms" else -1]
    (email,) = mailoutbox
    html = email.alternatives[0][0]
    for text in (page, receipt, email.body, html):
        assert shown in text and hidden not in text
    assert status["keys"][0]["product"] == shown


def test_the_receipt_names_a_retry_payment_reference(client):
    order = _order(["licence"], keys=True)
    PaymentAttemptFactory(order=order, merchant_reference=order.number, status=AttemptStatus.FAILED)
    PaymentAttemptFactory(
        order=order,
        merchant_reference=f"{order.number}-2",
        status=AttemptStatus.PAID,
        pays_for_order=True,
    )
    client.force_login(order.user)
    html = client.get(f"/orders/{order.number}/receipt/").content.decode()
    assert f"<dt>Payment reference</dt><dd>{order.number}-2</dd>" in html


def test_the_receipt_names_the_payment_that_paid_not_a_later_duplicate(client):
    order = _order(["licence"], keys=True)
    PaymentAttemptFactory(
        order=order, merchant_reference=order.number, status=AttemptStatus.PAID, pays_for_order=True
    )
    PaymentAttemptFactory(
        order=order, merchant_reference=f"{order.number}-2", status=AttemptStatus.PAID
    )
    client.force_login(order.user)
    html = client.get(f"/orders/{order.number}/receipt/").content.decode()
    assert "Payment reference" not in html and f"{order.number}-2" not in html


# --- the reference the gateway's page shows


def test_the_first_payment_reference_is_the_order_number_and_a_retry_adds_a_suffix():
    order = OrderFactory(status=OrderStatus.PENDING_PAYMENT, paid_at=None)
    first, _created = _prepare_attempt(order, acting_user=order.user)
    assert first.merchant_reference == order.number
    first.status = AttemptStatus.FAILED
    first.save()
    second, _created = _prepare_attempt(order, acting_user=order.user)
    assert second.merchant_reference == f"{order.number}-2"
