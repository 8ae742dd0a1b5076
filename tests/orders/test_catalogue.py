"""Money arithmetic, the catalogue cache staying correct when prices or stock change, and the
demo catalogue command."""

import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from orders.models import Category, LicenceKey, Product, ProductKind
from orders.money import format_myr, tax_sen
from orders.services.catalogue import save_product
from orders.services.checkout import place_order
from tests.factories import (
    AddressFactory,
    CustomerFactory,
    ProductFactory,
    StaffFactory,
    cart_with,
    free_shipping,
    staff_client,
)

# --- money


@pytest.mark.parametrize(
    ("amount_sen", "rate", "expected"),
    [
        (25, Decimal("10.00"), 3),  # 2.5 sen rounds half up (banker's rounding would give 2)
        (15, Decimal("10.00"), 2),  # 1.5 → 2
        (1006, Decimal("8.00"), 80),  # 80.48 → 80
        (1007, Decimal("8.00"), 81),  # 80.56 → 81
        (10000, Decimal("8.00"), 800),
        (12345, Decimal("10.00"), 1235),  # 1234.5 → 1235
        (1, Decimal("8.00"), 0),  # 0.08 → 0
        (0, Decimal("10.00"), 0),
        (5000, Decimal("0"), 0),
    ],
)
def test_tax_is_rounded_half_up_to_the_sen(amount_sen, rate, expected):
    # when
    result = tax_sen(amount_sen, rate)
    # then
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize(
    ("amount_sen", "expected"),
    [
        (0, "RM 0.00"),
        (5, "RM 0.05"),
        (100, "RM 1.00"),
        (4990, "RM 49.90"),
        (1234567, "RM 12,345.67"),
        (100000000, "RM 1,000,000.00"),
    ],
)
def test_format_myr(amount_sen, expected):
    # when / then
    assert format_myr(amount_sen) == expected


# --- the cached catalogue follows prices and stock


@pytest.mark.django_db
def test_a_price_saved_through_the_service_shows_on_the_next_shop_page(
    client, django_capture_on_commit_callbacks
):
    # given a product whose listing is cached
    product = ProductFactory(name="Guard Antivirus", price_sen=12900)
    first = client.get("/shop/")
    assert "RM 129.00" in first.content.decode()
    # when a store manager changes its price
    product.price_sen = 14950
    with django_capture_on_commit_callbacks(execute=True):
        save_product(product, acting_user=StaffFactory(role="store manager"))
    # then the next listing shows the new price and not the old one
    html = client.get("/shop/").content.decode()
    assert "RM 149.50" in html
    assert "RM 129.00" not in html
    assert Product.objects.get(pk=product.pk).price_sen == 14950


@pytest.mark.django_db
def test_the_listing_is_served_from_cache_until_the_catalogue_changes(client):
    # given a cached listing
    product = ProductFactory(name="Guard Antivirus", price_sen=12900)
    client.get("/shop/")
    # when the price changes behind the store's back (no service, so no cache version bump)
    Product.objects.filter(pk=product.pk).update(price_sen=99900)
    # then the cached grid is what the visitor sees: the cache is really in use
    html = client.get("/shop/").content.decode()
    assert "RM 129.00" in html
    assert "RM 999.00" not in html


@pytest.mark.django_db
def test_the_last_unit_sold_shows_sold_out_on_the_next_shop_page(
    client, django_capture_on_commit_callbacks
):
    # given a physical product with one unit left, listed (and cached) as in stock
    product = ProductFactory(name="Security key", stock=1)
    html = client.get("/shop/").content.decode()
    assert "In stock" in html
    assert "Sold out" not in html
    customer = CustomerFactory()
    address = AddressFactory(user=customer)
    cart = cart_with(customer, (product, 1))
    # when a customer orders the last unit
    with django_capture_on_commit_callbacks(execute=True):
        place_order(
            customer,
            cart=cart,
            billing_address=address,
            shipping_address=address,
            shipping_method=free_shipping(),
        )
    # then the next listing says it is sold out
    html = client.get("/shop/").content.decode()
    assert "Sold out" in html
    assert "In stock" not in html
    assert Product.objects.get(pk=product.pk).stock == 0


@pytest.mark.django_db
def test_the_last_licence_key_sold_shows_sold_out_on_the_product_page(
    client, django_capture_on_commit_callbacks
):
    # given a licence with one key left whose page is cached with an "Add to cart" button
    product = ProductFactory(licence=True, keys=1, slug="pdf-studio")
    assert "Add to cart" in client.get("/shop/pdf-studio/").content.decode()
    customer = CustomerFactory()
    cart = cart_with(customer, (product, 1))
    # when a customer orders it
    with django_capture_on_commit_callbacks(execute=True):
        place_order(
            customer,
            cart=cart,
            billing_address=AddressFactory(user=customer),
            shipping_address=None,
        )
    # then the product page says sold out and offers no button
    html = client.get("/shop/pdf-studio/").content.decode()
    assert "Sold out" in html
    assert "Add to cart" not in html


# --- the demo catalogue


@pytest.mark.django_db
def test_seed_catalogue_is_idempotent(settings):
    # given a development machine
    settings.DEBUG = True
    # when the seed runs twice
    call_command("seed_catalogue", stdout=io.StringIO())
    call_command("seed_catalogue", stdout=io.StringIO())
    # then the catalogue holds each thing once
    assert Category.objects.count() == 5
    assert Product.objects.count() == 12
    assert Product.objects.filter(kind=ProductKind.LICENCE).count() == 9
    assert Product.objects.filter(kind=ProductKind.PHYSICAL).count() == 3
    for product in Product.objects.filter(kind=ProductKind.LICENCE):
        assert LicenceKey.objects.filter(product=product).count() == 25
    assert LicenceKey.objects.count() == 9 * 25
    assert dict(Product.objects.filter(kind=ProductKind.PHYSICAL).values_list("slug", "stock")) == {
        "usb-installer-win11": 40,
        "wireless-keyboard-bm": 25,
        "security-key-nfc": 12,
    }


@pytest.mark.django_db
def test_seed_catalogue_refuses_without_debug_and_creates_nothing(settings):
    # given production-like settings
    settings.DEBUG = False
    # when / then
    with pytest.raises(CommandError, match="needs DEBUG"):
        call_command("seed_catalogue")
    assert Product.objects.count() == 0
    assert Category.objects.count() == 0


@pytest.mark.django_db
def test_a_category_renamed_in_admin_shows_on_the_next_shop_page(
    client, django_capture_on_commit_callbacks
):
    # given a cached listing showing the category "Security"
    category = Category.objects.create(name="Security", slug="security")
    ProductFactory(name="Guard Antivirus", category=category)
    assert ">Security</a>" in client.get("/shop/").content.decode()
    admin_client = staff_client("store manager")[1]
    # when a store manager renames it in admin
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            f"/admin/orders/category/{category.pk}/change/",
            {"name": "Safety and security", "slug": "security", "position": 0},
        )
    assert response.status_code == 302
    assert Category.objects.get(pk=category.pk).name == "Safety and security"
    # then the next listing shows the new name
    html = client.get("/shop/").content.decode()
    assert ">Safety and security</a>" in html
    assert ">Security</a>" not in html


def test_a_flushed_shared_cache_never_brings_back_an_old_catalogue_version():
    """Processes keep rendered fragments in memory under the version: a version that restarted
    from the same number after a flush would serve them stale."""
    from django.core.cache import cache

    from orders.catalogue import _bump, catalogue_version

    # given a version, bumped once
    first = catalogue_version()
    _bump()
    bumped = catalogue_version()
    # when the shared cache is flushed
    cache.clear()
    # then the next version is new
    assert bumped == first + 1
    assert catalogue_version() not in {first, bumped}
