"""Reads that decide who may see what. Another customer's order number is a 404."""

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from accounts.models import Address
from ipmart.core.compiled_query import CompiledQuery
from privacy.models import AccessAction, AccessLog

from .models import (
    AttemptStatus,
    Cart,
    CartLine,
    LicenceKey,
    LicenceKeyStatus,
    Order,
    OrderLine,
    PaymentAttempt,
    Refund,
    RefundStatus,
    VerificationDocument,
)

PAID_ATTEMPT_STATUSES = (AttemptStatus.PAID, AttemptStatus.REFUNDED)

CART_SESSION_KEY = "cart_id"


def get_cart(request: HttpRequest, *, create: bool = False) -> Cart | None:
    """The cart of this request: the customer's own, or the anonymous session's."""
    if request.user.is_authenticated:
        if create:
            return Cart.objects.get_or_create(user=request.user)[0]
        return Cart.objects.filter(user=request.user).first()
    cart_id = request.session.get(CART_SESSION_KEY)
    cart = Cart.objects.filter(pk=cart_id, user__isnull=True).first() if cart_id else None
    if cart is None and create:
        cart = Cart.objects.create()
        request.session[CART_SESSION_KEY] = cart.pk
    return cart


CART_LINE_FIELDS = (
    "cart_id",
    "quantity",
    "product__kind",
    "product__name",
    "product__name_ms",
    "product__slug",
    "product__price_sen",
    "product__stock",
    "product__is_active",
)


def _with_products(lines: QuerySet[CartLine]) -> QuerySet[CartLine]:
    # Only the product columns a cart shows and prices (not its descriptions and key settings).
    return lines.select_related("product").only(*CART_LINE_FIELDS).order_by("id")


# Compiled once per process: every signed-in page that shows the cart runs one of these (the
# ORM's compiling cost more than the query, ipmart/core/compiled_query.py).
_customer_cart_lines = CompiledQuery(
    lambda user_id: _with_products(CartLine.objects.filter(cart__user=user_id))
)
_session_cart_lines = CompiledQuery(
    lambda cart_id: _with_products(
        CartLine.objects.filter(cart_id=cart_id, cart__user__isnull=True)
    )
)


def get_cart_lines(request: HttpRequest) -> list[CartLine]:
    """The lines of this request's cart with their products, in one query."""
    if request.user.is_authenticated:
        return _customer_cart_lines(request.user.pk)
    if cart_id := request.session.get(CART_SESSION_KEY):
        return _session_cart_lines(cart_id)
    return []


def get_order_for_customer(user: Any, number: str) -> Order:
    """The order with its lines and issued keys, if it is `user`'s; 404 otherwise."""
    issued = LicenceKey.objects.filter(status=LicenceKeyStatus.ISSUED).order_by("id")
    revoked = LicenceKey.objects.filter(status=LicenceKeyStatus.REVOKED).order_by("id")
    lines = OrderLine.objects.prefetch_related(
        Prefetch("licence_keys", queryset=issued, to_attr="issued_keys"),
        Prefetch("licence_keys", queryset=revoked, to_attr="revoked_keys"),
    )
    return get_object_or_404(
        Order.objects.for_customer(user).prefetch_related(Prefetch("lines", queryset=lines)),
        number=number,
    )


def get_documents_for_customer(order: Order) -> list[VerificationDocument]:
    """The verification documents of an order the caller got through get_order_for_customer."""
    return list(VerificationDocument.objects.filter(order=order).order_by("uploaded_at", "id"))


def get_document_views(documents: list[VerificationDocument]) -> list[AccessLog]:
    """When staff opened these documents, and in which role (shown to their owner)."""
    if not documents:
        return []
    return list(
        AccessLog.objects.filter(
            target_type=VerificationDocument._meta.label_lower,
            target_id__in=[str(d.pk) for d in documents],
            action__in=[AccessAction.VIEWED, AccessAction.DOWNLOADED],
        ).order_by("-at", "-id")[:50]
    )


def get_paid_reference(order: Order) -> str:
    """The gateway reference (shown on its hosted page) of the payment that paid `order`, or ""
    when none did (a duplicate capture never counts). The first attempt's reference is the
    order number itself."""
    return (
        PaymentAttempt.objects.filter(
            order=order, pays_for_order=True, status__in=PAID_ATTEMPT_STATUSES
        )
        .values_list("merchant_reference", flat=True)
        .first()
        or ""
    )


def get_order_progress(user: Any, number: str) -> Order:
    """The order as the payment return page's script sees it: `user`'s only (404 otherwise),
    with its lines and issued keys (get_order_for_customer's three queries)."""
    return get_order_for_customer(user, number)


def get_default_shipping_address(user: Any) -> Address | None:
    """The signed-in customer's default shipping address (for the cart's estimate), if any."""
    if not user.is_authenticated:
        return None
    return Address.objects.for_user(user).filter(is_default_shipping=True).first()


def get_credit_notes(order: Order) -> list[Refund]:
    """The credit notes (refunds the gateway made) of an order the caller got through
    get_order_for_customer, oldest first, with their lines."""
    return list(
        Refund.objects.filter(order=order, status=RefundStatus.DONE)
        .prefetch_related("lines__order_line")
        .order_by("refunded_at", "id")
    )


def get_credit_note_for_customer(user: Any, number: str, credit_note: str) -> Refund:
    """The credit note `credit_note` of order `number`, if the order is `user`'s; 404
    otherwise."""
    return get_object_or_404(
        Refund.objects.filter(
            order__in=Order.objects.for_customer(user), status=RefundStatus.DONE
        ).select_related("order"),
        order__number=number,
        credit_note_number=credit_note,
    )
