"""The storefront (issue 13): product images (re-encoded, resized, stored through the storage
API, served with srcset), Malay texts, the home page, search with sorts and result counts, the
SST-inclusive price, and the whole-page cache for anonymous visitors (a per-visitor CSRF token
on cached pages, the catalogue version in the key, only canonical query strings)."""

import io
import re

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from ipmart.core.models import StaffChange
from ipmart.core.page_cache import PLACEHOLDER, forget_local_pages
from orders.images import demo_product_image, initials
from orders.models import CartLine, Product, ProductImage
from orders.services.catalogue import add_product_image, save_product
from privacy.intake import validate_upload
from tests.factories import (
    AddressFactory,
    CategoryFactory,
    CustomerFactory,
    ProductFactory,
    StaffFactory,
    cart_with,
    free_shipping,
    staff_client,
)

pytestmark = pytest.mark.django_db


def jpeg(size=(1200, 900), *, exif_text: str = "secret-exif-gps") -> bytes:
    image = Image.new("RGB", size, (10, 120, 200))
    exif = Image.Exif()
    exif[0x010E] = exif_text  # ImageDescription
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def clean_jpeg(**kwargs):
    return validate_upload(SimpleUploadedFile("photo.jpg", jpeg(**kwargs), "image/jpeg"))


def with_image(product, *, alt="A blue box", alt_ms="Kotak biru") -> ProductImage:
    return add_product_image(product, clean=clean_jpeg(), alt=alt, alt_ms=alt_ms, acting_user=None)


def titles(response) -> list[str]:
    return re.findall(r'<h2 class="card-title">([^<]+)</h2>', response.content.decode())


def token(response) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode())[1]


# --- images


def test_an_uploaded_image_is_stored_in_three_widths_without_metadata():
    # given
    product = ProductFactory(name="Blue box")
    # when
    image = with_image(product)
    # then
    assert image.widths == [320, 640, 960]
    assert (image.width, image.height) == (960, 720)
    for width in image.widths:
        with default_storage.open(image.file_name(width)) as stored:
            data = stored.read()
        with Image.open(io.BytesIO(data)) as rendition:
            assert rendition.format == image.format.upper()
            assert rendition.size == (width, width * 3 // 4)
            assert not rendition.getexif()
        assert b"secret-exif-gps" not in data
    assert image.file_name(320).startswith(f"products/{product.pk}/")
    assert StaffChange.objects.filter(action="add image", object_id=str(product.pk)).count() == 1


def test_a_small_image_keeps_only_the_widths_it_fills():
    product = ProductFactory()
    image = add_product_image(
        product, clean=clean_jpeg(size=(700, 500)), alt="Small", acting_user=None
    )
    assert image.widths == [320, 640]


def test_an_image_with_too_many_pixels_is_refused_and_nothing_is_stored(settings):
    # given a pixel limit below the upload's pixels
    settings.INTAKE_MAX_IMAGE_PIXELS = 1000 * 1000
    upload = SimpleUploadedFile("huge.jpg", jpeg(size=(1200, 900)), "image/jpeg")
    # when / then
    with pytest.raises(Exception) as refused:
        validate_upload(upload, allowed=("jpeg", "png"))
    assert refused.value.code == "too_many_pixels"
    assert ProductImage.objects.count() == 0


def test_listing_and_product_page_serve_srcset_with_dimensions_and_alt_text(client):
    # given six products with images
    products = [ProductFactory(name=f"Item {n}") for n in range(6)]
    for product in products:
        with_image(product, alt=f"Photo of item {products.index(product)}")
    # when
    html = client.get("/shop/").content.decode()
    page = client.get(f"/shop/{products[0].slug}/").content.decode()
    # then every card has an image with srcset, sizes, width, height and alt; below the first
    # row they load lazily
    tags = re.findall(r"<img class=\"product-image\"[^>]*>", html)
    assert len(tags) == 6
    for n, tag in enumerate(tags):
        assert re.search(
            r'srcset="[^"]+-320\.\w+ 320w, [^"]+-640\.\w+ 640w, [^"]+-960\.\w+ 960w"', tag
        )
        assert 'sizes="' in tag and 'width="960" height="720"' in tag
        assert f'alt="Photo of item {n}"' in tag
        assert ('loading="lazy"' in tag) == (n >= 4)
    # the product page's image is above the fold: not lazy
    (tag,) = re.findall(r"<img class=\"product-image\"[^>]*>", page)
    assert "srcset=" in tag and 'loading="lazy"' not in tag


def test_alt_text_and_texts_are_malay_in_malay_and_english_when_missing(client):
    # given a product with Malay texts and one without
    category = CategoryFactory(name="Security", name_ms="Keselamatan")
    malay = ProductFactory(
        name="Security key",
        name_ms="Kunci keselamatan",
        summary="For sign-in",
        summary_ms="Untuk log masuk",
        activation_notes="Shipped by post.",
        activation_notes_ms="Dihantar melalui pos.",
        category=category,
        slug="security-key",
    )
    with_image(malay, alt="A key", alt_ms="Sebatang kunci")
    ProductFactory(name="Plain mouse", category=category)
    # when
    client.cookies["django_language"] = "ms"
    shop = client.get("/shop/").content.decode()
    page = client.get("/shop/security-key/").content.decode()
    # then
    assert titles_from(shop) == ["Kunci keselamatan", "Plain mouse"]
    assert "Keselamatan" in shop
    assert 'alt="Sebatang kunci"' in page
    assert "Untuk log masuk" in page and "Dihantar melalui pos." in page
    assert "Shipped by post." not in page


@pytest.mark.parametrize("language", ["ms", "en"])
def test_the_cart_and_checkout_name_products_in_the_customers_language(language):
    # given a signed-in customer with an address and a product with a Malay name in the cart
    customer = CustomerFactory()
    AddressFactory(user=customer, is_default_billing=True, is_default_shipping=True)
    product = ProductFactory(name="Security key", name_ms="Kunci keselamatan")
    free_shipping()
    cart_with(customer, (product, 1))
    client = Client()
    client.force_login(customer)
    client.cookies["django_language"] = language
    # when
    cart = client.get("/cart/").content.decode()
    checkout = client.get("/checkout/").content.decode()
    # then both name it in the page's language, in the row and the quantity's label
    shown, hidden = ("Kunci keselamatan", "Security key")[:: 1 if language == "ms" else -1]
    assert cart.count(shown) == 2 and hidden not in cart
    assert f"1 × {shown}" in checkout and hidden not in checkout


def titles_from(html: str) -> list[str]:
    return re.findall(r'<h2 class="card-title">([^<]+)</h2>', html)


def test_demo_images_and_initials_differ_per_product():
    # the demo catalogue's drawn images and fallback tiles are never the same twice
    from orders.management.commands.seed_catalogue import PRODUCTS

    names = {slug: name for slug, name, *_ in PRODUCTS}
    assert len({demo_product_image(slug, name, width=320) for slug, name in names.items()}) == 12
    assert len({initials(name) for name in names.values()}) == 12


# --- product page


def test_the_buy_box_shows_the_price_with_sst_from_the_tax_rules(client):
    # given a licence at RM 649.00 and the seeded 8% service tax on licences
    ProductFactory(licence=True, keys=1, slug="win", price_sen=64900)
    # when
    html = client.get("/shop/win/").content.decode()
    # then the buy box holds both prices, then the form
    box = html[html.index('class="panel buy-panel"') :]
    assert (
        box.index("RM 700.92") < box.index("RM 649.00 before SST (8%)") < box.index("Add to cart")
    )
    # and the buy box comes right after the title and the image, before the description
    assert html.index("<h1>") < html.index("buy-panel") < html.index('class="product-body"')


# --- home


def test_the_home_page_shows_featured_products_and_categories(client):
    # given
    category = CategoryFactory(name="Office and productivity", slug="office")
    ProductFactory(name="Office Home 2024", featured=True, category=category)
    ProductFactory(name="Not featured", category=category)
    ProductFactory(name="Hidden", featured=True, is_active=False, category=category)
    # when
    html = client.get("/").content.decode()
    # then
    assert titles_from(html) == ["Office Home 2024"]
    assert 'href="/shop/?category=office"' in html
    assert 'href="/shop/"' in html


# --- search


def test_search_counts_results_in_the_visitors_language():
    # given
    for n in range(3):
        ProductFactory(name=f"Guard {n}")
    ProductFactory(name="Keyboard")
    english, malay = Client(), Client()
    malay.cookies["django_language"] = "ms"
    # then
    assert "3 results for “guard”" in english.get("/shop/", {"q": "guard"}).content.decode()
    assert "1 result for “keyboard”" in english.get("/shop/", {"q": "keyboard"}).content.decode()
    assert "3 hasil carian untuk “guard”" in malay.get("/shop/", {"q": "guard"}).content.decode()


def test_search_finds_malay_texts():
    ProductFactory(name="Wireless keyboard", name_ms="Papan kekunci tanpa wayar")
    ProductFactory(name="Mouse", summary_ms="Tetikus senyap")
    client = Client()
    assert titles(client.get("/shop/", {"q": "kekunci"})) == ["Wireless keyboard"]
    assert titles(client.get("/shop/", {"q": "tetikus"})) == ["Mouse"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("price", ["Cheap", "Middle", "Dear"]),
        ("-price", ["Dear", "Middle", "Cheap"]),
        ("newest", ["Middle", "Dear", "Cheap"]),
        ("relevance", ["Cheap", "Dear", "Middle"]),
    ],
)
def test_sorts(client, sort, expected):
    ProductFactory(name="Cheap", price_sen=100)
    ProductFactory(name="Dear", price_sen=900)
    ProductFactory(name="Middle", price_sen=500)
    Product.objects.filter(name="Dear").update(created_at="2026-01-02T00:00:00Z")
    Product.objects.filter(name="Cheap").update(created_at="2026-01-01T00:00:00Z")
    Product.objects.filter(name="Middle").update(created_at="2026-01-03T00:00:00Z")
    assert titles(client.get("/shop/", {"sort": sort})) == expected


def test_search_ranks_a_name_match_above_a_description_match(postgres, client):
    # given PostgreSQL's full-text search
    ProductFactory(name="Cable", description="Works with any antivirus dock.")
    ProductFactory(name="Zeta Antivirus", description="Protection.")
    # then the name (weight A) outranks the description (weight C), whatever the names' order
    assert titles(client.get("/shop/", {"q": "antivirus"})) == ["Zeta Antivirus", "Cable"]
    # and a stemmed word matches ("protections" → "protect")
    assert titles(client.get("/shop/", {"q": "protections"})) == ["Zeta Antivirus"]


# --- the anonymous page cache


def test_a_second_anonymous_visit_is_served_from_the_page_cache(client):
    ProductFactory(slug="keyboard", name="Keyboard")
    for path in [
        "/",
        "/shop/",
        "/shop/keyboard/",
        "/privacy/",
        "/shop/?category=" + Product.objects.get().category.slug,
    ]:
        first = client.get(path)
        second = client.get(path)
        assert (first["X-Page-Cache"], second["X-Page-Cache"]) == ("miss", "hit"), path
        assert PLACEHOLDER not in second.content.decode()
        assert second["X-Frame-Options"] == "DENY"
        assert "Content-Security-Policy" in second
        assert "Cookie" in second["Vary"]


def test_each_visitor_gets_their_own_csrf_token_and_can_add_to_cart_from_a_cached_page():
    # given a product page already in the cache
    product = ProductFactory(slug="keyboard", stock=5)
    Client().get("/shop/keyboard/")
    alice, bob = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    # when two new visitors open it
    alice_page, bob_page = alice.get("/shop/keyboard/"), bob.get("/shop/keyboard/")
    # then both were served from the cache, each with a token for their own cookie
    assert alice_page["X-Page-Cache"] == bob_page["X-Page-Cache"] == "hit"
    assert alice.cookies["csrftoken"].value != bob.cookies["csrftoken"].value
    assert token(alice_page) != token(bob_page)
    # and each can add to the cart with it
    response = alice.post(
        f"/cart/add/{product.pk}/", {"quantity": 2, "csrfmiddlewaretoken": token(alice_page)}
    )
    assert response.status_code == 302
    assert CartLine.objects.get().quantity == 2
    # while bob's token does not work with alice's cookie: nothing more is added
    refused = alice.post(
        f"/cart/add/{product.pk}/", {"quantity": 1, "csrfmiddlewaretoken": token(bob_page)}
    )
    assert refused.status_code == 403
    assert CartLine.objects.get().quantity == 2


def test_a_visitor_with_a_session_is_never_served_a_cached_page(client):
    # given a cached product page
    product = ProductFactory(slug="keyboard", stock=5)
    Client().get("/shop/keyboard/")
    # when a visitor has a cart (a session)
    client.post(f"/cart/add/{product.pk}/", {"quantity": 1})
    response = client.get("/shop/keyboard/")
    # then their page is rendered for them (the header counts their cart)
    assert "X-Page-Cache" not in response
    assert 'class="badge"' in response.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        "?utm_source=mail",
        "?page=01",
        "?page=2&page=3",
        "?sort=cheapest",
        "?q=%20guard",
        "?category=no-such",
    ],
)
def test_query_strings_that_are_not_canonical_are_not_cached(client, query):
    ProductFactory(name="Guard")
    response = client.get("/shop/" + query)
    assert "X-Page-Cache" not in response


def test_a_price_changed_through_the_service_shows_on_the_next_request(
    client, django_capture_on_commit_callbacks
):
    # given cached pages showing RM 129.00
    product = ProductFactory(name="Guard", slug="guard", price_sen=12900, featured=True)
    for path in ["/", "/shop/", "/shop/guard/"]:
        client.get(path)
        assert client.get(path)["X-Page-Cache"] == "hit"
    # when a store manager changes the price
    product.price_sen = 14950
    with django_capture_on_commit_callbacks(execute=True):
        save_product(product, acting_user=StaffFactory(role="store manager"))
    # then every page shows the new price at once
    for path in ["/", "/shop/", "/shop/guard/"]:
        html = client.get(path).content.decode()
        assert "RM 149.50" in html and "RM 129.00" not in html, path


def test_pages_are_cached_per_language(client):
    ProductFactory(name="Keyboard", name_ms="Papan kekunci", slug="keyboard")
    assert "Keyboard" in client.get("/shop/keyboard/").content.decode()
    client.cookies["django_language"] = "ms"
    assert "Papan kekunci" in client.get("/shop/keyboard/").content.decode()


# --- admin


def _product_form(product) -> dict:
    return {
        "kind": product.kind,
        "name": product.name,
        "name_ms": "Nama",
        "slug": product.slug,
        "category": product.category_id,
        "summary": product.summary,
        "summary_ms": "",
        "description": product.description,
        "description_ms": "",
        "activation_notes": "",
        "activation_notes_ms": "",
        "price_sen": "100.00",
        "stock": product.stock,
        "is_active": "on",
        "key_pattern": "",
        "key_low_threshold": 10,
        "images-TOTAL_FORMS": 1,
        "images-INITIAL_FORMS": 0,
        "images-MIN_NUM_FORMS": 0,
        "images-MAX_NUM_FORMS": 1000,
    }


def test_a_store_manager_uploads_an_image_in_admin_and_sees_its_preview():
    # given
    product = ProductFactory(name="Keyboard")
    client = staff_client("store manager")[1]
    url = f"/admin/orders/product/{product.pk}/change/"
    # when
    response = client.post(
        url,
        {
            **_product_form(product),
            "images-0-upload": SimpleUploadedFile("k.jpg", jpeg(), "image/jpeg"),
            "images-0-alt": "A keyboard",
            "images-0-alt_ms": "Papan kekunci",
            "images-0-position": 0,
        },
    )
    # then
    assert response.status_code == 302, response.content.decode()[:3000]
    image = ProductImage.objects.get(product=product)
    assert (image.alt, image.alt_ms, image.widths) == (
        "A keyboard",
        "Papan kekunci",
        [320, 640, 960],
    )
    page = client.get(url).content.decode()
    assert f'<img src="{image.url(320)}" width="160" height="120" alt="A keyboard">' in page


def test_a_file_that_is_not_an_image_is_refused_in_admin_and_nothing_is_stored():
    product = ProductFactory(name="Keyboard")
    client = staff_client("store manager")[1]
    response = client.post(
        f"/admin/orders/product/{product.pk}/change/",
        {
            **_product_form(product),
            "images-0-upload": SimpleUploadedFile("k.jpg", b"not an image at all", "image/jpeg"),
            "images-0-alt": "A keyboard",
            "images-0-position": 0,
        },
    )
    assert response.status_code == 200
    assert "This type of file is not accepted" in response.content.decode()
    assert ProductImage.objects.count() == 0
    assert Product.objects.get(pk=product.pk).name_ms == ""


def test_free_text_searches_stay_out_of_the_shared_cache(client):
    # given a search and a category page, each visited once
    product = ProductFactory(name="Guard")
    search, category = "/shop/?q=guard", f"/shop/?category={product.category.slug}"
    client.get(search)
    client.get(category)
    # when this process forgets its own copies (another worker, a restart)
    forget_local_pages()
    # then the category page comes from the shared cache, the search is rendered again
    assert client.get(category)["X-Page-Cache"] == "hit"
    assert client.get(search)["X-Page-Cache"] == "miss"
