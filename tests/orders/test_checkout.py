"""place_order prices from the database and reserves what it sells; cancel_order and
expire_order give the reservation back exactly once. Tax rates are the ones the migration
seeds: 8% on licences, 10% on physical goods."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.forms import CheckoutForm
from orders.models import (
    CartLine,
    LicenceKey,
    Order,
    OrderEvent,
    OrderEventKind,
    OrderLine,
    OrderStatus,
    Product,
    TaxRate,
)
from orders.services.checkout import cancel_order, expire_order, place_order
from orders.services.errors import CheckoutError
from tests.factories import (
    AddressFactory,
    CustomerFactory,
    PaymentAttemptFactory,
    ProductFactory,
    cart_with,
    free_shipping,
    placed_order,
)

pytestmark = pytest.mark.django_db


def _key_states(product) -> list[tuple[str, int | None]]:
    return list(
        LicenceKey.objects.filter(product=product)
        .order_by("id")
        .values_list("status", "order_line_id")
    )


def _snapshot(cart, *products) -> dict:
    """Everything a failed checkout must leave as it was."""
    return {
        "stock": {p.pk: Product.objects.get(pk=p.pk).stock for p in products},
        "keys": {p.pk: _key_states(p) for p in products},
        "orders": Order.objects.count(),
        "lines": OrderLine.objects.count(),
        "events": OrderEvent.objects.count(),
        "cart": list(
            CartLine.objects.filter(cart=cart).order_by("id").values_list("product_id", "quantity")
        ),
    }


@pytest.fixture
def customer():
    return CustomerFactory(email="aina@example.com", full_name="Aina Rahman")


@pytest.fixture
def address(customer):
    return AddressFactory(
        user=customer,
        full_name="Aina Rahman",
        line1="12 Jalan Ampang",
        line2="Level 3",
        city="Kuala Lumpur",
        state="Wilayah Persekutuan",
        postcode="50450",
        country="MY",
        phone="+60312345678",
    )


AINA_ADDRESS = (
    "Aina Rahman\n12 Jalan Ampang\nLevel 3\n50450 Kuala Lumpur\nWilayah Persekutuan\nMalaysia\n"
    "+60312345678"
)


def test_the_migration_seeds_the_tax_rates():
    # when / then
    assert dict(TaxRate.objects.values_list("kind", "rate_percent")) == {
        "licence": Decimal("8.00"),
        "physical": Decimal("10.00"),
    }


# --- placing an order


def test_totals_come_from_the_database_with_tax_per_kind(customer, address):
    # given 2 licences at RM 100.00 and 1 physical item at RM 50.00
    licence = ProductFactory(licence=True, keys=5, name="PDF Studio", price_sen=10000)
    physical = ProductFactory(name="Keyboard", price_sen=5000, stock=4)
    cart = cart_with(customer, (licence, 2), (physical, 1))
    # when
    order = placed_order(customer, cart, address)
    # then 8% of 200.00 and 10% of 50.00
    order.refresh_from_db()
    assert (order.subtotal_sen, order.tax_sen, order.total_sen) == (25000, 2100, 27100)
    assert order.currency == "MYR"
    assert order.status == OrderStatus.PENDING_PAYMENT
    lines = list(
        order.lines.order_by("product_id").values(
            "product_id",
            "product_name",
            "kind",
            "unit_price_sen",
            "quantity",
            "tax_rate_percent",
            "tax_sen",
        )
    )
    assert lines == [
        {
            "product_id": licence.pk,
            "product_name": "PDF Studio",
            "kind": "licence",
            "unit_price_sen": 10000,
            "quantity": 2,
            "tax_rate_percent": Decimal("8.00"),
            "tax_sen": 1600,
        },
        {
            "product_id": physical.pk,
            "product_name": "Keyboard",
            "kind": "physical",
            "unit_price_sen": 5000,
            "quantity": 1,
            "tax_rate_percent": Decimal("10.00"),
            "tax_sen": 500,
        },
    ]


def test_tax_is_rounded_half_up_per_line(customer, address):
    # given RM 123.45 at 8% = 9.876 → 9.88, and RM 0.25 at 10% = 0.025 → 0.03
    licence = ProductFactory(licence=True, keys=1, price_sen=12345)
    physical = ProductFactory(price_sen=25)
    cart = cart_with(customer, (licence, 1), (physical, 1))
    order = placed_order(customer, cart, address)
    assert sorted(order.lines.values_list("tax_sen", flat=True)) == [3, 988]
    assert (order.subtotal_sen, order.tax_sen, order.total_sen) == (12370, 991, 13361)


def test_a_price_changed_after_adding_to_the_cart_is_charged_at_the_current_price(
    customer, address
):
    # given a cart filled at RM 100.00, then the price changes in the database
    product = ProductFactory(licence=True, keys=1, price_sen=10000)
    cart = cart_with(customer, (product, 1))
    Product.objects.filter(pk=product.pk).update(price_sen=12345)
    # when
    order = place_order(customer, cart=cart, billing_address=address, shipping_address=None)
    # then the current price and its tax are used
    line = order.lines.get()
    assert line.unit_price_sen == 12345
    assert (order.subtotal_sen, order.tax_sen, order.total_sen) == (12345, 988, 13333)


def test_the_checkout_form_carries_no_price_quantity_or_total():
    # given the form customers post at checkout (R-P6: nothing price-like comes from the client)
    customer = CustomerFactory()
    form = CheckoutForm(addresses=customer.addresses.all(), needs_shipping=True)
    # then it only picks addresses and a shipping method (by id; its price is read at placing)
    assert set(form.fields) == {"billing_address", "shipping_address", "shipping_method"}


def test_lines_copy_name_and_price_and_the_order_copies_email_and_addresses(customer, address):
    # given
    product = ProductFactory(name="Keyboard", price_sen=5000, stock=3)
    cart = cart_with(customer, (product, 1))
    order = placed_order(customer, cart, address)
    # when the product, the customer's email and the address change afterwards
    Product.objects.filter(pk=product.pk).update(name="Keyboard v2", price_sen=9900)
    customer.email = "aina.new@example.com"
    customer.save()
    address.line1 = "99 Jalan Other"
    address.save()
    # then the order keeps what they were at purchase
    order.refresh_from_db()
    assert order.email == "aina@example.com"
    assert order.billing_address == AINA_ADDRESS
    assert order.shipping_address == AINA_ADDRESS
    line = order.lines.get()
    assert (line.product_name, line.unit_price_sen) == ("Keyboard", 5000)


def test_licences_only_need_no_shipping_address(customer, address):
    # given
    product = ProductFactory(licence=True, keys=1)
    cart = cart_with(customer, (product, 1))
    # when
    order = place_order(customer, cart=cart, billing_address=address, shipping_address=None)
    # then
    assert order.shipping_address == ""
    assert order.billing_address == AINA_ADDRESS
    assert order.needs_shipping is False


def test_a_shipping_address_given_for_licences_only_is_not_copied(customer, address):
    # given
    product = ProductFactory(licence=True, keys=1)
    cart = cart_with(customer, (product, 1))
    # when
    order = placed_order(customer, cart, address)
    # then
    assert order.shipping_address == ""


def test_physical_goods_without_a_shipping_address_are_refused(customer, address):
    # given
    product = ProductFactory(stock=3)
    cart = cart_with(customer, (product, 1))
    before = _snapshot(cart, product)
    # when / then
    with pytest.raises(
        CheckoutError, match=r"^Choose a shipping address for the goods we post to you\.$"
    ):
        place_order(customer, cart=cart, billing_address=address, shipping_address=None)
    assert _snapshot(cart, product) == before


@pytest.mark.parametrize("whose", ["billing", "shipping"])
def test_another_customers_address_is_refused(customer, address, whose):
    # given a cart and someone else's address
    product = ProductFactory(stock=3)
    cart = cart_with(customer, (product, 1))
    theirs = AddressFactory()
    before = _snapshot(cart, product)
    billing, shipping = (theirs, address) if whose == "billing" else (address, theirs)
    # when / then
    with pytest.raises(CheckoutError, match=r"^Choose one of your own addresses\.$"):
        place_order(
            customer,
            cart=cart,
            billing_address=billing,
            shipping_address=shipping,
            shipping_method=free_shipping(),
        )
    assert _snapshot(cart, product) == before


def test_placing_reserves_stock_and_keys_records_the_event_and_empties_the_cart(customer, address):
    # given
    physical = ProductFactory(stock=5)
    licence = ProductFactory(licence=True, keys=4)
    cart = cart_with(customer, (physical, 2), (licence, 3))
    # when
    order = placed_order(customer, cart, address)
    # then stock is decremented
    assert Product.objects.get(pk=physical.pk).stock == 3
    # and 3 of the 4 keys are reserved, linked to the licence line
    licence_line = order.lines.get(product=licence)
    assert _key_states(licence) == [
        ("reserved", licence_line.pk),
        ("reserved", licence_line.pk),
        ("reserved", licence_line.pk),
        ("available", None),
    ]
    assert order.reserved_until > timezone.now()
    assert order.stock_released is False
    # and one "placed" event by the customer
    assert list(order.events.values_list("kind", "actor_id")) == [("placed", customer.pk)]
    # and the cart is empty (the cart itself stays)
    assert CartLine.objects.filter(cart=cart).count() == 0


def test_a_physical_product_sold_out_since_it_was_added_is_refused_and_nothing_changes(
    customer, address
):
    # given 2 in the cart and only 1 left
    product = ProductFactory(name="Keyboard", stock=1)
    other = ProductFactory(licence=True, keys=2)
    cart = cart_with(customer, (product, 2), (other, 1))
    before = _snapshot(cart, product, other)
    # when / then
    with pytest.raises(CheckoutError) as error:
        placed_order(customer, cart, address)
    assert str(error.value) == "Sorry, not enough left of: Keyboard. Your cart was not charged."
    assert _snapshot(cart, product, other) == before


def test_a_licence_with_too_few_keys_is_refused_and_nothing_changes(customer, address):
    # given 2 licences in the cart, 1 key in the pool, and a physical item that would be reserved
    licence = ProductFactory(name="PDF Studio", licence=True, keys=1)
    physical = ProductFactory(stock=3)
    cart = cart_with(customer, (physical, 1), (licence, 2))
    before = _snapshot(cart, licence, physical)
    # when / then
    with pytest.raises(CheckoutError) as error:
        placed_order(customer, cart, address)
    assert (
        str(error.value)
        == "Sorry, not enough licence keys left for: PDF Studio. Your cart was not charged."
    )
    assert _snapshot(cart, licence, physical) == before


def test_an_empty_cart_is_refused(customer, address):
    # given
    cart = cart_with(customer)
    before = _snapshot(cart)
    # when / then
    with pytest.raises(CheckoutError, match=r"^Your cart is empty\.$"):
        place_order(customer, cart=cart, billing_address=address, shipping_address=None)
    assert _snapshot(cart) == before


def test_a_product_taken_off_sale_is_refused_and_nothing_changes(customer, address):
    # given
    product = ProductFactory(name="Old keyboard", stock=3)
    cart = cart_with(customer, (product, 1))
    Product.objects.filter(pk=product.pk).update(is_active=False)
    before = _snapshot(cart, product)
    # when / then
    with pytest.raises(
        CheckoutError,
        match=r"^Old keyboard is no longer on sale\. Remove it from your cart to continue\.$",
    ):
        placed_order(customer, cart, address)
    assert _snapshot(cart, product) == before


# --- cancelling and expiring


def _placed(customer, address, *, stock=5, keys=3):
    physical = ProductFactory(stock=stock)
    licence = ProductFactory(licence=True, keys=keys)
    cart = cart_with(customer, (physical, 2), (licence, 2))
    order = placed_order(customer, cart, address)
    return order, physical, licence


def test_cancel_releases_stock_and_keys(customer, address):
    # given an order holding 2 units and 2 keys
    order, physical, licence = _placed(customer, address)
    assert Product.objects.get(pk=physical.pk).stock == 3
    # when
    cancel_order(order, acting_user=customer)
    # then
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert order.stock_released is True
    assert Product.objects.get(pk=physical.pk).stock == 5
    assert _key_states(licence) == [("available", None)] * 3
    assert list(order.events.values_list("kind", flat=True)) == ["placed", "cancelled"]


def test_cancelling_twice_raises_and_releases_nothing_more(customer, address):
    # given a cancelled order
    order, physical, licence = _placed(customer, address)
    cancel_order(order, acting_user=customer)
    # and since then another order took the stock and keys
    other = CustomerFactory()
    other_address = AddressFactory(user=other)
    cart = cart_with(other, (physical, 2), (licence, 2))
    placed_order(other, cart, other_address)
    before = (
        Product.objects.get(pk=physical.pk).stock,
        _key_states(licence),
        OrderEvent.objects.count(),
    )
    # when it is cancelled again
    with pytest.raises(CheckoutError, match=r"^Only an order awaiting payment can be cancelled\.$"):
        cancel_order(order, acting_user=customer)
    # then nothing is released a second time
    assert (
        Product.objects.get(pk=physical.pk).stock,
        _key_states(licence),
        OrderEvent.objects.count(),
    ) == before
    assert before[0] == 3


def test_an_order_with_a_payment_in_flight_cannot_be_cancelled(customer, address):
    # given
    order, physical, licence = _placed(customer, address)
    PaymentAttemptFactory(order=order, status="created")
    before = (Product.objects.get(pk=physical.pk).stock, _key_states(licence))
    # when / then
    with pytest.raises(CheckoutError, match="still being processed"):
        cancel_order(order, acting_user=customer)
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert (Product.objects.get(pk=physical.pk).stock, _key_states(licence)) == before


def test_expire_releases_after_the_reservation_time(customer, address):
    # given an order whose reservation ended a minute ago
    order, physical, licence = _placed(customer, address)
    Order.objects.filter(pk=order.pk).update(
        reserved_until=timezone.now() - datetime.timedelta(minutes=1)
    )
    # when
    assert expire_order(order) is True
    # then
    order.refresh_from_db()
    assert order.status == OrderStatus.EXPIRED
    assert Product.objects.get(pk=physical.pk).stock == 5
    assert _key_states(licence) == [("available", None)] * 3
    assert list(order.events.values_list("kind", flat=True)) == ["placed", "expired"]
    # and expiring again does nothing
    assert expire_order(order) is False
    assert Product.objects.get(pk=physical.pk).stock == 5
    assert order.events.count() == 2


def test_expire_before_the_reservation_time_changes_nothing(customer, address):
    # given an order whose reservation runs for another 30 minutes
    order, physical, licence = _placed(customer, address)
    before = (Product.objects.get(pk=physical.pk).stock, _key_states(licence))
    # when / then
    assert expire_order(order) is False
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert (Product.objects.get(pk=physical.pk).stock, _key_states(licence)) == before
    assert list(order.events.values_list("kind", flat=True)) == [OrderEventKind.PLACED]


def test_expire_with_a_payment_in_flight_changes_nothing(customer, address):
    # given an overdue order whose customer is on the gateway's page
    order, physical, licence = _placed(customer, address)
    Order.objects.filter(pk=order.pk).update(
        reserved_until=timezone.now() - datetime.timedelta(minutes=1)
    )
    PaymentAttemptFactory(order=order, status="created")
    before = (Product.objects.get(pk=physical.pk).stock, _key_states(licence))
    # when
    assert expire_order(order) is False
    # then
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert order.stock_released is False
    assert (Product.objects.get(pk=physical.pk).stock, _key_states(licence)) == before
    assert before[0] == 3


def test_the_order_keeps_the_billing_country_sent_to_the_gateway():
    from orders.services.checkout import place_order
    from tests.factories import AddressFactory, CustomerFactory, ProductFactory, cart_with

    customer = CustomerFactory()
    address = AddressFactory(user=customer, country="SG")
    product = ProductFactory(licence=True, keys=1)
    order = place_order(
        customer,
        cart=cart_with(customer, (product, 1)),
        billing_address=address,
        shipping_address=None,
    )
    assert order.billing_country == "SG"
    assert "Singapore" in order.billing_address
