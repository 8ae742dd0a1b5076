"""Placing an order reserves what it sells; cancelling or expiring it releases that again.

Locking rule: products are locked in id order (`SELECT … FOR UPDATE ORDER BY id`) before their
stock changes, and licence keys are claimed with `FOR UPDATE SKIP LOCKED`, so two customers
racing for the last unit cannot both get it and no two orders deadlock on each other's rows."""

import datetime
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, When
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Address, User
from orders.catalogue import bump_catalogue_version
from orders.models import (
    Cart,
    LicenceKey,
    LicenceKeyStatus,
    Order,
    OrderEventKind,
    OrderLine,
    OrderStatus,
    Product,
    ProductKind,
    ShippingMethod,
    ShippingZone,
    TaxRate,
)
from orders.money import tax_sen
from orders.shipping import shipping_tax_rate, zone_for_address

from .catalogue import alert_low_key_pools
from .errors import CheckoutError
from .history import move_order, record_event


def _address_text(address: Address) -> str:
    lines = address.lines()
    if address.phone:
        lines.append(address.phone)
    return "\n".join(lines)


def claim_licence_keys(wanted: list[tuple[int, int, int]]) -> dict[int, int]:
    """Reserve keys: `wanted` holds (product_id, quantity, order_line_id). Returns how many keys
    each line got. One statement on PostgreSQL, whatever the number of lines."""
    if not wanted:
        return {}
    if connection.vendor == "postgresql":
        values = ", ".join(["(%s, %s, %s)"] * len(wanted))
        params = [value for row in wanted for value in row]
        table = LicenceKey._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                WITH wanted(product_id, qty, line_id) AS (VALUES {values}),
                picked AS (
                    SELECT k.id, w.line_id
                    FROM wanted w
                    CROSS JOIN LATERAL (
                        SELECT id FROM {table}
                        WHERE product_id = w.product_id AND status = %s
                        ORDER BY id LIMIT w.qty
                        FOR UPDATE SKIP LOCKED
                    ) k
                )
                UPDATE {table} SET status = %s, order_line_id = picked.line_id
                FROM picked WHERE {table}.id = picked.id
                RETURNING picked.line_id
                """,
                [*params, LicenceKeyStatus.AVAILABLE, LicenceKeyStatus.RESERVED],
            )
            claimed: dict[int, int] = {}
            for (line_id,) in cursor.fetchall():
                claimed[line_id] = claimed.get(line_id, 0) + 1
            return claimed
    # SQLite (the embedded default) serialises writers, so a plain loop is safe there.
    claimed = {}
    for product_id, quantity, line_id in wanted:
        ids = list(
            LicenceKey.objects.filter(product_id=product_id, status=LicenceKeyStatus.AVAILABLE)
            .order_by("id")
            .values_list("id", flat=True)[:quantity]
        )
        claimed[line_id] = LicenceKey.objects.filter(id__in=ids).update(
            status=LicenceKeyStatus.RESERVED, order_line_id=line_id
        )
    return claimed


@transaction.atomic
def place_order(
    user: User,
    *,
    cart: Cart,
    billing_address: Address,
    shipping_address: Address | None,
    shipping_method: ShippingMethod | None = None,
) -> Order:
    """Turn the cart into an order and reserve its stock and licence keys.

    Prices, tax and totals come from the database, never from the form. Physical goods need a
    shipping address (with its state, in Malaysia) and a shipping method offered in that
    address's zone; the method's price is read under a lock and taxed at the service tax rate
    (SHIPPING_TAX_RATE_KIND). A licence-only order ignores both. Raises CheckoutError,
    changing nothing, when the cart is empty, a product is off sale or sold out, an address is
    missing or not the customer's, or the method is missing, withdrawn or not for that zone."""
    # Lock the cart first: a double-submitted checkout waits here, then finds the cart empty.
    Cart.objects.select_for_update().filter(pk=cart.pk).first()
    lines = list(cart.lines.select_related("product").order_by("product_id"))
    if not lines:
        raise CheckoutError(_("Your cart is empty."))
    if billing_address.user_id != user.pk or (
        shipping_address is not None and shipping_address.user_id != user.pk
    ):
        raise CheckoutError(_("Choose one of your own addresses."))
    needs_shipping = any(line.product.kind == ProductKind.PHYSICAL for line in lines)
    if needs_shipping and shipping_address is None:
        raise CheckoutError(_("Choose a shipping address for the goods we post to you."))
    method: ShippingMethod | None = None
    zone = ""
    if needs_shipping and shipping_address is not None:
        country = shipping_address.country.code  # type: ignore[attr-defined]  # a Country
        if country == "MY" and not shipping_address.state.strip():
            raise CheckoutError(
                _("Add the state to your shipping address: we need it to post to Malaysia.")
            )
        zone = zone_for_address(shipping_address)
        if shipping_method is None:
            raise CheckoutError(_("Choose how we post your goods."))
        # Lock the method: its price as of now, and a change in admin waits for this order.
        method = ShippingMethod.objects.select_for_update().filter(pk=shipping_method.pk).first()
        if method is None or not method.is_active or method.zone != zone:
            raise CheckoutError(
                _("That shipping method is not offered for %(zone)s. Choose another one.")
                % {"zone": ShippingZone(zone).label}
            )

    # Lock the products in id order, then read them fresh: price and on-sale state as of now.
    products = {
        p.pk: p
        for p in Product.objects.select_for_update()
        .filter(pk__in=[line.product_id for line in lines])
        .order_by("pk")
    }
    for line in lines:
        if not products[line.product_id].is_active:
            raise CheckoutError(
                _("%(name)s is no longer on sale. Remove it from your cart to continue.")
                % {"name": products[line.product_id].name}
            )

    physical = {
        line.product_id: line.quantity
        for line in lines
        if products[line.product_id].kind == ProductKind.PHYSICAL
    }
    if physical:
        whens = [When(pk=pk, then=qty) for pk, qty in physical.items()]
        updated = (
            Product.objects.filter(pk__in=list(physical))
            .filter(stock__gte=Case(*whens))
            .update(stock=F("stock") - Case(*whens))
        )
        if updated != len(physical):
            short = [
                products[pk].display_name
                for pk, qty in physical.items()
                if products[pk].stock < qty
            ]
            raise CheckoutError(
                _("Sorry, not enough left of: %(names)s. Your cart was not charged.")
                % {"names": ", ".join(short) or _("an item in your cart")}
            )

    rates = {rate.kind: rate.rate_percent for rate in TaxRate.objects.all()}
    now = timezone.now()
    order = Order(
        user=user,
        email=user.email,
        billing_address=_address_text(billing_address),
        billing_country=billing_address.country.code,  # type: ignore[attr-defined]  # a Country
        shipping_address=(
            _address_text(shipping_address) if needs_shipping and shipping_address else ""
        ),
        placed_at=now,
        reserved_until=now + datetime.timedelta(minutes=settings.ORDER_RESERVATION_MINUTES),
        subtotal_sen=0,
        tax_sen=0,
        total_sen=0,
    )
    if method is not None:
        shipping_rate = shipping_tax_rate(rates)
        order.shipping_zone = zone
        order.shipping_method = method
        order.shipping_method_name = method.name
        order.shipping_method_name_ms = method.name_ms
        order.shipping_sen = method.price_sen
        order.shipping_tax_rate_percent = shipping_rate
        order.shipping_tax_sen = tax_sen(method.price_sen, shipping_rate)
    order_lines = []
    for line in lines:
        product = products[line.product_id]
        rate = rates.get(product.kind, Decimal(0))
        order_lines.append(
            OrderLine(
                product=product,
                product_name=product.name,
                product_name_ms=product.name_ms,
                kind=product.kind,
                unit_price_sen=product.price_sen,
                quantity=line.quantity,
                tax_rate_percent=rate,
                tax_sen=tax_sen(product.price_sen * line.quantity, rate),
            )
        )
    order.subtotal_sen = sum(line.subtotal_sen for line in order_lines)
    order.tax_sen = sum(line.tax_sen for line in order_lines) + order.shipping_tax_sen
    order.total_sen = order.subtotal_sen + order.shipping_sen + order.tax_sen
    order.save()
    for order_line in order_lines:
        order_line.order = order
    OrderLine.objects.bulk_create(order_lines)

    wanted = [
        (line.product_id, line.quantity, line.pk)
        for line in order_lines
        if line.kind == ProductKind.LICENCE
    ]
    claimed = claim_licence_keys(wanted)
    short = [
        line.display_name
        for line in order_lines
        if line.kind == ProductKind.LICENCE and claimed.get(line.pk, 0) < line.quantity
    ]
    if short:
        raise CheckoutError(
            _("Sorry, not enough licence keys left for: %(names)s. Your cart was not charged.")
            % {"names": ", ".join(short)}
        )

    if wanted:
        alert_low_key_pools(product_id for product_id, _quantity, _line in wanted)
    record_event(order, OrderEventKind.PLACED, actor=user)
    cart.lines.all().delete()
    bump_catalogue_version()
    return order


def add_to_stock(units: dict[int, int]) -> None:
    """Add `units` (product id → units, negative to take) to the products' stock in one UPDATE,
    after locking them in id order, the order every stock change locks products in, so two
    never wait on each other. The caller checked that what it takes is there."""
    if not units:
        return
    list(Product.objects.select_for_update().filter(pk__in=list(units)).order_by("pk"))
    whens = [When(pk=pk, then=quantity) for pk, quantity in units.items()]
    Product.objects.filter(pk__in=list(units)).update(stock=F("stock") + Case(*whens))


def release_reservation(order: Order) -> None:
    """Give the order's stock and keys back (once: `stock_released` guards it; a refund of
    the order's goods puts none back after it, `refunds.goods_back_in_stock`). The caller holds the
    order's row lock."""
    if order.stock_released:
        return
    physical: dict[int, int] = {}
    for line in order.lines.all():
        if line.kind == ProductKind.PHYSICAL:
            physical[line.product_id] = physical.get(line.product_id, 0) + line.quantity
    add_to_stock(physical)
    LicenceKey.objects.filter(order_line__order=order, status=LicenceKeyStatus.RESERVED).update(
        status=LicenceKeyStatus.AVAILABLE, order_line=None
    )
    order.stock_released = True
    order.save(update_fields=["stock_released"])
    bump_catalogue_version()


def lock_order(order: Order) -> Order:
    return Order.objects.select_for_update().get(pk=order.pk)


@transaction.atomic
def cancel_order(order: Order, *, acting_user: User) -> Order:
    """The customer gives up an unpaid order: its reservation is released. Raises CheckoutError
    if the order is no longer awaiting payment or a payment is under way at the gateway."""
    from .payments import has_payment_in_flight

    order = lock_order(order)
    if order.status != OrderStatus.PENDING_PAYMENT:
        raise CheckoutError(_("Only an order awaiting payment can be cancelled."))
    if has_payment_in_flight(order):
        raise CheckoutError(
            _("A payment for this order is still being processed. Try again in a few minutes.")
        )
    move_order(order, OrderStatus.CANCELLED, event=OrderEventKind.CANCELLED, actor=acting_user)
    release_reservation(order)
    return order


@transaction.atomic
def expire_order(order: Order) -> bool:
    """Close an unpaid order whose reservation time is over and release what it held. Returns
    False (changing nothing) if it is paid, not yet due, or has a payment in flight."""
    from .payments import has_payment_in_flight

    order = lock_order(order)
    if (
        order.status != OrderStatus.PENDING_PAYMENT
        or order.reserved_until > timezone.now()
        or has_payment_in_flight(order)
    ):
        return False
    move_order(
        order,
        OrderStatus.EXPIRED,
        event=OrderEventKind.EXPIRED,
        message="Reservation time ended unpaid.",
    )
    release_reservation(order)
    return True
