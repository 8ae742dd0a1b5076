"""Every list page runs a fixed number of queries however much data there is (STYLE.md 4), at
most 10 per page; placing an order runs the same number whatever the number of lines, at most
25. Rows for the large sizes are made with bulk_create."""

import datetime
import re
from unittest import mock

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders.catalogue import _bump, catalogue_version
from orders.models import (
    CartLine,
    LicenceKey,
    LicenceKeyStatus,
    Order,
    Product,
    ProductImage,
    ProductKind,
)
from orders.services.checkout import place_order
from tests.factories import (
    AddressFactory,
    CategoryFactory,
    CustomerFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    cart_with,
    free_shipping,
)

pytestmark = pytest.mark.django_db

PAGE_BUDGET = 10
PLACE_ORDER_BUDGET = 25


def _get(client, url) -> tuple[int, str]:
    """GET `url` and return (number of queries, body)."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries), response.content.decode()


def _titles(html: str) -> list[str]:
    return re.findall(r'<h2 class="card-title">([^<]+)</h2>', html)


def _bulk_products(n: int, *, start: int, category) -> None:
    Product.objects.bulk_create(
        [
            Product(
                kind=ProductKind.LICENCE if i % 2 else ProductKind.PHYSICAL,
                name=f"Bulk product {i:05d}",
                slug=f"bulk-{i:05d}",
                category=category,
                price_sen=1000 + i,
                stock=0 if i % 2 else 5,
            )
            for i in range(start, start + n)
        ]
    )


def test_shop_runs_the_same_queries_with_10_and_1000_products_and_fewer_when_cached(client):
    # given 10 products, half licences with a key each
    category = CategoryFactory()
    _bulk_products(10, start=0, category=category)
    LicenceKey.objects.bulk_create(
        [
            LicenceKey(product=p, key=f"K-{p.pk}")
            for p in Product.objects.filter(kind=ProductKind.LICENCE)
        ]
    )
    cache.clear()
    small, small_html = _get(client, "/shop/")
    # when there are 1,000 products
    _bulk_products(990, start=10, category=category)
    cache.clear()
    large, large_html = _get(client, "/shop/")
    # then the uncached page costs the same, within budget
    assert small_html.count('class="card product-card"') == 10
    assert large_html.count('class="card product-card"') == 24
    assert small == large
    assert large <= PAGE_BUDGET
    # and the next request, served from the cache, costs fewer
    cached, cached_html = _get(client, "/shop/")
    assert cached < large
    assert _titles(cached_html) == _titles(large_html)


def test_shop_search_and_category_pages_run_the_same_queries_at_both_sizes(client):
    # given 10 matching products
    category = CategoryFactory(slug="bulk")
    _bulk_products(10, start=0, category=category)
    cache.clear()
    small, _ = _get(client, "/shop/?q=bulk&category=bulk&page=1")
    # when there are 1,000
    _bulk_products(990, start=10, category=category)
    cache.clear()
    large, _ = _get(client, "/shop/?q=bulk&category=bulk&page=2")
    # then
    assert small == large
    assert large <= PAGE_BUDGET


def test_product_page_runs_the_same_queries_with_3_and_300_keys(client):
    # given a licence with 3 keys
    product = ProductFactory(licence=True, keys=3, slug="licence")
    cache.clear()
    small, small_html = _get(client, "/shop/licence/")
    # when its pool holds 300
    LicenceKey.objects.bulk_create(
        [LicenceKey(product=product, key=f"MORE-{n}") for n in range(297)]
    )
    cache.clear()
    large, large_html = _get(client, "/shop/licence/")
    # then
    assert "Add to cart" in small_html and "Add to cart" in large_html
    assert small == large
    assert large <= PAGE_BUDGET
    cached, _ = _get(client, "/shop/licence/")
    assert cached < large


def test_physical_product_page_is_within_budget(client):
    # given
    ProductFactory(slug="keyboard", stock=4)
    # when
    count, html = _get(client, "/shop/keyboard/")
    # then
    assert "4 in stock" in html
    assert count <= PAGE_BUDGET


def _fill_cart(cart, n: int, *, start: int, category) -> None:
    """Add n lines: alternately a licence (with a key) and a physical product."""
    _bulk_products(n, start=start, category=category)
    products = list(
        Product.objects.filter(slug__in=[f"bulk-{i:05d}" for i in range(start, start + n)])
    )
    LicenceKey.objects.bulk_create(
        [LicenceKey(product=p, key=f"K-{p.pk}") for p in products if p.kind == ProductKind.LICENCE]
    )
    CartLine.objects.bulk_create([CartLine(cart=cart, product=p, quantity=1) for p in products])


def test_cart_runs_the_same_queries_with_2_and_30_lines(client):
    # given a logged-in customer with 2 lines (a licence and a physical product)
    customer = CustomerFactory()
    cart = cart_with(customer)
    category = CategoryFactory()
    _fill_cart(cart, 2, start=0, category=category)
    client.force_login(customer)
    client.get("/cart/")  # the session settles (policy notice) before measuring
    _bump()  # measure the uncached path: nothing of the catalogue's cache applies
    small, small_html = _get(client, "/cart/")
    # when the cart holds 30 lines
    _fill_cart(cart, 28, start=2, category=category)
    _bump()
    large, large_html = _get(client, "/cart/")
    # then
    assert small_html.count('class="quantity-form"') == 2
    assert large_html.count('class="quantity-form"') == 30
    assert small == large
    assert large <= PAGE_BUDGET


def test_cart_reads_the_catalogue_version_once_per_page(client):
    # given a logged-in customer whose cart needs shipping (rates, availability and the
    # shipping estimate are all cached per catalogue version)
    customer = CustomerFactory()
    cart = cart_with(customer)
    _fill_cart(cart, 2, start=0, category=CategoryFactory())
    free_shipping()
    client.force_login(customer)
    client.get("/cart/")
    # when
    with (
        mock.patch("orders.views.catalogue_version", wraps=catalogue_version) as in_view,
        mock.patch("orders.catalogue.catalogue_version", wraps=catalogue_version) as inside,
    ):
        _count, html = _get(client, "/cart/")
    # then one shared-cache read of the version serves the whole page
    assert in_view.call_count + inside.call_count == 1
    assert html.count('class="quantity-form"') == 2
    assert 'class="shipping-estimate"' in html


def _bulk_orders(user, n: int, *, start: int) -> None:
    now = timezone.now()
    Order.objects.bulk_create(
        [
            Order(
                number=f"IPM-Q{i:04d}-TEST",
                user=user,
                email=user.email,
                billing_address="x",
                subtotal_sen=1000,
                tax_sen=80,
                total_sen=1080,
                placed_at=now - datetime.timedelta(minutes=i),
                reserved_until=now,
            )
            for i in range(start, start + n)
        ]
    )


def test_order_list_runs_the_same_queries_with_10_and_1000_orders(client):
    # given a customer with 10 orders
    customer = CustomerFactory()
    _bulk_orders(customer, 10, start=0)
    client.force_login(customer)
    client.get("/orders/")
    small, small_html = _get(client, "/orders/")
    # when they have 1,000
    _bulk_orders(customer, 990, start=10)
    large, large_html = _get(client, "/orders/")
    # then
    assert small_html.count("/orders/IPM-Q") == 10
    assert large_html.count("/orders/IPM-Q") == 20
    assert small == large
    assert large <= PAGE_BUDGET


def _order_with_lines(customer, n: int) -> Order:
    """An order of n lines: odd lines are licences with an issued key, even lines goods."""
    order = OrderFactory(user=customer)
    for i in range(n):
        if i % 2:
            line = OrderLineFactory(order=order)
            LicenceKey.objects.create(
                product=line.product,
                key=f"ISSUED-{order.number}-{i}",
                status=LicenceKeyStatus.ISSUED,
                order_line=line,
                issued_at=timezone.now(),
            )
        else:
            OrderLineFactory(order=order, product=ProductFactory())
    return order


def test_order_detail_runs_the_same_queries_with_2_and_20_lines(client):
    # given
    customer = CustomerFactory()
    small_order = _order_with_lines(customer, 2)
    large_order = _order_with_lines(customer, 20)
    client.force_login(customer)
    client.get(f"/orders/{small_order.number}/")
    # when
    small, small_html = _get(client, f"/orders/{small_order.number}/")
    large, large_html = _get(client, f"/orders/{large_order.number}/")
    # then
    assert small_html.count('<code class="licence-key') == 1
    assert large_html.count('<code class="licence-key') == 10
    assert small == large
    assert large <= PAGE_BUDGET


# --- placing an order


def _cart_of(customer, n_licences: int, n_physical: int):
    category = CategoryFactory()
    items = []
    for _ in range(n_licences):
        items.append((ProductFactory(licence=True, keys=2, category=category), 2))
    for _ in range(n_physical):
        items.append((ProductFactory(stock=5, category=category), 3))
    return cart_with(customer, *items)


def _count_place_order(n_licences: int, n_physical: int) -> int:
    customer = CustomerFactory()
    address = AddressFactory(user=customer)
    cart = _cart_of(customer, n_licences, n_physical)
    method = free_shipping()
    with CaptureQueriesContext(connection) as queries:
        order = place_order(
            customer,
            cart=cart,
            billing_address=address,
            shipping_address=address,
            shipping_method=method,
        )
    assert order.lines.count() == n_licences + n_physical
    assert LicenceKey.objects.filter(order_line__order=order).count() == 2 * n_licences
    return len(queries)


def test_place_order_runs_the_same_queries_for_1_and_15_lines(postgres):
    # given carts of 1 and of 15 lines of each shape: licences only, goods only, and a mix
    # (the stock UPDATE runs only when there are goods, the key claim only with licences)
    licences = (_count_place_order(1, 0), _count_place_order(15, 0))
    goods = (_count_place_order(0, 1), _count_place_order(0, 15))
    mixed = (_count_place_order(1, 1), _count_place_order(8, 7))
    # then the number of lines never changes the number of queries
    assert licences[0] == licences[1]
    assert goods[0] == goods[1]
    assert mixed[0] == mixed[1]
    assert max(*licences, *goods, *mixed) <= PLACE_ORDER_BUDGET


def _bulk_images(products) -> None:
    ProductImage.objects.bulk_create(
        [
            ProductImage(
                product=p,
                alt=f"Photo of {p.name}",
                stem=f"products/{p.pk}/x",
                format="webp",
                width=960,
                height=720,
                widths=[320, 640, 960],
            )
            for p in products
        ]
    )


@pytest.mark.parametrize(
    "query", ["", "?q=bulk", "?q=bulk&sort=-price", "?category=bulk&sort=newest"]
)
def test_listings_with_images_run_the_same_queries_with_10_and_1000_products(client, query):
    # given 10 products with an image each
    category = CategoryFactory(slug="bulk")
    _bulk_products(10, start=0, category=category)
    _bulk_images(Product.objects.all())
    cache.clear()
    small, small_html = _get(client, "/shop/" + query)
    # when there are 1,000
    _bulk_products(990, start=10, category=category)
    _bulk_images(Product.objects.filter(images__isnull=True))
    cache.clear()
    large, large_html = _get(client, "/shop/" + query)
    # then every card shows its image and the page costs the same
    assert small_html.count('class="product-image"') == 10
    assert large_html.count('class="product-image"') == 24
    assert small == large
    assert large <= PAGE_BUDGET


def test_home_with_featured_products_runs_the_same_queries_with_2_and_8_featured(client):
    category = CategoryFactory()
    _bulk_products(2, start=0, category=category)
    Product.objects.update(featured=True)
    _bulk_images(Product.objects.all())
    cache.clear()
    small, small_html = _get(client, "/")
    _bulk_products(20, start=2, category=category)
    Product.objects.update(featured=True)
    _bulk_images(Product.objects.filter(images__isnull=True))
    cache.clear()
    large, large_html = _get(client, "/")
    assert small_html.count('class="card product-card"') == 2
    assert large_html.count('class="card product-card"') == 8
    assert small == large
    assert large <= PAGE_BUDGET


def test_checkout_runs_the_same_queries_with_2_and_30_lines(client):
    # given a customer with an address, shipping methods and 2 lines (a licence and goods)
    customer = CustomerFactory()
    AddressFactory(user=customer)
    free_shipping()
    cart = cart_with(customer)
    category = CategoryFactory()
    _fill_cart(cart, 2, start=0, category=category)
    client.force_login(customer)
    client.get("/checkout/")  # the session settles before measuring
    _bump()  # the uncached path: methods, rates and availability are read again
    small, small_html = _get(client, "/checkout/")
    # when the cart holds 30 lines
    _fill_cart(cart, 28, start=2, category=category)
    _bump()
    large, large_html = _get(client, "/checkout/")
    # then the same queries, whatever the number of lines, and the method is offered
    assert small_html.count('name="shipping_method"') == 1
    assert large_html.count('name="shipping_method"') == 1
    assert small == large
    assert large <= PAGE_BUDGET
