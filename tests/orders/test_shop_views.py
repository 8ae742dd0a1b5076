"""The shop's pages: catalogue, product, cart (anonymous and after login), checkout, and the
customer's orders. Every order page is tried by an anonymous visitor, the owner, another
customer and a staff member who is not the owner."""

import re

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from orders.models import Cart, CartLine, LicenceKeyStatus, Order, OrderStatus, Product
from orders.selectors import CART_SESSION_KEY
from tests.factories import (
    AddressFactory,
    CategoryFactory,
    CustomerFactory,
    LicenceKeyFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    StaffFactory,
    cart_with,
)
from tests.factories.accounts import PASSWORD

pytestmark = pytest.mark.django_db


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _add(client, product, quantity) -> None:
    """Put `quantity` of `product` in the session cart, then read the flash message away."""
    client.post(f"/cart/add/{product.pk}/", {"quantity": quantity})
    client.get("/cart/")


def _lines(cart) -> dict[str, int]:
    return dict(CartLine.objects.filter(cart=cart).values_list("product__slug", "quantity"))


def _grid_products(response) -> list[str]:
    # The grid is a cached HTML fragment, not a context object: read the card titles back.
    return re.findall(r'<h2 class="card-title">([^<]+)</h2>', response.content.decode())


# --- catalogue


def test_the_shop_lists_active_products_only(client):
    # given
    ProductFactory(name="Alpha keyboard")
    ProductFactory(name="Beta keyboard", is_active=False)
    # when
    response = client.get("/shop/")
    # then
    assert response.status_code == 200
    assert _grid_products(response) == ["Alpha keyboard"]


def test_search_matches_name_or_summary(client):
    # given
    ProductFactory(name="Guard Antivirus", summary="Real-time protection")
    ProductFactory(name="Wireless keyboard", summary="Quiet keys")
    ProductFactory(name="Security key", summary="FIDO2 protection for sign-in")
    # when
    by_summary = client.get("/shop/", {"q": "protection"})
    by_name = client.get("/shop/", {"q": "KEYBOARD"})
    nothing = client.get("/shop/", {"q": "zzz"})
    # then
    assert _grid_products(by_summary) == ["Guard Antivirus", "Security key"]
    assert _grid_products(by_name) == ["Wireless keyboard"]
    assert _grid_products(nothing) == []
    assert "No products match your search." in nothing.content.decode()


def test_category_filter_and_search_together(client):
    # given
    security = CategoryFactory(name="Security", slug="security")
    accessories = CategoryFactory(name="Accessories", slug="accessories")
    ProductFactory(name="Guard Antivirus", category=security, licence=True, keys=1)
    ProductFactory(name="Guard Total", category=security, licence=True, keys=1)
    ProductFactory(name="Guard case", category=accessories)
    # when / then
    assert _grid_products(client.get("/shop/", {"category": "security"})) == [
        "Guard Antivirus",
        "Guard Total",
    ]
    assert _grid_products(client.get("/shop/", {"category": "accessories", "q": "guard"})) == [
        "Guard case"
    ]
    assert _grid_products(client.get("/shop/", {"category": "nothing-here"})) == []


def test_pagination_24_per_page(client):
    # given 30 products named so that they sort by number
    for n in range(30):
        ProductFactory(name=f"Item {n:02d}")
    # when
    first = client.get("/shop/")
    second = client.get("/shop/", {"page": 2})
    # then
    assert _grid_products(first) == [f"Item {n:02d}" for n in range(24)]
    assert _grid_products(second) == [f"Item {n:02d}" for n in range(24, 30)]
    assert "Page 1 of 2" in first.content.decode()
    assert "Page 2 of 2" in second.content.decode()
    # an out-of-range page shows the last one
    assert _grid_products(client.get("/shop/", {"page": 99})) == _grid_products(second)


def test_product_page_shows_the_product(client):
    # given
    ProductFactory(name="Wireless keyboard", slug="wireless-keyboard", price_sen=15900, stock=4)
    # when
    response = client.get("/shop/wireless-keyboard/")
    html = response.content.decode()
    # then
    assert response.status_code == 200
    assert "Wireless keyboard" in html
    assert "RM 159.00" in html
    assert "4 in stock" in html


def test_product_page_is_404_for_an_inactive_or_unknown_product(client):
    # given
    ProductFactory(slug="old-keyboard", is_active=False)
    # when / then
    assert client.get("/shop/old-keyboard/").status_code == 404
    assert client.get("/shop/no-such-thing/").status_code == 404


# --- cart pages


def test_an_anonymous_visitor_adds_to_a_session_cart(client):
    # given
    product = ProductFactory(name="Keyboard", slug="keyboard", stock=5)
    # when
    response = client.post(f"/cart/add/{product.pk}/", {"quantity": 2})
    # then
    assert response.status_code == 302
    assert response["Location"] == "/cart/"
    cart = Cart.objects.get(pk=client.session[CART_SESSION_KEY])
    assert cart.user is None
    assert _lines(cart) == {"keyboard": 2}
    assert client.session["cart_count"] == 2
    assert _messages(response) == ["Keyboard was added to your cart."]
    page = client.get("/cart/").content.decode()
    assert "Keyboard" in page
    assert "RM 200.00" in page  # 2 × RM 100.00


def test_update_and_remove_through_the_cart_page(client):
    # given a session cart with two lines
    a = ProductFactory(slug="a", stock=5)
    b = ProductFactory(slug="b", stock=5)
    client.post(f"/cart/add/{a.pk}/", {"quantity": 1})
    client.post(f"/cart/add/{b.pk}/", {"quantity": 1})
    cart = Cart.objects.get(pk=client.session[CART_SESSION_KEY])
    # when the quantity of a is set to 3
    response = client.post(f"/cart/update/{a.pk}/", {"quantity": 3})
    # then
    assert response["Location"] == "/cart/"
    assert _lines(cart) == {"a": 3, "b": 1}
    assert client.session["cart_count"] == 4
    # when b is set to 0, then removed is a
    client.post(f"/cart/update/{b.pk}/", {"quantity": 0})
    assert _lines(cart) == {"a": 3}
    response = client.post(f"/cart/remove/{a.pk}/")
    assert response["Location"] == "/cart/"
    assert _lines(cart) == {}
    assert client.session["cart_count"] == 0
    assert "Your cart is empty." in client.get("/cart/").content.decode()


@pytest.mark.parametrize("action", ["add", "update", "remove"])
def test_get_on_a_cart_action_is_not_allowed_and_changes_nothing(client, action):
    # given
    product = ProductFactory(slug="a")
    client.post(f"/cart/add/{product.pk}/", {"quantity": 1})
    # when
    response = client.get(f"/cart/{action}/{product.pk}/", {"quantity": 5})
    # then
    assert response.status_code == 405
    assert dict(CartLine.objects.values_list("product__slug", "quantity")) == {"a": 1}


@pytest.mark.parametrize("quantity", ["0", "21", "-1", "two", ""])
def test_adding_a_quantity_out_of_range_changes_nothing(client, quantity):
    # given
    product = ProductFactory(slug="keyboard", stock=50)
    # when
    response = client.post(f"/cart/add/{product.pk}/", {"quantity": quantity})
    # then
    assert response["Location"] == "/shop/keyboard/"
    assert _messages(response) == ["Choose a quantity between 1 and 20."]
    assert CartLine.objects.count() == 0
    assert Cart.objects.count() == 0


@pytest.mark.parametrize("quantity", ["21", "-1", "x"])
def test_updating_to_a_quantity_out_of_range_changes_nothing(client, quantity):
    # given
    product = ProductFactory(slug="keyboard", stock=50)
    _add(client, product, 2)
    # when
    response = client.post(f"/cart/update/{product.pk}/", {"quantity": quantity})
    # then
    assert response["Location"] == "/cart/"
    assert _messages(response) == ["Choose a quantity between 0 and 20."]
    assert dict(CartLine.objects.values_list("product__slug", "quantity")) == {"keyboard": 2}


def test_adding_more_than_the_stock_shows_the_message_and_changes_nothing(client):
    # given
    product = ProductFactory(name="Keyboard", slug="keyboard", stock=3)
    _add(client, product, 2)
    # when
    response = client.post(f"/cart/add/{product.pk}/", {"quantity": 2})
    # then
    assert response["Location"] == "/shop/keyboard/"
    assert _messages(response) == ["Only 3 of Keyboard left; your cart was not changed."]
    assert dict(CartLine.objects.values_list("product__slug", "quantity")) == {"keyboard": 2}


def test_updating_to_more_than_the_stock_shows_the_message_and_changes_nothing(client):
    # given
    product = ProductFactory(name="Keyboard", slug="keyboard", stock=3)
    _add(client, product, 2)
    # when
    response = client.post(f"/cart/update/{product.pk}/", {"quantity": 4})
    # then
    assert _messages(response) == ["Only 3 of Keyboard left; your cart was not changed."]
    assert dict(CartLine.objects.values_list("product__slug", "quantity")) == {"keyboard": 2}


def test_adding_an_inactive_product_is_404(client):
    # given
    product = ProductFactory(is_active=False)
    # when / then
    assert client.post(f"/cart/add/{product.pk}/", {"quantity": 1}).status_code == 404
    assert Cart.objects.count() == 0


def test_logging_in_merges_the_session_cart_into_the_customers_cart(client):
    # given a customer whose own cart holds 1 × a and 2 × c from an earlier visit
    customer = CustomerFactory(email="aina@example.com")
    a = ProductFactory(slug="a", stock=10)
    b = ProductFactory(slug="b", licence=True, keys=5)
    c = ProductFactory(slug="c", stock=10)
    own = cart_with(customer, (a, 1), (c, 2))
    # and, logged out, they put 2 × a and 1 × b in a session cart
    client.post(f"/cart/add/{a.pk}/", {"quantity": 2})
    client.post(f"/cart/add/{b.pk}/", {"quantity": 1})
    anonymous_id = client.session[CART_SESSION_KEY]
    # when they log in
    response = client.post("/accounts/login/", {"login": "aina@example.com", "password": PASSWORD})
    # then they are in, and nothing was lost: quantities are summed into their own cart
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == customer.pk
    assert _lines(own) == {"a": 3, "b": 1, "c": 2}
    assert not Cart.objects.filter(pk=anonymous_id).exists()
    assert CART_SESSION_KEY not in client.session
    assert client.session["cart_count"] == 6
    page = client.get("/cart/")
    assert [row["product"].slug for row in page.context["summary"]["rows"]] == ["a", "c", "b"]


def test_logging_in_caps_merged_lines_at_the_stock_with_a_note(client):
    # given
    customer = CustomerFactory(email="aina@example.com")
    product = ProductFactory(name="Keyboard", slug="keyboard", stock=3)
    own = cart_with(customer, (product, 2))
    client.post(f"/cart/add/{product.pk}/", {"quantity": 2})
    # when
    response = client.post(
        "/accounts/login/", {"login": "aina@example.com", "password": PASSWORD}, follow=True
    )
    # then
    assert _lines(own) == {"keyboard": 3}
    assert "Keyboard: only 3 could be kept in your cart." in [
        str(m) for m in response.context["messages"]
    ]


# --- checkout page


def test_checkout_sends_an_anonymous_visitor_to_log_in(client):
    # when
    response = client.get("/checkout/")
    # then
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/checkout/"


def test_checkout_with_an_empty_cart_goes_back_to_the_cart(client):
    # given
    client.force_login(CustomerFactory())
    # when
    response = client.get("/checkout/")
    # then
    assert response["Location"] == "/cart/"


def test_checkout_without_an_address_asks_for_one(client):
    # given
    customer = CustomerFactory()
    cart_with(customer, (ProductFactory(licence=True, keys=1), 1))
    client.force_login(customer)
    # when
    response = client.get("/checkout/")
    # then
    assert response.status_code == 302
    assert response["Location"] == "/account/addresses/new/?next=/checkout/"


def test_checkout_offers_the_customers_own_addresses_only(client):
    # given a customer with two addresses and another customer with one
    customer = CustomerFactory()
    mine = [AddressFactory(user=customer), AddressFactory(user=customer)]
    AddressFactory()
    cart_with(customer, (ProductFactory(stock=3), 1))
    client.force_login(customer)
    # when
    response = client.get("/checkout/")
    # then both choices are theirs, and shipping is asked because the item is posted
    form = response.context["form"]
    assert response.status_code == 200
    assert sorted(a.pk for a in form.fields["billing_address"].queryset) == sorted(
        a.pk for a in mine
    )
    assert sorted(a.pk for a in form.fields["shipping_address"].queryset) == sorted(
        a.pk for a in mine
    )


def test_checkout_for_licences_only_asks_no_shipping_address(client):
    # given
    customer = CustomerFactory()
    AddressFactory(user=customer)
    cart_with(customer, (ProductFactory(licence=True, keys=1), 1))
    client.force_login(customer)
    # when
    form = client.get("/checkout/").context["form"]
    # then
    assert set(form.fields) == {"billing_address"}


def test_posting_another_customers_address_is_a_form_error_and_no_order(client):
    # given
    customer = CustomerFactory()
    mine = AddressFactory(user=customer)
    theirs = AddressFactory()
    product = ProductFactory(stock=3)
    cart = cart_with(customer, (product, 1))
    client.force_login(customer)
    # when their address id is posted, with a price thrown in
    response = client.post(
        "/checkout/", {"billing_address": theirs.pk, "shipping_address": mine.pk, "price_sen": 1}
    )
    # then the form refuses it and nothing happened
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "billing_address": [
            "Select a valid choice. That choice is not one of the available choices."
        ]
    }
    assert Order.objects.count() == 0
    assert Product.objects.get(pk=product.pk).stock == 3
    assert _lines(cart) == {product.slug: 1}


# --- the customer's orders: who may see what


@pytest.fixture
def order():
    owner = CustomerFactory()
    order = OrderFactory(user=owner, paid_at=None)
    OrderLineFactory(order=order)
    return order


def _order_urls(order) -> dict[str, str]:
    return {
        "detail": f"/orders/{order.number}/",
        "receipt": f"/orders/{order.number}/receipt/",
    }


@pytest.mark.parametrize("page", ["/orders/", "detail", "receipt"])
def test_order_pages_send_anonymous_visitors_to_log_in(client, order, page):
    # given
    url = _order_urls(order).get(page, page)
    # when
    response = client.get(url)
    # then
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_cancel_by_an_anonymous_visitor_goes_to_log_in_and_changes_nothing(client, order):
    # when
    response = client.post(f"/orders/{order.number}/cancel/")
    # then
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next=/orders/{order.number}/cancel/"
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT


def test_the_owner_sees_their_order_list_and_order(client, order):
    # given
    client.force_login(order.user)
    # when
    listing = client.get("/orders/")
    # then
    assert listing.status_code == 200
    assert [o.number for o in listing.context["page"].object_list] == [order.number]
    detail = client.get(f"/orders/{order.number}/")
    assert detail.status_code == 200
    assert detail.context["order"] == order


@pytest.mark.parametrize("who", ["another customer", "staff"])
def test_the_order_list_shows_no_one_elses_orders(client, order, who):
    # given
    other = CustomerFactory() if who == "another customer" else StaffFactory(is_superuser=True)
    OrderFactory(user=other)
    client.force_login(other)
    # when
    numbers = [o.number for o in client.get("/orders/").context["page"].object_list]
    # then
    assert order.number not in numbers
    assert len(numbers) == 1


def test_the_receipt_is_404_before_payment_and_200_after(client, order):
    # given
    client.force_login(order.user)
    # when / then: no receipt before payment
    assert client.get(f"/orders/{order.number}/receipt/").status_code == 404
    # when it is paid, then there is one
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.FULFILLED, paid_at=timezone.now())
    response = client.get(f"/orders/{order.number}/receipt/")
    assert response.status_code == 200
    assert order.number in response.content.decode()


@pytest.mark.parametrize("who", ["another customer", "staff"])
@pytest.mark.parametrize("page", ["detail", "receipt"])
def test_order_pages_are_404_for_anyone_but_the_owner(client, order, who, page):
    # given
    Order.objects.filter(pk=order.pk).update(paid_at=timezone.now())  # so the receipt exists
    intruder = (
        CustomerFactory() if who == "another customer" else StaffFactory(role="store manager")
    )
    client.force_login(intruder)
    # when / then
    assert client.get(_order_urls(order)[page]).status_code == 404


@pytest.mark.parametrize("who", ["another customer", "staff"])
def test_cancel_is_404_for_anyone_but_the_owner_and_changes_nothing(client, order, who):
    # given
    intruder = CustomerFactory() if who == "another customer" else StaffFactory(is_superuser=True)
    client.force_login(intruder)
    # when
    response = client.post(f"/orders/{order.number}/cancel/")
    # then
    assert response.status_code == 404
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert order.events.count() == 0


def test_the_owner_cancels_their_order_and_the_stock_comes_back(client):
    # given an order placed through the service, holding 2 units
    from orders.services.checkout import place_order

    customer = CustomerFactory()
    address = AddressFactory(user=customer)
    product = ProductFactory(stock=5)
    placed = place_order(
        customer,
        cart=cart_with(customer, (product, 2)),
        billing_address=address,
        shipping_address=address,
    )
    client.force_login(customer)
    # when
    response = client.post(f"/orders/{placed.number}/cancel/")
    # then
    assert response["Location"] == f"/orders/{placed.number}/"
    assert _messages(response) == ["Your order was cancelled."]
    placed.refresh_from_db()
    assert placed.status == OrderStatus.CANCELLED
    assert Product.objects.get(pk=product.pk).stock == 5


def test_get_on_cancel_is_not_allowed(client, order):
    # given
    client.force_login(order.user)
    # when / then
    assert client.get(f"/orders/{order.number}/cancel/").status_code == 405
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT


def test_the_order_page_shows_licence_keys_only_once_issued(client):
    # given a paid order with one issued key and one still reserved
    customer = CustomerFactory()
    order = OrderFactory(user=customer, status=OrderStatus.FULFILLED, paid_at=timezone.now())
    line = OrderLineFactory(order=order, quantity=2)
    LicenceKeyFactory(
        product=line.product,
        key="ISSUED-KEY-0001",
        status=LicenceKeyStatus.ISSUED,
        order_line=line,
        issued_at=timezone.now(),
    )
    LicenceKeyFactory(
        product=line.product,
        key="RESERVED-KEY-0002",
        status=LicenceKeyStatus.RESERVED,
        order_line=line,
    )
    LicenceKeyFactory(product=line.product, key="POOL-KEY-0003")
    client.force_login(customer)
    # when
    html = client.get(f"/orders/{order.number}/").content.decode()
    # then
    assert "ISSUED-KEY-0001" in html
    assert "RESERVED-KEY-0002" not in html
    assert "POOL-KEY-0003" not in html


def test_the_order_page_shows_no_key_while_all_are_reserved(client):
    # given
    customer = CustomerFactory()
    order = OrderFactory(user=customer)
    line = OrderLineFactory(order=order)
    LicenceKeyFactory(
        product=line.product,
        key="RESERVED-KEY-0002",
        status=LicenceKeyStatus.RESERVED,
        order_line=line,
    )
    client.force_login(customer)
    # when
    response = client.get(f"/orders/{order.number}/")
    # then
    assert "RESERVED-KEY-0002" not in response.content.decode()
    assert '<code class="licence-key' not in response.content.decode()
    assert Product.objects.count() == 1


def test_the_order_list_pages_by_twenty_without_counting(client):
    from orders.models import Order
    from tests.factories import CustomerFactory, OrderFactory

    # given 25 orders
    customer = CustomerFactory()
    for _ in range(25):
        OrderFactory(user=customer)
    client.force_login(customer)
    # when / then
    first = client.get("/orders/").content.decode()
    second = client.get("/orders/?page=2").content.decode()
    assert first.count('href="/orders/IPM-') == 20 and '?page=2">Next' in first
    assert second.count('href="/orders/IPM-') == 5 and '?page=1">Previous' in second
    assert "Next" not in second
    assert client.get("/orders/?page=abc").content.decode().count('href="/orders/IPM-') == 20
    assert Order.objects.count() == 25
