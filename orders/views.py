"""Catalogue, cart, checkout and the customer's orders."""

import hashlib
import time
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import parse_qsl, urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Address
from ipmart.core.compiled_query import CompiledQuery
from ipmart.core.page_cache import anonymous_page_cache
from ipmart.core.params import page_number as requested_page
from privacy.intake import SizeCappedUploadHandler

from .catalogue import cached_fragment, catalogue_version, displayed_availability, tax_rates
from .emails import verification_context
from .forms import AddToCartForm, CheckoutForm, DocumentUploadForm, QuantityForm, ShopFilterForm
from .models import (
    Category,
    DocumentStatus,
    Order,
    OrderStatus,
    Product,
    ShippingMethod,
    ShippingZone,
)
from .money import tax_sen
from .progress import keys_may_still_come, next_step, order_facts, progress_payload
from .search import DEFAULT_SORT, SORTS, normalise_query, search_products
from .selectors import (
    get_cart,
    get_cart_lines,
    get_credit_note_for_customer,
    get_credit_notes,
    get_default_shipping_address,
    get_document_views,
    get_documents_for_customer,
    get_order_for_customer,
    get_order_progress,
    get_paid_reference,
)
from .services.availability import available_units
from .services.cart import add_to_cart, remove_from_cart, set_cart_quantity
from .services.checkout import place_order
from .services.errors import ShopError
from .services.payments import cancel_unpaid_order, start_payment
from .services.verification import upload_document
from .shipping import cheapest_in_zone, offered_methods, shipping_tax_rate, zone_for_address

PAGE_SIZE = 24


def _cache_key(*parts) -> str:
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:32]
    return f"orders:fragment:{digest}"


def _category_slugs() -> frozenset:
    return cached_fragment(
        f"orders:category-slugs:{catalogue_version()}",
        lambda: frozenset(Category.objects.values_list("slug", flat=True)),
    )


def _category_exists(slug: str) -> bool:
    return slug in _category_slugs()


SHOP_PARAMETERS = ("q", "category", "sort", "page")


def shop_query(request) -> str | None:
    """The shop's query string when it is canonical and bounded (each known parameter once,
    a normalised search, an existing category, a known sort, a page number as it is served),
    for the page cache's key; None otherwise (the page is then rendered, not cached)."""
    raw = request.META.get("QUERY_STRING", "")
    if not raw:
        return ""
    pairs = parse_qsl(raw, keep_blank_values=True)
    names = [name for name, _value in pairs]
    if len(set(names)) != len(names) or not set(names) <= set(SHOP_PARAMETERS):
        return None
    values = dict(pairs)
    if values.get("q", "") != normalise_query(values.get("q", "")):
        return None
    if values.get("category") and not _category_exists(values["category"]):
        return None
    if "sort" in values and values["sort"] not in SORTS:
        return None
    if "page" in values and values["page"] != str(requested_page(request)):
        return None
    return raw


def _shop_url(**params) -> str:
    """`/shop/?…` with the parameters in the canonical order, empty ones left out."""
    query = urlencode([(name, params[name]) for name in SHOP_PARAMETERS if params.get(name)])
    return reverse("orders:shop") + (f"?{query}" if query else "")


def _searching(request) -> bool:
    return bool(request.GET.get("q", "").strip())


@anonymous_page_cache(
    version=catalogue_version, query=shop_query, shared=lambda request: not _searching(request)
)
def shop(request):
    """The catalogue, a category, or a search. The product grid is cached per catalogue
    version, so a change of price, stock or keys shows on the next request and an unchanged
    catalogue costs no query; a search (free text) is rendered each time."""
    form = ShopFilterForm(request.GET or None)
    q = category = ""
    sort = DEFAULT_SORT
    if form.is_valid():
        q = normalise_query(form.cleaned_data["q"])
        category = form.cleaned_data["category"]
        sort = form.cleaned_data["sort"] or DEFAULT_SORT
    page_number = requested_page(request)
    if category and not _category_exists(category):
        raise Http404("No such category")

    def build() -> str:
        products = Product.objects.for_listing().with_key_counts()
        if category:
            products = products.filter(category__slug=category)
        products = search_products(products, q, sort)
        page = Paginator(products, PAGE_SIZE).get_page(page_number)
        categories = list(_categories())
        current = next((c for c in categories if c.slug == category), None)
        context = {
            "page": page,
            "q": q,
            "sort": sort,
            "category": current,
            "all_url": _shop_url(q=q, sort=sort if sort != DEFAULT_SORT else ""),
            "category_links": [
                (
                    c,
                    _shop_url(q=q, category=c.slug, sort=sort if sort != DEFAULT_SORT else ""),
                )
                for c in categories
            ],
            "previous_url": page.has_previous()
            and _shop_url(q=q, category=category, sort=sort, page=page.previous_page_number()),
            "next_url": page.has_next()
            and _shop_url(q=q, category=category, sort=sort, page=page.next_page_number()),
        }
        return render_to_string("orders/_product_grid.html", context)

    # Only what is bounded enters a cache key: the catalogue version, the language, an
    # existing category, a known sort and a page number clamped to MAX_PAGE_NUMBER. Searches
    # (free text) are rendered each time and never cached here, so random queries cannot fill
    # the cache.
    if q:
        grid = build()
    else:
        key = _cache_key("shop", catalogue_version(), get_language(), category, sort, page_number)
        grid = cached_fragment(key, build)
    context = {
        "grid": mark_safe(grid),  # noqa: S308 - our own template's output
        "form": form,
        "q": q,
        "sort": sort,
        "sorts": list(SORTS.items()),
        "category": category,
    }
    return render(request, "orders/shop.html", context)


def _categories() -> list:
    return cached_fragment(
        f"orders:categories:{catalogue_version()}", lambda: list(Category.objects.all())
    )


def _product_facts(slug: str) -> dict:
    """What the product page shows, cached per catalogue version: the product (with its
    category and images), the units left and its price including SST."""

    def build() -> dict:
        product = get_object_or_404(Product.objects.for_listing(), slug=slug)
        rate = tax_rates().get(product.kind, Decimal(0))
        return {
            "product": product,
            "available": available_units([product])[product.pk],
            "tax_rate": rate,
            "price_with_tax_sen": product.price_sen + tax_sen(product.price_sen, rate),
        }

    return cached_fragment(_cache_key("product", catalogue_version(), slug), build)


@anonymous_page_cache(version=catalogue_version)
def product_detail(request, slug: str):
    facts = _product_facts(slug)
    return render(request, "orders/product.html", {**facts, "form": AddToCartForm()})


FEATURED_ON_HOME = 8


@anonymous_page_cache(version=catalogue_version)
def home(request):
    """The shop window: featured products, the categories and the way into the shop."""

    def build() -> dict:
        featured = list(
            Product.objects.for_listing()
            .filter(featured=True)
            .with_key_counts()
            .order_by("name", "id")[:FEATURED_ON_HOME]
        )
        return {"featured": featured}

    facts = cached_fragment(f"orders:home:{catalogue_version()}", build)
    return render(request, "home.html", {**facts, "categories": _categories()})


def _remember_cart_size(request, cart) -> None:
    request.session["cart_count"] = (
        sum(cart.lines.values_list("quantity", flat=True)) if cart else 0
    )


@require_POST
def cart_add(request, product_id: int):
    product = get_object_or_404(Product.objects.active(), pk=product_id)
    form = AddToCartForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a quantity between 1 and 20."))
        return redirect("orders:product", slug=product.slug)
    cart = get_cart(request, create=True)
    try:
        add_to_cart(cart, product=product, quantity=form.cleaned_data["quantity"])
    except ShopError as error:
        messages.error(request, str(error))
        return redirect("orders:product", slug=product.slug)
    _remember_cart_size(request, cart)
    messages.success(request, _("%(name)s was added to your cart.") % {"name": product.name})
    return redirect("orders:cart")


@require_POST
def cart_update(request, product_id: int):
    cart = get_cart(request)
    if cart is None:
        return redirect("orders:cart")
    product = get_object_or_404(Product, pk=product_id)
    form = QuantityForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a quantity between 0 and 20."))
        return redirect("orders:cart")
    try:
        set_cart_quantity(cart, product=product, quantity=form.cleaned_data["quantity"])
    except ShopError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Your cart was updated."))
    _remember_cart_size(request, cart)
    return redirect("orders:cart")


@require_POST
def cart_remove(request, product_id: int):
    cart = get_cart(request)
    if cart is not None:
        remove_from_cart(cart, product=get_object_or_404(Product, pk=product_id))
        _remember_cart_size(request, cart)
        messages.success(request, _("The item was removed from your cart."))
    return redirect("orders:cart")


def _cart_summary(lines, *, shipping=None, version=None):
    """The cart's rows and totals. `shipping` (a shipping.MethodOption) adds its price and its
    tax at the service tax rate; without it the totals are before shipping. `version`: the
    catalogue version already read for this request (else read here, once for both lookups)."""
    if lines and version is None:
        version = catalogue_version()
    rates = tax_rates(version) if lines else {}
    available = displayed_availability([line.product for line in lines], version) if lines else {}
    rows, subtotal, tax = [], 0, 0
    for line in lines:
        amount = line.product.price_sen * line.quantity
        line_tax = tax_sen(amount, rates.get(line.product.kind, 0))
        subtotal += amount
        tax += line_tax
        rows.append(
            {
                "line": line,
                "product": line.product,
                "amount": amount,
                "available": available[line.product_id],
                "short": line.quantity > available[line.product_id] or not line.product.is_active,
            }
        )
    needs_shipping = any(line.product.needs_shipping for line in lines)
    shipping_sen = shipping_tax = 0
    if needs_shipping and shipping is not None:
        shipping_sen = shipping.price_sen
        shipping_tax = tax_sen(shipping_sen, shipping_tax_rate(rates))
    return {
        "rows": rows,
        "subtotal": subtotal,
        "tax": tax + shipping_tax,
        "shipping": shipping if needs_shipping else None,
        "shipping_sen": shipping_sen,
        "total": subtotal + tax + shipping_sen + shipping_tax,
        "needs_shipping": needs_shipping,
        "needs_shipping_unpriced": needs_shipping and shipping is None,
    }


def _shipping_estimate(request, summary, *, version=None) -> dict | None:
    """The cart's shipping estimate: the cheapest method of the zone of the customer's default
    shipping address (Peninsular Malaysia for a visitor or a customer without one), with tax."""
    if not summary["needs_shipping"]:
        return None
    address = get_default_shipping_address(request.user)
    zone = zone_for_address(address) if address is not None else ShippingZone.PENINSULAR
    cheapest = cheapest_in_zone(zone)
    if cheapest is None:
        return {"zone": ShippingZone(zone).label, "from_sen": None}
    from .money import tax_sen

    rate = shipping_tax_rate(tax_rates(version))
    return {
        "zone": ShippingZone(zone).label,
        "from_sen": cheapest.price_sen + tax_sen(cheapest.price_sen, rate),
    }


def cart_view(request):
    lines = get_cart_lines(request)
    # One read of the catalogue version (a shared-cache round trip) for every cached lookup below.
    version = catalogue_version() if lines else None
    summary = _cart_summary(lines, version=version)
    estimate = _shipping_estimate(request, summary, version=version)
    context = {"summary": summary, "shipping_estimate": estimate}
    return render(request, "orders/cart.html", context)


@login_required
def checkout(request):
    cart = get_cart(request)
    lines = get_cart_lines(request)
    summary = _cart_summary(lines)
    if not summary["rows"]:
        messages.info(request, _("Your cart is empty."))
        return redirect("orders:cart")
    address_queryset = Address.objects.for_user(request.user)
    addresses = list(address_queryset)  # fills its cache: the form lists it without a query
    if not addresses:
        messages.info(request, _("Add an address for billing first; you come back here after."))
        return redirect("/account/addresses/new/?next=/checkout/")
    default_billing = next((a for a in addresses if a.is_default_billing), addresses[0])
    default_shipping = next((a for a in addresses if a.is_default_shipping), default_billing)
    initial = {"billing_address": default_billing, "shipping_address": default_shipping}
    form_options = {
        "addresses": address_queryset,
        "needs_shipping": summary["needs_shipping"],
        "initial": initial,
    }
    if summary["needs_shipping"]:
        form_options["methods_by_zone"] = offered_methods()
        form_options["tax_rate"] = shipping_tax_rate(tax_rates())
    refreshing = request.method == "POST" and "update_shipping" in request.POST
    if refreshing:
        # "Show shipping methods": the methods of the newly chosen address, nothing placed.
        initial.update(
            {
                name: next((a for a in addresses if str(a.pk) == request.POST.get(name)), value)
                for name, value in initial.items()
            }
        )
        form = CheckoutForm(**form_options)
    else:
        form = CheckoutForm(request.POST or None, **form_options)
    if request.method == "POST" and not refreshing and form.is_valid():
        chosen = form.cleaned_data.get("shipping_method")
        try:
            order = place_order(
                request.user,
                cart=cart,
                billing_address=form.cleaned_data["billing_address"],
                shipping_address=form.cleaned_data.get("shipping_address"),
                shipping_method=ShippingMethod(pk=chosen.id) if chosen else None,
            )
        except ShopError as error:
            messages.error(request, str(error))
            return redirect("orders:cart")
        request.session["cart_count"] = 0
        return _send_to_gateway(request, order)
    if summary["needs_shipping"]:
        chosen_id = form["shipping_method"].value() if "shipping_method" in form.fields else None
        chosen = next((m for m in form.methods if str(m.id) == str(chosen_id)), None)
        summary = _cart_summary(lines, shipping=chosen)
    return render(request, "orders/checkout.html", {"form": form, "summary": summary})


def _send_to_gateway(request, order: Order):
    try:
        url = start_payment(
            order,
            acting_user=request.user,
            return_url=request.build_absolute_uri("/payments/return/"),
            locale="ms_MY" if get_language() == "ms" else "en_GB",
        )
    except ShopError as error:
        messages.error(request, str(error))
        return redirect("orders:detail", number=order.number)
    return redirect(url)


ORDER_LIST_FIELDS = ("number", "placed_at", "status", "total_sen", "refunded_sen")


ORDERS_PER_PAGE = 20
# One page of a customer's orders and the first row of the next (WindowPage), compiled once per
# page number (ipmart/core/compiled_query.py): the list is every signed-in customer's page.
# Only the columns a row shows (an order has two dozen, addresses and gateway facts).
_order_list_window = CompiledQuery(
    lambda user_id, start: (
        Order.objects.for_customer(user_id)
        .only(*ORDER_LIST_FIELDS)
        .order_by("-placed_at", "-id")[start : start + ORDERS_PER_PAGE + 1]
    )
)


@login_required
def order_list(request):
    number = requested_page(request)
    window = _order_list_window(request.user.pk, (number - 1) * ORDERS_PER_PAGE)
    page = WindowPage.of(window, number, per_page=ORDERS_PER_PAGE)
    return render(request, "orders/order_list.html", {"page": page})


@dataclass
class WindowPage:
    """One page of a list without counting the whole list: the page's rows are fetched with
    one more, which tells whether a next page exists (one query instead of COUNT plus the
    page)."""

    object_list: list
    number: int
    has_next: bool

    @classmethod
    def of(cls, window: list, number: int, *, per_page: int) -> "WindowPage":
        """`window`: the rows from (number - 1) * per_page, at most per_page + 1 of them;
        `number` is already validated (ipmart.core.params.page_number)."""
        return cls(window[:per_page], number, len(window) > per_page)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_other_pages(self) -> bool:
        return self.has_previous or self.has_next

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1


def _order_page(request, order: Order, *, upload_form=None, status: int = 200):
    documents = get_documents_for_customer(order)
    facts = order_facts(order)
    context = {
        "order": order,
        "lines": order.lines.all(),
        "next_step": next_step(order, facts),
        "poll_keys": keys_may_still_come(order, facts),
        "poll_seconds": settings.ORDER_STATUS_POLL_SECONDS,
        "documents": documents,
        "credit_notes": get_credit_notes(order) if order.refunded_sen else [],
        "document_views": get_document_views(documents),
        "can_upload": order.status == OrderStatus.ON_HOLD
        and sum(1 for d in documents if d.status != DocumentStatus.REJECTED)
        < settings.VERIFICATION_MAX_FILES,
        "upload_form": upload_form or DocumentUploadForm(),
        **(verification_context() if order.status == OrderStatus.ON_HOLD else {}),
    }
    return render(request, "orders/order_detail.html", context, status=status)


@login_required
def order_detail(request, number: str):
    return _order_page(request, get_order_for_customer(request.user, number))


@never_cache
@require_GET
def order_status(request, number: str):
    """The order's state and issued keys as JSON, for the order page's script after payment
    (static/js/order-progress.js). The owner's only: anyone else, signed in or not, gets 404.
    Never stored by a cache (the keys are secrets)."""
    if not request.user.is_authenticated:
        raise Http404("No such order")
    order = get_order_progress(request.user, number)
    response = JsonResponse(progress_payload(order))
    response["Cache-Control"] = "no-store, private"
    return response


# Uploads a customer may start per minute (every file costs a parse, maybe a PDF child).
UPLOADS_PER_MINUTE = 20


def _upload_allowed(user) -> bool:
    key = f"orders:uploads:{user.pk}:{int(time.time() // 60)}"
    cache.add(key, 0, timeout=120)
    return cache.incr(key) <= UPLOADS_PER_MINUTE


@login_required
@csrf_exempt
def document_upload(request, number: str):
    """Upload one verification document. The size-capping handler must be in place before the
    body is read, so CSRF is checked inside (csrf_protect), after it is installed."""
    if not _upload_allowed(request.user):
        return HttpResponse(
            _("Too many uploads in a short time. Please wait a minute and try again."),
            status=429,
            content_type="text/plain; charset=utf-8",
        )
    request.upload_handlers = [
        SizeCappedUploadHandler(request, max_bytes=settings.DOCUMENT_MAX_UPLOAD_MB * 1024 * 1024)
    ]
    return _document_upload(request, number)


@csrf_protect
@require_POST
def _document_upload(request, number: str):
    order = get_order_for_customer(request.user, number)
    form = DocumentUploadForm(request.POST, request.FILES, oversize=request.oversize_uploads)
    if form.is_valid():
        try:
            upload_document(
                order,
                kind=form.cleaned_data["kind"],
                clean=form.cleaned_data["file"],
                acting_user=request.user,
            )
        except ShopError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request, _("Thank you. We received your document and will review it soon.")
            )
            return redirect(order.get_absolute_url() + "#documents")
    return _order_page(request, order, upload_form=form, status=400)


@login_required
def order_receipt(request, number: str):
    order = get_order_for_customer(request.user, number)
    if order.paid_at is None:
        raise Http404("No receipt before payment")
    context = {
        "order": order,
        "lines": order.lines.all(),
        "seller": seller_facts(),
        "payment_reference": get_paid_reference(order),
        "credit_notes": get_credit_notes(order) if order.refunded_sen else [],
    }
    return render(request, "orders/receipt.html", context)


def seller_facts() -> dict:
    """The seller's legal facts printed on receipts and credit notes (settings)."""
    return {
        "name": settings.SELLER_LEGAL_NAME,
        "address": settings.SELLER_ADDRESS,
        "sst_number": settings.SELLER_SST_NUMBER,
    }


@login_required
def credit_note(request, number: str, credit_note: str):
    """A refund's credit note, printable like the receipt (the customer's own orders only)."""
    refund = get_credit_note_for_customer(request.user, number, credit_note)
    context = {
        "order": refund.order,
        "refund": refund,
        "refund_lines": list(refund.lines.select_related("order_line").order_by("id")),
        "seller": seller_facts(),
    }
    return render(request, "orders/credit_note.html", context)


@login_required
@require_POST
def order_pay(request, number: str):
    order = get_order_for_customer(request.user, number)
    return _send_to_gateway(request, order)


@login_required
@require_POST
def order_cancel(request, number: str):
    order = get_order_for_customer(request.user, number)
    try:
        cancel_unpaid_order(order, acting_user=request.user)
    except ShopError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Your order was cancelled."))
    return redirect("orders:detail", number=order.number)
