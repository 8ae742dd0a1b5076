"""Factories of the shop: catalogue, carts, orders. Prices are integer sen.

`ProductFactory()` is a physical product with 10 in stock; `ProductFactory(licence=True,
keys=3)` is a software licence with 3 available keys in its pool."""

import datetime
import uuid
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.models import Address
from orders.models import (
    AttemptStatus,
    Cart,
    CartLine,
    Category,
    LicenceKey,
    LicenceKeyStatus,
    Order,
    OrderLine,
    OrderStatus,
    PaymentAttempt,
    Product,
    ProductKind,
    ShippingMethod,
    ShippingZone,
)
from orders.money import tax_sen as tax_for
from orders.services.checkout import place_order

from .accounts import UserFactory


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")
    position = 0


class ProductFactory(factory.django.DjangoModelFactory):
    """A physical product (10 in stock) unless `licence=True`; `keys=N` fills a licence's pool
    with N available keys."""

    class Meta:
        model = Product
        skip_postgeneration_save = True

    kind = ProductKind.PHYSICAL
    name = factory.Sequence(lambda n: f"Product {n:04d}")
    slug = factory.Sequence(lambda n: f"product-{n:04d}")
    category = factory.SubFactory(CategoryFactory)
    summary = "A fine thing."
    description = "Sold by IPmart."
    price_sen = 10000
    stock = 10
    is_active = True

    class Params:
        licence = factory.Trait(kind=ProductKind.LICENCE, stock=0)
        physical = factory.Trait(kind=ProductKind.PHYSICAL, stock=10)

    @factory.post_generation
    def keys(obj, create, extracted, **kwargs):
        if create and extracted:
            LicenceKey.objects.bulk_create(
                [
                    LicenceKey(product=obj, key=f"{obj.slug.upper()}-KEY-{n:05d}")
                    for n in range(extracted)
                ]
            )


class LicenceKeyFactory(factory.django.DjangoModelFactory):
    """An available key. A reserved or issued key needs `order_line` (database constraint)."""

    class Meta:
        model = LicenceKey

    product = factory.SubFactory(ProductFactory, licence=True)
    key = factory.Sequence(lambda n: f"ABCDE-FGHIJ-{n:05d}-KLMNO")
    status = LicenceKeyStatus.AVAILABLE
    order_line = None


class CartFactory(factory.django.DjangoModelFactory):
    """A customer's cart; `CartFactory(user=None)` is an anonymous session's."""

    class Meta:
        model = Cart

    user = factory.SubFactory(UserFactory)


class CartLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CartLine

    cart = factory.SubFactory(CartFactory)
    product = factory.SubFactory(ProductFactory)
    quantity = 1


class OrderFactory(factory.django.DjangoModelFactory):
    """An order awaiting payment, totals RM 100.00 + RM 8.00 tax, with no lines; add them with
    OrderLineFactory. Totals are the factory's, not recomputed from lines."""

    class Meta:
        model = Order

    user = factory.SubFactory(UserFactory)
    email = factory.LazyAttribute(lambda o: o.user.email)
    status = OrderStatus.PENDING_PAYMENT
    billing_address = "Aina Rahman\n1 Jalan Ampang\n50450 Kuala Lumpur\nMalaysia"
    shipping_address = ""
    subtotal_sen = 10000
    tax_sen = 800
    shipping_sen = 0
    total_sen = factory.LazyAttribute(lambda o: o.subtotal_sen + o.shipping_sen + o.tax_sen)
    reserved_until = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(minutes=30))


class OrderLineFactory(factory.django.DjangoModelFactory):
    """A licence line of one unit at RM 100.00 with 8% tax unless told otherwise."""

    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    product = factory.SubFactory(ProductFactory, licence=True)
    product_name = factory.LazyAttribute(lambda o: o.product.name)
    kind = factory.LazyAttribute(lambda o: o.product.kind)
    unit_price_sen = factory.LazyAttribute(lambda o: o.product.price_sen)
    quantity = 1
    tax_rate_percent = factory.LazyAttribute(
        lambda o: Decimal("8.00") if o.kind == ProductKind.LICENCE else Decimal("10.00")
    )
    tax_sen = factory.LazyAttribute(
        lambda o: tax_for(o.unit_price_sen * o.quantity, o.tax_rate_percent)
    )


class PaymentAttemptFactory(factory.django.DjangoModelFactory):
    """A hosted checkout the customer was sent to and has not come back from (in flight)."""

    class Meta:
        model = PaymentAttempt

    order = factory.SubFactory(OrderFactory)
    merchant_reference = factory.Sequence(lambda n: f"ATTEMPT-{n:06d}")
    idempotency_key = factory.LazyFunction(uuid.uuid4)
    amount_sen = factory.LazyAttribute(lambda o: o.order.total_sen)
    currency = "MYR"
    status = AttemptStatus.CREATED


def cart_with(user, *items: tuple[Product, int]) -> Cart:
    """The cart of `user` (None: an anonymous one) holding `items` as (product, quantity) pairs,
    written directly, without the cart's availability checks."""
    cart = Cart.objects.get_or_create(user=user)[0] if user is not None else Cart.objects.create()
    for product, quantity in items:
        CartLine.objects.create(cart=cart, product=product, quantity=quantity)
    return cart


class ShippingMethodFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ShippingMethod
        django_get_or_create = ("zone", "name")

    zone = ShippingZone.PENINSULAR
    name = "Pos Laju standard"
    price_sen = 0
    min_days = 2
    max_days = 4


def free_shipping(zone: str = ShippingZone.PENINSULAR) -> ShippingMethod:
    """A free method for `zone` (the default AddressFactory address is in Peninsular
    Malaysia), for tests whose totals are about the goods, not the shipping."""
    return ShippingMethodFactory(zone=zone, name="Free test delivery", price_sen=0)


def placed_order(
    user, cart: Cart, address: Address, *, shipping_method: ShippingMethod | None = None
) -> Order:
    """`place_order` of `user`'s `cart` with `address` as both billing and shipping address, by
    `shipping_method` (a free one unless given): the checkout most order tests start from.
    Raises what `place_order` raises."""
    return place_order(
        user,
        cart=cart,
        billing_address=address,
        shipping_address=address,
        shipping_method=shipping_method or free_shipping(),
    )
