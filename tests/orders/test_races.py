"""Customers racing for the last units on PostgreSQL (R-R1, R-T2): ten threads, each with its own
database connection, released together by a barrier, each placing an order for one unit of a
product that has three. Only the final state is asserted, never timings.

These tests are transactional (the threads must see committed rows), so the database is
flushed after each of them, rows seeded by migrations included. `serialized_rollback` cannot
restore those on PostgreSQL: reloading the published privacy policy is an UPDATE, which its
immutability trigger refuses."""

import threading

import pytest
from django.db import connection, transaction

from orders.models import LicenceKey, LicenceKeyStatus, Order, OrderLine, Product
from orders.services.checkout import place_order
from orders.services.errors import CheckoutError
from tests.factories import (
    AddressFactory,
    CustomerFactory,
    ProductFactory,
    cart_with,
    free_shipping,
)

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 10
UNITS = 3


def _race(buyers) -> tuple[list[Order], list[str], list[BaseException]]:
    """Run place_order for every (customer, cart, address) at once. Returns the orders placed,
    the CheckoutError messages and any other exception."""
    barrier = threading.Barrier(len(buyers), timeout=60)
    lock = threading.Lock()
    placed: list[Order] = []
    refused: list[str] = []
    crashed: list[BaseException] = []
    method = free_shipping()

    def buy(customer, cart, address):
        try:
            barrier.wait()
            order = place_order(
                customer,
                cart=cart,
                billing_address=address,
                shipping_address=address,
                shipping_method=method,
            )
            with lock:
                placed.append(order)
        except CheckoutError as error:
            with lock:
                refused.append(str(error))
        except BaseException as error:  # noqa: BLE001 — reported by the test, not swallowed
            with lock:
                crashed.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=buy, args=buyer) for buyer in buyers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return placed, refused, crashed


def _buyers(product) -> list[tuple]:
    buyers = []
    for _ in range(THREADS):
        customer = CustomerFactory()
        buyers.append((customer, cart_with(customer, (product, 1)), AddressFactory(user=customer)))
    return buyers


def test_ten_customers_racing_for_three_units_of_stock(postgres):
    # given a physical product with 3 in stock and 10 customers with 1 in their cart
    product = ProductFactory(name="Security key", stock=UNITS)
    buyers = _buyers(product)
    # when they all place their order at once
    placed, refused, crashed = _race(buyers)
    # then exactly 3 orders exist, the stock is 0, and 7 were told it is sold out
    assert crashed == []
    assert len(placed) == UNITS
    assert Order.objects.count() == UNITS
    assert OrderLine.objects.filter(product=product).count() == UNITS
    assert Product.objects.get(pk=product.pk).stock == 0
    assert refused == ["Sorry, not enough left of: Security key. Your cart was not charged."] * (
        THREADS - UNITS
    )
    # and the losers' carts still hold their item, the winners' are empty
    winners = {order.user_id for order in placed}
    for customer, cart, _address in buyers:
        assert cart.lines.count() == (0 if customer.pk in winners else 1)


def test_ten_customers_racing_for_three_licence_keys(postgres):
    # given a licence with 3 keys and 10 customers with 1 in their cart
    product = ProductFactory(name="PDF Studio", licence=True, keys=UNITS)
    buyers = _buyers(product)
    # when
    placed, refused, crashed = _race(buyers)
    # then 3 orders, each of the 3 keys reserved to a different line, none left available
    assert crashed == []
    assert len(placed) == UNITS
    assert Order.objects.count() == UNITS
    assert refused == [
        "Sorry, not enough licence keys left for: PDF Studio. Your cart was not charged."
    ] * (THREADS - UNITS)
    keys = list(LicenceKey.objects.filter(product=product).values_list("status", "order_line_id"))
    assert len(keys) == UNITS
    assert {status for status, _line in keys} == {LicenceKeyStatus.RESERVED}
    lines = set(OrderLine.objects.filter(product=product).values_list("pk", flat=True))
    assert len(lines) == UNITS
    assert {line for _status, line in keys} == lines  # one key per line, no line twice
    assert {OrderLine.objects.get(pk=line).order_id for line in lines} == {o.pk for o in placed}


def test_a_double_submitted_checkout_places_one_order(postgres):
    # given one customer, one cart with 1 unit, and the product's row lock held elsewhere so that
    # both submissions are inside place_order before either can finish (no timing involved)
    product = ProductFactory(name="Keyboard", stock=5)
    customer = CustomerFactory()
    address = AddressFactory(user=customer)
    cart = cart_with(customer, (product, 1))
    holding, release = threading.Event(), threading.Event()

    def hold_product_row():
        try:
            with transaction.atomic():
                list(Product.objects.select_for_update().filter(pk=product.pk))
                holding.set()
                release.wait(60)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_product_row)
    holder.start()
    assert holding.wait(60)
    results: list[object] = []
    method = free_shipping()

    def submit():
        try:
            results.append(
                place_order(
                    customer,
                    cart=cart,
                    billing_address=address,
                    shipping_address=address,
                    shipping_method=method,
                )
            )
        except CheckoutError as error:
            results.append(error)
        finally:
            connection.close()

    submissions = [threading.Thread(target=submit) for _ in range(2)]
    for thread in submissions:
        thread.start()
    _wait_until_blocked(2)
    release.set()
    for thread in [holder, *submissions]:
        thread.join()
    # then one order, one unit reserved, and the second submission is told the cart is empty
    assert Order.objects.count() == 1
    assert Product.objects.get(pk=product.pk).stock == 4
    assert sorted(type(r).__name__ for r in results) == ["CheckoutError", "Order"]


def _wait_until_blocked(n: int) -> None:
    """Return once n other sessions of this database wait on a lock (bounded, so a broken
    test fails instead of hanging)."""
    for _ in range(1_000_000):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0] >= n:
                return
    raise AssertionError(f"{n} sessions never blocked")


def test_customers_taking_a_key_pool_below_its_threshold_at_once_alert_once(postgres):
    # given a licence with 10 keys, alerting below 8, and 10 customers buying one each at once
    from ipmart.core.models import OutboxMessage

    product = ProductFactory(name="Office", licence=True, keys=THREADS, key_low_threshold=8)
    buyers = _buyers(product)
    # when
    placed, _refused, crashed = _race(buyers)
    # then every sale went through, and exactly one alert was queued for the product
    assert crashed == []
    assert len(placed) == THREADS
    alerts = OutboxMessage.objects.filter(handler="orders.tasks.send_key_pool_low_email_task")
    assert [message.args for message in alerts] == [[[product.pk]]]
    assert Product.objects.get(pk=product.pk).key_pool_low_since is not None
