"""Catalogue, carts, orders and their history, payments, licence keys, fulfilment and shipping.

Money is integer sen (1/100 MYR) everywhere; `orders.money` formats it."""

import functools
import secrets
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

CURRENCY = "MYR"


class MalayFieldsMixin:
    """Customer-facing text kept in English and Malay (`name`, `name_ms`): `localised("name")`
    is the Malay text when the active language is Malay and it is filled in, else English."""

    def localised(self, field: str) -> str:
        if (get_language() or "").startswith("ms"):
            text = getattr(self, f"{field}_ms", "")
            if text:
                return text
        return getattr(self, field)


class ProductKind(models.TextChoices):
    LICENCE = "licence", _("Software licence")
    PHYSICAL = "physical", _("Physical goods")


class Category(MalayFieldsMixin, models.Model):
    name = models.CharField(_("name"), max_length=80)
    name_ms = models.CharField(_("name (Malay)"), max_length=80, blank=True)
    slug = models.SlugField(_("slug"), unique=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.name

    @property
    def display_name(self) -> str:
        return self.localised("name")


class ProductQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def for_listing(self):
        """Active products with their category and images (two queries for any number)."""
        return self.active().select_related("category").prefetch_related("images")

    def with_key_counts(self):
        """Annotate `available_keys`, the licence keys left in the pool."""
        return self.annotate(
            available_keys=models.Count(
                "licence_keys", filter=Q(licence_keys__status=LicenceKeyStatus.AVAILABLE)
            )
        )


class Product(MalayFieldsMixin, models.Model):
    """Something the store sells. Licences are delivered as keys from the product's pool;
    physical goods count stock and need shipping."""

    kind = models.CharField(_("kind"), max_length=16, choices=ProductKind.choices)
    name = models.CharField(_("name"), max_length=150)
    name_ms = models.CharField(_("name (Malay)"), max_length=150, blank=True)
    slug = models.SlugField(_("slug"), unique=True, max_length=160)
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="products", verbose_name=_("category")
    )
    summary = models.CharField(_("summary"), max_length=240, blank=True)
    summary_ms = models.CharField(_("summary (Malay)"), max_length=240, blank=True)
    description = models.TextField(_("description"), blank=True)
    description_ms = models.TextField(_("description (Malay)"), blank=True)
    activation_notes = models.TextField(
        _("activation or delivery notes"),
        blank=True,
        help_text=_("Shown on the product page: how the key is activated or how it ships."),
    )
    activation_notes_ms = models.TextField(_("activation or delivery notes (Malay)"), blank=True)
    featured = models.BooleanField(
        _("featured"), default=False, help_text=_("Shown on the home page.")
    )
    price_sen = models.PositiveIntegerField(_("price (sen, before tax)"))
    stock = models.PositiveIntegerField(
        _("units in stock"), default=0, help_text=_("Physical goods only; licences count keys.")
    )
    is_active = models.BooleanField(_("on sale"), default=True)
    high_risk = models.BooleanField(
        _("high risk"),
        default=False,
        help_text=_("Paid orders with this product wait for verification documents."),
    )
    key_pattern = models.CharField(
        _("licence key pattern"),
        max_length=200,
        blank=True,
        help_text=_(
            "Regular expression every imported key must match in full, e.g. "
            "[A-Z0-9]{5}(-[A-Z0-9]{5}){4}. Empty: letters, digits and dashes only."
        ),
    )
    key_low_threshold = models.PositiveIntegerField(
        _("key pool alert below"),
        default=10,
        help_text=_("Store managers are emailed once when fewer keys than this are left."),
    )
    # Set when the pool went below the threshold and store managers were told; cleared when an
    # import fills it again (so each crossing alerts once).
    key_pool_low_since = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        indexes = [models.Index(fields=["is_active", "name"], name="product_active_name")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_licence(self) -> bool:
        return self.kind == ProductKind.LICENCE

    @property
    def needs_shipping(self) -> bool:
        return self.kind == ProductKind.PHYSICAL

    @property
    def display_name(self) -> str:
        return self.localised("name")

    @property
    def display_summary(self) -> str:
        return self.localised("summary")

    @property
    def display_description(self) -> str:
        return self.localised("description")

    @property
    def display_activation_notes(self) -> str:
        return self.localised("activation_notes")

    @property
    def initials(self) -> str:
        from .images import initials

        return initials(self.display_name)

    @property
    def main_image(self) -> "ProductImage | None":
        """The first image (from the prefetched `images` when the query prefetched them)."""
        images = list(self.images.all())
        return images[0] if images else None


class ProductImage(models.Model):
    """A product photo, re-encoded from its pixels (no metadata) and stored as a few widths
    (`widths`) through Django's storage API under MEDIA: `<stem>-<width>.<format>`. Public
    catalogue images, not personal data."""

    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, related_name="images", verbose_name=_("product")
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    alt = models.CharField(
        _("alt text"), max_length=200, help_text=_("What the image shows, for screen readers.")
    )
    alt_ms = models.CharField(_("alt text (Malay)"), max_length=200, blank=True)
    stem = models.CharField(max_length=200, editable=False)
    format = models.CharField(max_length=8, editable=False)
    width = models.PositiveIntegerField(editable=False)
    height = models.PositiveIntegerField(editable=False)
    widths = models.JSONField(default=list, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("product image")
        verbose_name_plural = _("product images")

    def __str__(self) -> str:
        return f"Image {self.pk} of product {self.product_id}"

    def file_name(self, width: int) -> str:
        return f"{self.stem}-{width}.{self.format}"

    def url(self, width: int) -> str:
        from django.core.files.storage import default_storage

        return default_storage.url(self.file_name(width))

    def height_for(self, width: int) -> int:
        return round(self.height * width / self.width)

    @property
    def src(self) -> str:
        """The fallback `src`: the middle width (640 when there is one)."""
        return self.url(self.widths[min(1, len(self.widths) - 1)])

    @property
    def srcset(self) -> str:
        return ", ".join(f"{self.url(w)} {w}w" for w in self.widths)

    @property
    def display_alt(self) -> str:
        if (get_language() or "").startswith("ms") and self.alt_ms:
            return self.alt_ms
        return self.alt


class TaxRate(models.Model):
    """Sales and service tax per product kind (Malaysia: service tax on digital services, sales
    tax on goods). Store managers change the rates in admin; orders copy the rate they used."""

    kind = models.CharField(
        _("product kind"), max_length=16, choices=ProductKind.choices, unique=True
    )
    name = models.CharField(_("name"), max_length=60)
    rate_percent = models.DecimalField(_("rate (%)"), max_digits=5, decimal_places=2)

    class Meta:
        ordering = ["kind"]
        verbose_name = _("tax rate")
        verbose_name_plural = _("tax rates")

    def __str__(self) -> str:
        return f"{self.name} {self.rate_percent}%"


class ShippingZone(models.TextChoices):
    """Where a parcel goes, from the shipping address (`orders.shipping.zone_for`)."""

    PENINSULAR = "peninsular", _("Peninsular Malaysia")
    EAST = "east", _("Sabah, Sarawak and Labuan")
    INTERNATIONAL = "international", _("Outside Malaysia")


class ShippingMethodQuerySet(models.QuerySet["ShippingMethod"]):
    def active(self) -> "ShippingMethodQuerySet":
        return self.filter(is_active=True)


class ShippingMethod(MalayFieldsMixin, models.Model):
    """A way to post goods to one zone at one price (before tax). Store managers keep them in
    admin; an order copies the method's names, price and tax when it is placed."""

    zone = models.CharField(_("zone"), max_length=16, choices=ShippingZone.choices)
    name = models.CharField(_("name"), max_length=80, help_text=_("e.g. Pos Laju standard"))
    name_ms = models.CharField(
        _("name (Malay)"),
        max_length=80,
        blank=True,
        help_text=_("Shown to customers reading in Malay; English when empty."),
    )
    price_sen = models.PositiveIntegerField(_("price (sen, before tax)"))
    min_days = models.PositiveSmallIntegerField(_("delivery from (working days)"), default=1)
    max_days = models.PositiveSmallIntegerField(_("delivery up to (working days)"), default=3)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("offered"), default=True)

    objects = ShippingMethodQuerySet.as_manager()

    class Meta:
        ordering = ["zone", "position", "price_sen", "id"]
        verbose_name = _("shipping method")
        verbose_name_plural = _("shipping methods")
        constraints = [
            models.UniqueConstraint(
                fields=["zone", "name"], name="one_shipping_method_name_per_zone"
            ),
            models.CheckConstraint(
                condition=Q(max_days__gte=F("min_days")), name="shipping_days_in_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({ShippingZone(self.zone).label})"

    @property
    def display_name(self) -> str:
        return self.localised("name")


class LicenceKeyStatus(models.TextChoices):
    AVAILABLE = "available", _("Available")
    RESERVED = "reserved", _("Reserved for an order")
    ISSUED = "issued", _("Issued")
    # Refunded: the customer may no longer use it; it never goes back to the pool.
    REVOKED = "revoked", _("Revoked")


class LicenceKey(models.Model):
    # Never searchable, filterable or orderable in admin (ipmart.core.admin_secrets enforces it).
    SECRET_FIELDS = ("key",)

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="licence_keys")
    key = models.CharField(_("key"), max_length=200)
    status = models.CharField(
        max_length=16, choices=LicenceKeyStatus.choices, default=LicenceKeyStatus.AVAILABLE
    )
    order_line = models.ForeignKey(
        "OrderLine", on_delete=models.PROTECT, null=True, blank=True, related_name="licence_keys"
    )
    imported_at = models.DateTimeField(default=timezone.now)
    issued_at = models.DateTimeField(null=True, blank=True)
    # Set when staff replaced this key (orders.services.keys): it was revoked because it was
    # faulty or leaked, not because the money went back, and the customer is told so. Both keys
    # belong to the same order line and go together when retention deletes the order (SET_NULL,
    # not PROTECT, so that one delete can take both).
    replaced_by = models.OneToOneField(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replaces"
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "key"], name="unique_key_per_product"),
            models.CheckConstraint(
                condition=Q(replaced_by__isnull=True) | Q(status=LicenceKeyStatus.REVOKED),
                name="licence_key_replaced_only_when_revoked",
            ),
            models.CheckConstraint(
                condition=Q(status=LicenceKeyStatus.AVAILABLE, order_line__isnull=True)
                | (~Q(status=LicenceKeyStatus.AVAILABLE) & Q(order_line__isnull=False)),
                name="licence_key_line_matches_status",
            ),
        ]
        indexes = [models.Index(fields=["product", "status"], name="licencekey_product_status")]

    def __str__(self) -> str:
        return f"Licence key {self.pk}"

    @property
    def masked(self) -> str:
        return "…" + self.key[-4:]


class Cart(models.Model):
    """A customer's basket: one per logged-in customer, or one per anonymous session. When an
    anonymous visitor logs in, their cart is merged into their own."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="cart",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Cart {self.pk}"


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "product"], name="one_line_per_product"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="cart_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"Cart line {self.pk}"


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", _("Awaiting payment")
    PAID = "paid", _("Paid, being prepared")
    ON_HOLD = "on_hold", _("Paid, held for verification")
    NEEDS_REVIEW = "needs_review", _("Under review")
    FULFILLED = "fulfilled", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired unpaid")
    REFUNDED = "refunded", _("Refunded")


OPEN_STATUSES = (OrderStatus.PENDING_PAYMENT,)
PAID_STATUSES = (OrderStatus.PAID, OrderStatus.ON_HOLD, OrderStatus.FULFILLED)


def new_order_number() -> str:
    alphabet = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L, U
    body = "".join(secrets.choice(alphabet) for _ in range(8))
    return f"IPM-{body[:4]}-{body[4:]}"


@functools.cache
def _order_url_prefix() -> str:
    # reverse() once per process: order lists link every row, and reverse() costs per call.
    return reverse("orders:detail", args=["X"])[: -len("X/")]


class OrderQuerySet(models.QuerySet["Order"]):
    def for_customer(self, user: Any) -> "OrderQuerySet":
        return self.filter(user=user)


class Order(MalayFieldsMixin, models.Model):
    """An order: lines copied at purchase, addresses copied as text, totals fixed when placed."""

    number = models.CharField(_("number"), max_length=20, unique=True, default=new_order_number)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders"
    )
    email = models.EmailField(_("email at purchase"))
    status = models.CharField(
        max_length=20, choices=OrderStatus.choices, default=OrderStatus.PENDING_PAYMENT
    )
    billing_address = models.TextField(_("billing address"))
    billing_country = models.CharField(_("billing country (ISO code)"), max_length=2, default="MY")
    shipping_address = models.TextField(_("shipping address"), blank=True)
    subtotal_sen = models.PositiveIntegerField()
    # All the order's tax: the lines' and the shipping's (shipping_tax_sen is part of it).
    tax_sen = models.PositiveIntegerField()
    # Shipping, copied from the chosen method when placed (empty and 0 for licences only).
    shipping_zone = models.CharField(
        _("shipping zone"), max_length=16, choices=ShippingZone.choices, blank=True
    )
    shipping_method = models.ForeignKey(
        ShippingMethod,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("shipping method"),
    )
    shipping_method_name = models.CharField(_("shipping method"), max_length=80, blank=True)
    shipping_method_name_ms = models.CharField(max_length=80, blank=True, default="")
    shipping_sen = models.PositiveIntegerField(_("shipping (sen, before tax)"), default=0)
    shipping_tax_rate_percent = models.DecimalField(
        _("shipping tax rate (%)"), max_digits=5, decimal_places=2, default=0
    )
    shipping_tax_sen = models.PositiveIntegerField(_("tax on shipping (sen)"), default=0)
    total_sen = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, default=CURRENCY)
    placed_at = models.DateTimeField(default=timezone.now, db_index=True)
    reserved_until = models.DateTimeField()
    stock_released = models.BooleanField(default=False)
    paid_at = models.DateTimeField(null=True, blank=True)
    verification_flagged = models.BooleanField(
        _("verification asked by staff"), default=False, editable=False
    )
    # Sum of the order's refunds that the gateway made (kept with them, under the order's lock).
    refunded_sen = models.PositiveIntegerField(default=0, editable=False)

    objects = OrderQuerySet.as_manager()

    class Meta:
        ordering = ["-placed_at", "-id"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [
            models.CheckConstraint(
                condition=Q(total_sen=F("subtotal_sen") + F("shipping_sen") + F("tax_sen")),
                name="order_total_adds_up_with_shipping",
            ),
            models.CheckConstraint(
                condition=Q(tax_sen__gte=F("shipping_tax_sen")), name="order_tax_holds_shipping"
            ),
            models.CheckConstraint(
                condition=Q(refunded_sen__lte=F("total_sen")), name="order_refunds_within_total"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return _order_url_prefix() + self.number + "/"

    @property
    def shipping_method_display_name(self) -> str:
        """The shipping method's name as chosen, in the active language."""
        return self.localised("shipping_method_name")

    @property
    def status_label(self) -> str:
        # What get_status_display() says, without rebuilding the choices dict per call (it
        # showed in the order list's profile).
        return OrderStatus(self.status).label

    @property
    def needs_shipping(self) -> bool:
        return bool(self.shipping_address)

    @property
    def shipping_total_sen(self) -> int:
        """Shipping with its tax, as the customer pays it."""
        return self.shipping_sen + self.shipping_tax_sen

    @property
    def goods_tax_sen(self) -> int:
        """The lines' tax without the shipping's."""
        return self.tax_sen - self.shipping_tax_sen

    @property
    def is_partly_refunded(self) -> bool:
        """Some money went back, not all (the order keeps its status; customers see a flag)."""
        return 0 < self.refunded_sen and self.status != OrderStatus.REFUNDED

    @property
    def can_pay(self) -> bool:
        return self.status == OrderStatus.PENDING_PAYMENT and self.reserved_until > timezone.now()


class OrderLine(MalayFieldsMixin, models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    # The product's names when it was bought (the catalogue may rename it later).
    product_name = models.CharField(max_length=150)
    product_name_ms = models.CharField(max_length=150, blank=True, default="")
    kind = models.CharField(max_length=16, choices=ProductKind.choices)
    unit_price_sen = models.PositiveIntegerField()
    quantity = models.PositiveIntegerField()
    tax_rate_percent = models.DecimalField(max_digits=5, decimal_places=2)
    tax_sen = models.PositiveIntegerField()
    shipped_at = models.DateTimeField(null=True, blank=True)
    # Units refunded so far (kept with the refunds, under the order's lock).
    refunded_quantity = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(refunded_quantity__lte=F("quantity")),
                name="line_refunds_within_quantity",
            )
        ]

    def __str__(self) -> str:
        return f"Line {self.pk}"

    @property
    def display_name(self) -> str:
        """The name as bought, in the active language (customers' pages and emails; staff and
        the records read `product_name`)."""
        return self.localised("product_name")

    @property
    def subtotal_sen(self) -> int:
        return self.unit_price_sen * self.quantity

    @property
    def total_sen(self) -> int:
        """What the customer paid for the line, tax included."""
        return self.subtotal_sen + self.tax_sen

    @property
    def refundable_quantity(self) -> int:
        return self.quantity - self.refunded_quantity


class OrderEventKind(models.TextChoices):
    PLACED = "placed", _("Placed")
    PAYMENT_STARTED = "payment_started", _("Payment started")
    PAYMENT_PENDING = "payment_pending", _("Payment pending")
    PAYMENT_FAILED = "payment_failed", _("Payment failed")
    PAYMENT_CANCELLED = "payment_cancelled", _("Payment cancelled")
    PAID = "paid", _("Paid")
    NEEDS_REVIEW = "needs_review", _("Needs review")
    HELD = "held", _("Held for verification")
    FULFILLED = "fulfilled", _("Fulfilled")
    SHIPPED = "shipped", _("Shipped")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")
    REFUNDED = "refunded", _("Refunded")
    NOTE = "note", _("Note")
    DOCUMENT_UPLOADED = "document_uploaded", _("Document uploaded")
    DOCUMENT_APPROVED = "document_approved", _("Document approved")
    DOCUMENT_REJECTED = "document_rejected", _("Document rejected")
    VERIFIED = "verified", _("Verified")
    KEY_REPLACED = "key_replaced", _("Licence key replaced")


class OrderEvent(models.Model):
    """The order's history, append-only: what happened, when, and who or what did it."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=24, choices=OrderEventKind.choices)
    message = models.CharField(max_length=300, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        # in the store's time zone, as the admin shows every other time
        return f"{self.kind} {timezone.localtime(self.at):%Y-%m-%d %H:%M}"


class AttemptStatus(models.TextChoices):
    CREATED = "created", _("Waiting for the customer")
    PENDING = "pending", _("Pending at the gateway")
    FAILED = "failed", _("Declined")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")
    PAID = "paid", _("Paid")
    NEEDS_REVIEW = "needs_review", _("Needs review")
    REFUNDED = "refunded", _("Refunded")
    REVERSED = "reversed", _("Reversed by the bank (chargeback)")


# States only move forward: a status may replace another only with a higher rank. A declined
# payment can still be followed by a successful one in the same hosted checkout. A reversal
# (the customer's bank took the money back after the capture: a chargeback) outranks every
# other status, so no late or replayed capture, review or refund report clears it.
ATTEMPT_RANK: dict[str, int] = {
    AttemptStatus.CREATED: 0,
    AttemptStatus.PENDING: 1,
    AttemptStatus.FAILED: 2,
    AttemptStatus.CANCELLED: 2,
    AttemptStatus.EXPIRED: 2,
    AttemptStatus.PAID: 3,
    AttemptStatus.NEEDS_REVIEW: 3,
    AttemptStatus.REFUNDED: 4,
    AttemptStatus.REVERSED: 5,
}
IN_FLIGHT_ATTEMPT_STATUSES = (AttemptStatus.CREATED, AttemptStatus.PENDING)


class PaymentAttempt(models.Model):
    """One hosted checkout at the gateway for an order. The RETURNMAC only ties the browser's
    return to this checkout; the status always comes from the gateway."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="attempts")
    merchant_reference = models.CharField(max_length=30, unique=True)
    idempotency_key = models.UUIDField(unique=True)
    hosted_checkout_id = models.CharField(max_length=100, unique=True, null=True, blank=True)
    returnmac = models.CharField(max_length=100, blank=True)
    redirect_url = models.URLField(max_length=500, blank=True)
    amount_sen = models.PositiveIntegerField()
    currency = models.CharField(max_length=3)
    status = models.CharField(
        max_length=16, choices=AttemptStatus.choices, default=AttemptStatus.CREATED
    )
    gateway_payment_id = models.CharField(max_length=100, blank=True)
    gateway_status = models.CharField(max_length=60, blank=True)
    card_country = models.CharField(
        _("card's issuing country"),
        max_length=2,
        blank=True,
        help_text=_("When the gateway reports it."),
    )
    # What the gateway captured (its amountOfMoney when it reported the capture): the amount
    # asked for, or another one for a payment under review for a mismatch. None: nothing
    # captured, or captured before this was recorded (then, if paid, the amount asked for).
    captured_sen = models.PositiveIntegerField(
        _("captured (sen)"), null=True, blank=True, editable=False
    )
    captured_currency = models.CharField(
        _("captured currency"), max_length=3, blank=True, editable=False
    )
    # The order's own payment: the first capture the store applied to the order. Refunds of
    # the order go to it; any other capture of the order is a duplicate (sent to review).
    pays_for_order = models.BooleanField(_("pays for the order"), default=False, editable=False)
    # When the gateway first warned that the customer's bank opened a chargeback
    # (CHARGEBACK_NOTIFICATION): staff are alerted once, whatever copies of it arrive.
    chargeback_warned_at = models.DateTimeField(
        _("chargeback warned at"), null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(pays_for_order=True),
                name="one_payment_pays_for_an_order",
            ),
        ]

    def __str__(self) -> str:
        return self.merchant_reference

    @property
    def captured(self) -> tuple[int, str] | None:
        """(amount in minor units, currency) the gateway captured, or None when it captured
        nothing. A payment paid before the captured amount was recorded captured what was asked
        (a capture for another amount was never "paid")."""
        if self.captured_sen is not None:
            return self.captured_sen, self.captured_currency or self.currency
        if self.status in (AttemptStatus.PAID, AttemptStatus.REFUNDED, AttemptStatus.REVERSED):
            return self.amount_sen, self.currency
        return None


class WebhookEvent(models.Model):
    """A gateway webhook, stored once per event id (the unique constraint, not a lookup, is what
    makes duplicates harmless)."""

    event_id = models.CharField(max_length=100, unique=True)
    event_type = models.CharField(max_length=60)
    key_id = models.CharField(max_length=100)
    payload = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)
    result = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return self.event_id


class Fulfilment(models.Model):
    """Exists once per order: the unique order column is what makes fulfilment happen once."""

    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="fulfilment")
    at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Fulfilment {self.pk}"


class Shipment(models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="shipments")
    carrier = models.CharField(_("carrier"), max_length=60)
    tracking_number = models.CharField(_("tracking number"), max_length=80)
    shipped_at = models.DateTimeField(default=timezone.now)
    shipped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"Shipment {self.pk}"


class RefundStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class Refund(models.Model):
    """A refund of some lines (and maybe the shipping) of an order, sent to the gateway. Once the
    gateway made it, it is a credit note with its own number (CN-000001, gapless, in the order
    the refunds were made). `idempotency_key` comes from the confirm page, so a double submit
    finds the first refund; at most one refund per order is in flight at a time."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    attempt = models.ForeignKey(PaymentAttempt, on_delete=models.PROTECT, related_name="refunds")
    amount_sen = models.PositiveIntegerField()
    # The part of amount_sen that is shipping (0 when no shipping was charged or refunded).
    shipping_sen = models.PositiveIntegerField(default=0)
    gateway_refund_id = models.CharField(max_length=100, blank=True)
    gateway_status = models.CharField(max_length=60, blank=True)
    status = models.CharField(
        max_length=16, choices=RefundStatus.choices, default=RefundStatus.REQUESTED
    )
    reason = models.CharField(max_length=200)
    idempotency_key = models.UUIDField(unique=True, null=True, blank=True)
    return_to_stock = models.BooleanField(default=False)
    credit_note_number = models.CharField(
        _("credit note"), max_length=20, unique=True, null=True, blank=True
    )
    refunded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(status="requested"),
                name="one_refund_in_flight_per_order",
            ),
            models.CheckConstraint(
                condition=Q(status="done", credit_note_number__isnull=False)
                | (~Q(status="done") & Q(credit_note_number__isnull=True)),
                name="credit_note_when_done",
            ),
        ]

    def __str__(self) -> str:
        return self.credit_note_number or f"Refund {self.pk}"

    @property
    def lines_sen(self) -> int:
        return self.amount_sen - self.shipping_sen


class RefundLine(models.Model):
    """How many units of an order line a refund gives back, and what they cost with tax."""

    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    amount_sen = models.PositiveIntegerField()  # tax included
    tax_sen = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["refund", "order_line"], name="one_refund_line"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="refund_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"Refund line {self.pk}"


class DocumentSequence(models.Model):
    """Gapless numbering (credit notes): the row is locked while the next number is taken, in
    the transaction that uses it, so concurrent refunds get consecutive, unique numbers."""

    sequence = models.CharField(max_length=30, unique=True)
    last_value = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.sequence} {self.last_value}"


# --- Verification documents ----------------------------------------------------------------


class DocumentKind(models.TextChoices):
    CARD_STATEMENT = "card_statement", _("Card statement")
    IDENTITY = "identity", _("Identity document")
    ADDRESS = "address", _("Proof of address")


class DocumentStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for review")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class RejectionReason(models.TextChoices):
    UNREADABLE = "unreadable", _("The document is not readable")
    WRONG_KIND = "wrong_kind", _("It is not the kind of document asked for")
    NAME_MISMATCH = "name_mismatch", _("The name does not match the order")
    CARD_MISMATCH = "card_mismatch", _("The card does not match the payment")
    EXPIRED = "expired", _("The document has expired or is too old")
    NOT_MASKED = "not_masked", _("The card number is not masked")
    OTHER = "other", _("Another reason (see the note)")


class VerificationDocumentQuerySet(models.QuerySet["VerificationDocument"]):
    def live(self) -> "VerificationDocumentQuerySet":
        """Documents that count towards the order's verification: waiting or approved."""
        return self.filter(status__in=[DocumentStatus.PENDING, DocumentStatus.APPROVED])


class VerificationDocument(models.Model):
    """A file a customer uploaded to prove they are the cardholder. The file and its previews
    are in the vault (encrypted); this row keeps the decision, which outlives the files."""

    SECRET_FIELDS = ("original_name",)

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(_("kind"), max_length=20, choices=DocumentKind.choices)
    status = models.CharField(
        _("state"), max_length=12, choices=DocumentStatus.choices, default=DocumentStatus.PENDING
    )
    file = models.OneToOneField(
        "privacy.VaultFile", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    content_type = models.CharField(max_length=40)
    original_name = models.CharField(_("file name"), max_length=100, blank=True)
    pages = models.PositiveSmallIntegerField(default=1)
    uploaded_at = models.DateTimeField(_("uploaded"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    rejection_reason = models.CharField(
        _("reason"), max_length=20, choices=RejectionReason.choices, blank=True
    )
    rejection_note = models.CharField(_("note to the customer"), max_length=300, blank=True)
    shredded_at = models.DateTimeField(_("files destroyed"), null=True, blank=True)

    objects = VerificationDocumentQuerySet.as_manager()

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("verification document")
        verbose_name_plural = _("verification documents")
        permissions = [
            ("open_verificationdocument", "Can open the content of a verification document"),
            ("decide_verificationdocument", "Can approve or reject a verification document"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="pending", decided_at__isnull=True)
                | (~Q(status="pending") & Q(decided_at__isnull=False)),
                name="document_decided_when_not_pending",
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(rejection_reason=""),
                name="document_rejection_has_reason",
            ),
        ]
        indexes = [models.Index(fields=["status", "decided_at"], name="document_status_decided")]

    def __str__(self) -> str:
        return f"Document {self.pk}"

    @property
    def is_shredded(self) -> bool:
        return self.shredded_at is not None


class DocumentPreview(models.Model):
    """A PNG a reviewer may look at: a rendered PDF page or the re-encoded image, encrypted in
    the vault like the document."""

    document = models.ForeignKey(
        VerificationDocument, on_delete=models.CASCADE, related_name="previews"
    )
    page = models.PositiveSmallIntegerField()
    file = models.OneToOneField(
        "privacy.VaultFile", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["document", "page"]
        constraints = [
            models.UniqueConstraint(fields=["document", "page"], name="one_preview_per_page")
        ]

    def __str__(self) -> str:
        return f"Preview {self.pk}"


class OrderAwaitingVerification(Order):
    """The reviewer's queue in admin: held orders and their documents, nothing else."""

    class Meta:
        proxy = True
        verbose_name = _("order awaiting verification")
        verbose_name_plural = _("orders awaiting verification")


class OrderEmailState(models.TextChoices):
    SENDING = "sending", _("sending")
    SENT = "sent", _("sent")


class OrderEmail(models.Model):
    """One row per (order, kind) of email: claimed ("sending", committed) before the SMTP
    conversation and marked "sent" after it, so a handler that runs twice (a relay and a sweep)
    sends it once. A row left "sending" past the runner's lease means a runner died mid-send:
    the email is sent again under the same Message-ID (orders.emails.send_order_email_once)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="emails_sent")
    kind = models.CharField(max_length=30)
    sent_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(
        max_length=10, choices=OrderEmailState.choices, default=OrderEmailState.SENT
    )
    claimed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order", "kind"], name="one_order_email_per_kind")
        ]

    def __str__(self) -> str:
        return f"Order email {self.kind} {self.pk}"
