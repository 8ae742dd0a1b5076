"""Shipping: zones from the address, methods per zone, prices and tax copied onto the order,
the checkout's radio list, the cart's estimate, and the audited admin service."""

import re
from decimal import Decimal

import pytest
from django.utils import timezone

from ipmart.core.models import StaffChange
from orders.catalogue import _bump
from orders.emails import send_order_email
from orders.models import (
    Cart,
    CartLine,
    Order,
    OrderStatus,
    Product,
    ShippingMethod,
    ShippingZone,
    TaxRate,
)
from orders.services.checkout import place_order
from orders.services.errors import CheckoutError
from orders.services.shipping import save_shipping_method
from orders.shipping import zone_for
from tests.factories import (
    AddressFactory,
    CustomerFactory,
    ProductFactory,
    ShippingMethodFactory,
    StaffFactory,
    cart_with,
    placed_order,
    staff_client,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("country", "state", "zone"),
    [
        ("MY", "Selangor", ShippingZone.PENINSULAR),
        ("MY", "Wilayah Persekutuan", ShippingZone.PENINSULAR),
        ("MY", "", ShippingZone.PENINSULAR),
        ("MY", "Sabah", ShippingZone.EAST),
        ("MY", "SARAWAK", ShippingZone.EAST),
        ("MY", "W.P. Labuan", ShippingZone.EAST),
        ("MY", "Wilayah Persekutuan Labuan", ShippingZone.EAST),
        ("SG", "Sabah", ShippingZone.INTERNATIONAL),
        ("GB", "", ShippingZone.INTERNATIONAL),
    ],
)
def test_the_zone_comes_from_country_and_state(country, state, zone):
    assert zone_for(country, state) == zone


@pytest.fixture
def customer():
    return CustomerFactory()


@pytest.fixture
def address(customer):
    return AddressFactory(user=customer, state="Selangor")


@pytest.fixture
def methods():
    return {
        "standard": ShippingMethodFactory(
            zone=ShippingZone.PENINSULAR, name="Pos Laju standard", price_sen=800
        ),
        "express": ShippingMethodFactory(
            zone=ShippingZone.PENINSULAR, name="Pos Laju express", price_sen=1500, position=1
        ),
        "east": ShippingMethodFactory(zone=ShippingZone.EAST, name="Pos Laju", price_sen=1500),
    }


def _snapshot(cart, product):
    return (
        Order.objects.count(),
        Product.objects.get(pk=product.pk).stock,
        list(CartLine.objects.filter(cart=cart).values_list("product_id", "quantity")),
    )


def test_goods_are_charged_the_chosen_method_taxed_at_the_service_tax_rate(
    customer, address, methods
):
    # given goods at RM 50.00 (sales tax 10%) and Pos Laju express at RM 15.00 (service tax 8%)
    product = ProductFactory(price_sen=5000, stock=3)
    cart = cart_with(customer, (product, 1))
    # when
    order = placed_order(customer, cart, address, shipping_method=methods["express"])
    # then the shipping is copied onto the order and the totals add it and its tax
    order.refresh_from_db()
    assert (
        order.shipping_zone,
        order.shipping_method_id,
        order.shipping_method_name,
        order.shipping_sen,
        order.shipping_tax_rate_percent,
        order.shipping_tax_sen,
    ) == (
        ShippingZone.PENINSULAR,
        methods["express"].pk,
        "Pos Laju express",
        1500,
        Decimal("8.00"),
        120,
    )
    assert (order.subtotal_sen, order.tax_sen, order.total_sen) == (5000, 620, 7120)
    assert (order.goods_tax_sen, order.shipping_total_sen) == (500, 1620)


def test_a_later_price_change_does_not_touch_a_placed_order(customer, address, methods):
    product = ProductFactory(price_sen=5000, stock=3)
    order = placed_order(
        customer, cart_with(customer, (product, 1)), address, shipping_method=methods["standard"]
    )
    ShippingMethod.objects.filter(pk=methods["standard"].pk).update(price_sen=9900, name="Renamed")
    order.refresh_from_db()
    assert (order.shipping_method_name, order.shipping_sen, order.total_sen) == (
        "Pos Laju standard",
        800,
        5000 + 500 + 800 + 64,
    )


def test_shipping_is_untaxed_when_the_setting_names_no_rate(customer, address, methods, settings):
    settings.SHIPPING_TAX_RATE_KIND = ""
    product = ProductFactory(price_sen=5000, stock=3)
    order = placed_order(
        customer, cart_with(customer, (product, 1)), address, shipping_method=methods["standard"]
    )
    assert (order.shipping_tax_sen, order.tax_sen, order.total_sen) == (0, 500, 6300)


def test_shipping_follows_the_service_tax_rate_row(customer, address, methods):
    TaxRate.objects.filter(kind="licence").update(rate_percent=Decimal("6.00"))
    product = ProductFactory(price_sen=5000, stock=3)
    order = placed_order(
        customer, cart_with(customer, (product, 1)), address, shipping_method=methods["standard"]
    )
    assert (order.shipping_tax_rate_percent, order.shipping_tax_sen) == (Decimal("6.00"), 48)


def test_a_licence_only_order_has_no_shipping_even_if_a_method_is_sent(customer, address, methods):
    licence = ProductFactory(licence=True, keys=1, price_sen=10000)
    order = placed_order(
        customer, cart_with(customer, (licence, 1)), address, shipping_method=methods["express"]
    )
    assert (order.shipping_address, order.shipping_method_name, order.shipping_sen) == ("", "", 0)
    assert (order.tax_sen, order.total_sen) == (800, 10800)


@pytest.mark.parametrize("which", ["east", "withdrawn", "missing", "none"])
def test_a_method_not_offered_for_the_address_is_refused_and_nothing_changes(
    customer, address, methods, which
):
    # given goods to post to Peninsular Malaysia
    product = ProductFactory(stock=3)
    cart = cart_with(customer, (product, 1))
    method = methods["east"] if which == "east" else methods["standard"]
    if which == "withdrawn":
        ShippingMethod.objects.filter(pk=method.pk).update(is_active=False)
    if which == "missing":
        method = ShippingMethod(pk=999999)
    if which == "none":
        method = None
    before = _snapshot(cart, product)
    expected = (
        r"^Choose how we post your goods\.$"
        if which == "none"
        else r"^That shipping method is not offered for Peninsular Malaysia\. Choose another one\.$"
    )
    # when / then
    with pytest.raises(CheckoutError, match=expected):
        place_order(
            customer,
            cart=cart,
            billing_address=address,
            shipping_address=address,
            shipping_method=method,
        )
    assert _snapshot(cart, product) == before


def test_a_malaysian_shipping_address_without_a_state_is_refused(customer, methods):
    address = AddressFactory(user=customer, state="")
    product = ProductFactory(stock=3)
    cart = cart_with(customer, (product, 1))
    before = _snapshot(cart, product)
    with pytest.raises(
        CheckoutError,
        match=r"^Add the state to your shipping address: we need it to post to Malaysia\.$",
    ):
        placed_order(customer, cart, address, shipping_method=methods["standard"])
    assert _snapshot(cart, product) == before


def test_an_address_abroad_needs_no_state_and_gets_the_international_method(customer):
    address = AddressFactory(user=customer, country="SG", state="", city="Singapore")
    abroad = ShippingMethodFactory(zone=ShippingZone.INTERNATIONAL, name="EMS", price_sen=6500)
    product = ProductFactory(price_sen=1000, stock=3)
    order = placed_order(
        customer, cart_with(customer, (product, 1)), address, shipping_method=abroad
    )
    assert (order.shipping_zone, order.shipping_sen, order.shipping_tax_sen) == (
        ShippingZone.INTERNATIONAL,
        6500,
        520,
    )


# --- admin service


def test_saving_a_method_is_audited_with_the_price_in_ringgit(methods):
    manager = StaffFactory(role="store manager")
    method = ShippingMethod.objects.get(pk=methods["standard"].pk)
    method.price_sen = 950
    save_shipping_method(method, acting_user=manager)
    change = StaffChange.objects.get(object_id=str(method.pk), content_type__model="shippingmethod")
    assert change.actor == manager
    assert change.changes == {"price_sen": ["RM 8.00", "RM 9.50"]}
    assert ShippingMethod.objects.get(pk=method.pk).price_sen == 950


def test_a_manager_adds_a_method_in_admin_typing_ringgit():
    client = staff_client("store manager")[1]
    response = client.post(
        "/admin/orders/shippingmethod/add/",
        {
            "zone": "east",
            "name": "City-Link",
            "price_sen": "12.50",
            "min_days": "2",
            "max_days": "5",
            "position": "0",
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    method = ShippingMethod.objects.get(name="City-Link")
    assert (method.zone, method.price_sen) == ("east", 1250)
    change = StaffChange.objects.get(object_id=str(method.pk), content_type__model="shippingmethod")
    assert change.action == "create"
    assert change.changes["price_sen"] == ["", "RM 12.50"]


# --- checkout page


@pytest.fixture
def paid_redirect(monkeypatch):
    """The gateway is not asked here: placing the order is what is tested."""
    monkeypatch.setattr(
        "orders.views.start_payment", lambda order, **kwargs: "http://127.0.0.1:8001/pay"
    )


def _radio_labels(html: str) -> list[str]:
    return [
        re.sub(r"\s+", " ", label).strip()
        for label in re.findall(
            r'<label for="id_shipping_method_\d+"><input[^>]*>\s*([^<]+)</label>', html
        )
    ]


def test_checkout_offers_the_methods_of_the_shipping_address_zone_with_price_and_estimate(
    client, customer, methods
):
    AddressFactory(user=customer, state="Sabah", is_default_shipping=True)
    ShippingMethodFactory(zone=ShippingZone.EAST, name="Slow boat", price_sen=900, is_active=False)
    cart_with(customer, (ProductFactory(stock=3), 1))
    client.force_login(customer)
    html = client.get("/checkout/").content.decode()
    assert _radio_labels(html) == ["Pos Laju · RM 16.20 · 2–4 working days"]
    assert "Methods for Sabah, Sarawak and Labuan." in html


def test_checkout_for_licences_only_shows_no_shipping_method(client, customer, address, methods):
    cart_with(customer, (ProductFactory(licence=True, keys=1), 1))
    client.force_login(customer)
    response = client.get("/checkout/")
    assert set(response.context["form"].fields) == {"billing_address"}
    assert "Shipping" not in response.content.decode().split("<main", 1)[1].split("</main>")[0]


def test_choosing_another_address_shows_its_zones_methods_and_places_nothing(
    client, customer, address, methods
):
    east = AddressFactory(user=customer, state="Sarawak")
    cart = cart_with(customer, (ProductFactory(stock=3), 1))
    client.force_login(customer)
    response = client.post(
        "/checkout/",
        {
            "billing_address": address.pk,
            "shipping_address": east.pk,
            "shipping_method": methods["standard"].pk,
            "update_shipping": "1",
        },
    )
    assert response.status_code == 200
    assert _radio_labels(response.content.decode()) == ["Pos Laju · RM 16.20 · 2–4 working days"]
    assert Order.objects.count() == 0
    assert cart.lines.count() == 1


def test_posting_a_method_of_another_zone_is_a_form_error_and_no_order(
    client, customer, address, methods
):
    product = ProductFactory(stock=3)
    cart = cart_with(customer, (product, 1))
    client.force_login(customer)
    response = client.post(
        "/checkout/",
        {
            "billing_address": address.pk,
            "shipping_address": address.pk,
            "shipping_method": methods["east"].pk,
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "shipping_method": ["Choose one of the shipping methods offered for this address."]
    }
    assert _snapshot(cart, product) == (0, 3, [(product.pk, 1)])


def test_checkout_places_the_order_with_the_chosen_method(
    client, customer, address, methods, paid_redirect
):
    product = ProductFactory(price_sen=5000, stock=3)
    cart_with(customer, (product, 1))
    client.force_login(customer)
    html = client.get("/checkout/").content.decode()
    # the first method is chosen for them and the summary already counts it
    assert re.search(rf'value="{methods["standard"].pk}"[^>]*checked', html)
    assert "Shipping: Pos Laju standard" in html
    response = client.post(
        "/checkout/",
        {
            "billing_address": address.pk,
            "shipping_address": address.pk,
            "shipping_method": methods["express"].pk,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "http://127.0.0.1:8001/pay"
    order = Order.objects.get()
    assert (order.shipping_method_name, order.shipping_sen, order.total_sen) == (
        "Pos Laju express",
        1500,
        5000 + 500 + 1500 + 120,
    )


# --- cart estimate


def test_the_cart_estimates_shipping_from_the_cheapest_method_of_peninsular_malaysia(
    client, methods
):
    product = ProductFactory(stock=3)
    client.post(f"/cart/add/{product.pk}/", {"quantity": 1})
    html = client.get("/cart/").content.decode()
    assert (
        "Shipping to Peninsular Malaysia from RM 8.64 (with SST); you choose the method at "
        "checkout." in html
    )
    assert "Total before shipping" in html


def test_the_cart_estimates_shipping_to_the_customers_default_address_zone(
    client, customer, methods
):
    AddressFactory(user=customer, state="Labuan", is_default_shipping=True)
    cart_with(customer, (ProductFactory(stock=3), 1))
    client.force_login(customer)
    html = client.get("/cart/").content.decode()
    assert "Shipping to Sabah, Sarawak and Labuan from RM 16.20 (with SST)" in html


def test_the_cart_of_licences_only_has_no_shipping_estimate(client, methods):
    product = ProductFactory(licence=True, keys=2)
    client.post(f"/cart/add/{product.pk}/", {"quantity": 1})
    html = client.get("/cart/").content.decode()
    assert "Shipping to" not in html
    assert "Total before shipping" not in html


def test_a_method_saved_in_admin_shows_in_the_cart_estimate_at_once(
    client, methods, django_capture_on_commit_callbacks
):
    product = ProductFactory(stock=3)
    client.post(f"/cart/add/{product.pk}/", {"quantity": 1})
    client.get("/cart/")  # warm the cache
    method = ShippingMethod.objects.get(pk=methods["standard"].pk)
    method.price_sen = 500
    with django_capture_on_commit_callbacks(execute=True):
        save_shipping_method(method, acting_user=StaffFactory(role="store manager"))
    assert "from RM 5.40 (with SST)" in client.get("/cart/").content.decode()


def test_the_cart_estimate_costs_no_extra_query_once_cached(client, methods):
    _bump()
    product = ProductFactory(stock=3)
    client.post(f"/cart/add/{product.pk}/", {"quantity": 1})
    client.get("/cart/")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        client.get("/cart/")
    assert not any("orders_shippingmethod" in q["sql"] for q in queries.captured_queries)


def test_the_demo_methods_cover_the_three_zones_and_seeding_twice_changes_nothing():
    from orders.demo_shipping import seed_shipping_methods

    assert seed_shipping_methods() == 5
    assert seed_shipping_methods() == 0
    zones = set(ShippingMethod.objects.values_list("zone", flat=True))
    assert zones == {ShippingZone.PENINSULAR, ShippingZone.EAST, ShippingZone.INTERNATIONAL}
    assert ShippingMethod.objects.count() == 5
    assert not ShippingMethod.objects.filter(name_ms="").exists()


def test_seeding_gives_a_method_seeded_without_a_malay_name_its_name_and_keeps_a_typed_one():
    from orders.demo_shipping import seed_shipping_methods

    # given demo methods seeded before they had Malay names, one since named by a manager
    ShippingMethodFactory(zone=ShippingZone.PENINSULAR, name="Pos Laju standard", name_ms="")
    ShippingMethodFactory(zone=ShippingZone.EAST, name="Pos Laju standard", name_ms="Pos biasa")
    # when the catalogue is seeded again
    created = seed_shipping_methods()
    # then the missing Malay name is filled in and the manager's is kept
    assert created == 3
    names = dict(
        ShippingMethod.objects.values_list("zone", "name_ms").filter(name="Pos Laju standard")
    )
    assert names == {ShippingZone.PENINSULAR: "Pos Laju biasa", ShippingZone.EAST: "Pos biasa"}


@pytest.mark.parametrize("language", ["ms", "en"])
def test_the_method_is_named_in_the_customers_language_at_checkout_and_after(
    client, customer, address, language, mailoutbox
):
    # given a method with a Malay name and a customer reading in Malay (or English)
    ShippingMethodFactory(
        zone=ShippingZone.PENINSULAR, name="Pos Laju express", name_ms="Pos Laju ekspres"
    )
    customer.preferred_language = language
    customer.save(update_fields=["preferred_language"])
    product = ProductFactory(stock=3)
    cart_with(customer, (product, 1))
    client.force_login(customer)
    client.cookies["django_language"] = language
    # when they check out, and the order is placed with it
    checkout = client.get("/checkout/").content.decode()
    order = placed_order(
        customer,
        Cart.objects.get(user=customer),
        address,
        shipping_method=ShippingMethod.objects.get(name="Pos Laju express"),
    )
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.PAID, paid_at=timezone.now())
    order.refresh_from_db()
    page = client.get(order.get_absolute_url()).content.decode()
    receipt = client.get(f"/orders/{order.number}/receipt/").content.decode()
    send_order_email(order, "paid")
    # then the checkout, order page, receipt and email name the method in their language
    shown, hidden = ("Pos Laju ekspres", "Pos Laju express")[:: 1 if language == "ms" else -1]
    assert _radio_labels(checkout)[0].startswith(f"{shown} · ")
    (email,) = mailoutbox
    for text in (page, receipt, email.body):
        assert shown in text and hidden not in text
    # the order keeps both names as chosen, whatever the method is called later
    assert (order.shipping_method_name, order.shipping_method_name_ms) == (
        "Pos Laju express",
        "Pos Laju ekspres",
    )
