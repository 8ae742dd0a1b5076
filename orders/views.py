"""Catalogue, cart, checkout and the customer's orders."""

import hashlib
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from accounts.models import Address
from ipmart.core.params import page_number as requested_page
from privacy.intake import SizeCappedUploadHandler

from .catalogue import cached_fragment, catalogue_version, displayed_availability, tax_rates
from .emails import verification_context
from .forms import AddToCartForm, CheckoutForm, DocumentUploadForm, QuantityForm, ShopFilterForm
from .models import Category, DocumentStatus, Order, OrderStatus, Product
from .selectors import (
    get_cart,
    get_cart_lines,
    get_credit_note_for_customer,
    get_credit_notes,
    get_document_views,
    get_documents_for_customer,
    get_order_for_customer,
)
from .services.availability import available_units
from .services.cart import add_to_cart, remove_from_cart, set_cart_quantity
from .services.checkout import place_order
from .services.errors import ShopError
from .services.payments import cancel_unpaid_order, start_payment
from .services.verification import upload_document

PAGE_SIZE = 24


def _cache_key(*parts) -> str:
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:32]
    return f"orders:fragment:{digest}"


def shop(request):
    """The catalogue. The product grid is cached per catalogue version, so a change of price,
    stock or keys shows on the next request and an unchanged catalogue costs no query."""
    form = ShopFilterForm(request.GET or None)
    q = category = ""
    if form.is_valid():
        q, category = form.cleaned_data["q"].strip(), form.cleaned_data["category"]
    page_number = requested_page(request)
    if category and not _category_exists(category):
        raise Http404("No such category")

    def build() -> str:
        products = Product.objects.for_listing().with_key_counts().order_by("name", "id")
        if category:
            products = products.filter(category__slug=category)
        if q:
            products = products.filter(Q(name__icontains=q) | Q(summary__icontains=q))
        page = Paginator(products, PAGE_SIZE).get_page(page_number)
        context = {
            "page": page,
            "q": q,
            "category": category,
            "categories": list(Category.objects.all()),
        }
        return render_to_string("orders/_product_grid.html", context)

    # Only what is bounded enters a cache key: the catalogue version, the language, an
    # existing category and a page number clamped to MAX_PAGE_NUMBER. Searches (free text)
    # are rendered each time and never cached, so random queries cannot fill the cache.
    if q:
        grid = build()
    else:
        key = _cache_key("shop", catalogue_version(), get_language(), category, page_number)
        grid = cached_fragment(key, build)
    return render(request, "orders/shop.html", {"grid": mark_safe(grid), "form": form})  # noqa: S308


def _category_exists(slug: str) -> bool:
    slugs = cached_fragment(
        f"orders:category-slugs:{catalogue_version()}",
        lambda: frozenset(Category.objects.values_list("slug", flat=True)),
    )
    return slug in slugs


def product_detail(request, slug: str):
    def build() -> dict:
        product = get_object_or_404(Product.objects.for_listing(), slug=slug)
        available = available_units([product])[product.pk]
        html = render_to_string(
            "orders/_product_detail.html", {"product": product, "available": available}
        )
        return {"id": product.pk, "name": product.name, "available": available, "html": html}

    cached = cached_fragment(
        _cache_key("product", catalogue_version(), get_language(), slug), build
    )
    return render(
        request,
        "orders/product.html",
        {"product": cached, "body": mark_safe(cached["html"]), "form": AddToCartForm()},  # noqa: S308
    )


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


def _cart_summary(lines):
    from .money import tax_sen

    rates = tax_rates() if lines else {}
    available = displayed_availability([line.product for line in lines]) if lines else {}
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
    return {
        "rows": rows,
        "subtotal": subtotal,
        "tax": tax,
        "total": subtotal + tax,
        "needs_shipping": any(line.product.needs_shipping for line in lines),
    }


def cart_view(request):
    return render(request, "orders/cart.html", {"summary": _cart_summary(get_cart_lines(request))})


@login_required
def checkout(request):
    cart = get_cart(request)
    summary = _cart_summary(get_cart_lines(request))
    if not summary["rows"]:
        messages.info(request, _("Your cart is empty."))
        return redirect("orders:cart")
    addresses = Address.objects.for_user(request.user)
    if not addresses.exists():
        messages.info(request, _("Add an address for billing first; you come back here after."))
        return redirect("/account/addresses/new/?next=/checkout/")
    default_billing = next((a for a in addresses if a.is_default_billing), None)
    default_shipping = next((a for a in addresses if a.is_default_shipping), None)
    form = CheckoutForm(
        request.POST or None,
        addresses=addresses,
        needs_shipping=summary["needs_shipping"],
        initial={"billing_address": default_billing, "shipping_address": default_shipping},
    )
    if request.method == "POST" and form.is_valid():
        try:
            order = place_order(
                request.user,
                cart=cart,
                billing_address=form.cleaned_data["billing_address"],
                shipping_address=form.cleaned_data.get("shipping_address"),
            )
        except ShopError as error:
            messages.error(request, str(error))
            return redirect("orders:cart")
        request.session["cart_count"] = 0
        return _send_to_gateway(request, order)
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


@login_required
def order_list(request):
    orders = Order.objects.for_customer(request.user).order_by("-placed_at", "-id")
    page = WindowPage.of(orders, requested_page(request), per_page=20)
    return render(request, "orders/order_list.html", {"page": page})


@dataclass
class WindowPage:
    """One page of a list without counting the whole list: it fetches one row more than it
    shows to know whether a next page exists (one query instead of COUNT plus the page)."""

    object_list: list
    number: int
    has_next: bool

    @classmethod
    def of(cls, queryset, number: int, *, per_page: int) -> "WindowPage":
        """`number` is already validated (ipmart.core.params.page_number)."""
        start = (number - 1) * per_page
        rows = list(queryset[start : start + per_page + 1])
        return cls(rows[:per_page], number, len(rows) > per_page)

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
    context = {
        "order": order,
        "lines": order.lines.all(),
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
        "credit_notes": get_credit_notes(order) if order.refunded_sen else [],
    }
    return render(request, "orders/receipt.html", context)


@login_required
def credit_note(request, number: str, credit_note: str):
    """A refund's credit note, printable like the receipt (the customer's own orders only)."""
    refund = get_credit_note_for_customer(request.user, number, credit_note)
    context = {
        "order": refund.order,
        "refund": refund,
        "refund_lines": list(refund.lines.select_related("order_line").order_by("id")),
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
