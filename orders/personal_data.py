"""What orders holds about a person (discovered by privacy.registry).

Orders are tax records: on closure they stay, with amounts, dates, tax, country, products and
licence keys (which stay valid), but their name, email and addresses are replaced, so the customer
is pseudonymous. ORDER_RETENTION_YEARS after an order was placed, the retention rule in
`orders/retention.py` deletes the order of a closed account altogether.

Verification documents (issue 7) declare themselves in `orders/personal_data_documents.py`; when
that module exists its declarations, export, files, erasure and rules are merged in below.
"""

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ipmart.core.erasure import identifiers_of, scrub_rows
from ipmart.core.serialise import rows

from . import personal_data_documents as documents
from .models import (
    Cart,
    CartLine,
    Fulfilment,
    LicenceKey,
    LicenceKeyStatus,
    Order,
    OrderEmail,
    OrderEvent,
    OrderLine,
    OrderStatus,
    PaymentAttempt,
    Refund,
    RefundLine,
    Shipment,
    WebhookEvent,
)

ORDER_FIELDS = [
    "number",
    "email",
    "status",
    "billing_address",
    "billing_country",
    "shipping_address",
    "subtotal_sen",
    "tax_sen",
    "total_sen",
    "currency",
    "placed_at",
    "paid_at",
]
LINE_FIELDS = ["order", "product_name", "kind", "unit_price_sen", "quantity", "tax_sen"]
EVENT_FIELDS = ["order", "kind", "message", "at"]
ATTEMPT_FIELDS = ["order", "merchant_reference", "status", "amount_sen", "currency", "created_at"]
SHIPMENT_FIELDS = ["order", "carrier", "tracking_number", "shipped_at"]
REFUND_FIELDS = [
    "order",
    "credit_note_number",
    "amount_sen",
    "shipping_sen",
    "status",
    "reason",
    "created_at",
    "refunded_at",
]
REFUND_LINE_FIELDS = ["refund", "order_line", "quantity", "amount_sen", "tax_sen"]
KEY_FIELDS = ["order_line", "key", "status", "issued_at"]
WEBHOOK_FIELDS = ["event_type", "received_at", "payload"]

TAX_RECORD = _(
    "Orders are tax records, kept for the number of years tax law requires (7 by default): "
    "amounts, dates, tax, country, products and licence keys stay; your name, email and "
    "addresses on them are removed when you close your account."
)
ORDERS = _("Your orders, payments, deliveries and licence keys")

DECLARATIONS = [
    {
        "model": "orders.Cart",
        "summary": _("What is in your shopping cart."),
        "fields": ["created_at", "updated_at"],
        "category": _("Your shopping cart"),
        "on_closure": "erase",
        "retention_setting": "ANONYMOUS_CART_RETENTION_DAYS",
    },
    {
        "model": "orders.CartLine",
        "fields": ["product", "quantity"],
        "category": _("Your shopping cart"),
        "on_closure": "erase",
    },
    {
        "model": "orders.Order",
        "summary": _(
            "What you bought, prices and tax, billing and delivery addresses, payments and refunds, deliveries and the licence keys issued to you."
        ),
        "fields": ORDER_FIELDS,
        "category": ORDERS,
        "on_closure": "anonymise",
        "keep_reason": TAX_RECORD,
        "retention_setting": "ORDER_RETENTION_YEARS",
    },
    *[
        {
            "model": f"orders.{name}",
            "fields": fields,
            "category": ORDERS,
            "on_closure": "keep",
            "keep_reason": TAX_RECORD,
            "retention_setting": "ORDER_RETENTION_YEARS",
        }
        for name, fields in [
            ("OrderLine", LINE_FIELDS),
            ("OrderEvent", EVENT_FIELDS),
            ("PaymentAttempt", ATTEMPT_FIELDS),
            ("Shipment", SHIPMENT_FIELDS),
            ("Refund", REFUND_FIELDS),
            ("RefundLine", REFUND_LINE_FIELDS),
            ("LicenceKey", KEY_FIELDS),
            ("Fulfilment", ["order", "at"]),
            ("OrderEmail", ["order", "kind", "sent_at"]),
        ]
    ],
    {
        "model": "orders.WebhookEvent",
        "fields": WEBHOOK_FIELDS,
        "category": ORDERS,
        "on_closure": "anonymise",
        "keep_reason": _(
            "The payment gateway's messages about your payments stay as proof of payment; the "
            "card holder's name and the masked card number in them are removed."
        ),
        "retention_setting": "ORDER_RETENTION_YEARS",
    },
]

RETENTION_RULES = [
    {
        "name": "anonymous carts",
        "setting": "ANONYMOUS_CART_RETENTION_DAYS",
        "run": "orders.retention.delete_stale_anonymous_carts",
    },
    {
        "name": "unpaid orders",
        "setting": "UNPAID_ORDER_RETENTION_DAYS",
        "run": "orders.retention.delete_old_unpaid_orders",
    },
    {
        "name": "orders of closed accounts past retention",
        "setting": "ORDER_RETENTION_YEARS",
        "run": "orders.retention.delete_orders_of_closed_accounts",
    },
]

CLOSED_PLACEHOLDER = "(removed at account closure)"
CARD_KEYS = ("cardholderName", "cardNumber", "expiryDate")


def webhook_events_for(order_ids) -> "WebhookEvent.objects":
    references = PaymentAttempt.objects.filter(order_id__in=order_ids).values_list(
        "merchant_reference", flat=True
    )
    return WebhookEvent.objects.filter(
        payload__payment__paymentOutput__references__merchantReference__in=list(references)
    )


def export_user(user) -> dict[str, list[dict]]:
    orders = Order.objects.for_customer(user).order_by("placed_at", "id")
    order_ids = list(orders.values_list("pk", flat=True))
    return {
        "Cart": rows(Cart.objects.filter(user=user), ["created_at", "updated_at"]),
        "CartLine": rows(CartLine.objects.filter(cart__user=user), ["product", "quantity"]),
        "Order": rows(orders, ORDER_FIELDS),
        "OrderLine": rows(OrderLine.objects.filter(order_id__in=order_ids), LINE_FIELDS),
        "OrderEvent": rows(OrderEvent.objects.filter(order_id__in=order_ids), EVENT_FIELDS),
        "PaymentAttempt": rows(
            PaymentAttempt.objects.filter(order_id__in=order_ids).order_by("id"), ATTEMPT_FIELDS
        ),
        "Shipment": rows(
            Shipment.objects.filter(order_id__in=order_ids).order_by("id"), SHIPMENT_FIELDS
        ),
        "Refund": rows(Refund.objects.filter(order_id__in=order_ids).order_by("id"), REFUND_FIELDS),
        "RefundLine": rows(
            RefundLine.objects.filter(refund__order_id__in=order_ids).order_by("id"),
            REFUND_LINE_FIELDS,
        ),
        "LicenceKey": rows(
            LicenceKey.objects.filter(
                order_line__order_id__in=order_ids,
                status__in=[LicenceKeyStatus.ISSUED, LicenceKeyStatus.REVOKED],
            ),
            KEY_FIELDS,
        ),
        "Fulfilment": rows(Fulfilment.objects.filter(order_id__in=order_ids), ["order", "at"]),
        "OrderEmail": rows(
            OrderEmail.objects.filter(order_id__in=order_ids).order_by("id"),
            ["order", "kind", "sent_at"],
        ),
        "WebhookEvent": rows(webhook_events_for(order_ids).order_by("id"), WEBHOOK_FIELDS),
    }


def closure_blockers(user) -> list[str]:
    """Why the account cannot be closed yet (an optional hook of the registry)."""
    if Order.objects.for_customer(user).filter(status=OrderStatus.PENDING_PAYMENT).exists():
        return [str(_("An order is waiting for payment: pay for it or cancel it first."))]
    return []


def scrub_payload(payload: dict) -> dict:
    card = (
        payload.get("payment", {})
        .get("paymentOutput", {})
        .get("cardPaymentMethodSpecificOutput", {})
        .get("card")
    )
    if isinstance(card, dict):
        for key in CARD_KEYS:
            if key in card:
                card[key] = ""
    return payload


def personal_identifiers(user) -> dict[str, list[str]]:
    """Identifiers on the person's orders (for cleaning free text at closure): the order emails,
    the names (first line) and street lines of the billing and shipping addresses."""
    values, names = [], []
    for email, *addresses in Order.objects.for_customer(user).values_list(
        "email", "billing_address", "shipping_address"
    ):
        values.append(email)
        for address in addresses:
            lines = [line.strip() for line in (address or "").splitlines() if line.strip()]
            if len(lines) >= 2:
                names.append(lines[0])
                values += lines[1:-1]  # the last line is the postcode and town
    return {"values": values, "names": names}


def erase_user(user) -> None:
    Cart.objects.filter(user=user).delete()  # its lines cascade
    orders = Order.objects.for_customer(user)
    order_ids = list(orders.values_list("pk", flat=True))
    events = list(webhook_events_for(order_ids))
    for event in events:
        event.payload = scrub_payload(event.payload)
    WebhookEvent.objects.bulk_update(events, ["payload"], batch_size=500)
    # Staff-written text about the orders (event notes, refund reasons, shipping notes, the
    # gateway's messages) loses the person's identifiers.
    identifiers = identifiers_of(user)
    scrub_rows(OrderEvent.objects.filter(order_id__in=order_ids), ["message"], identifiers)
    scrub_rows(Refund.objects.filter(order_id__in=order_ids), ["reason"], identifiers)
    scrub_rows(
        Shipment.objects.filter(order_id__in=order_ids), ["carrier", "tracking_number"], identifiers
    )
    scrub_rows(webhook_events_for(order_ids), ["payload", "result"], identifiers)
    from accounts.personal_data import closed_email

    orders.update(
        email=closed_email(user),
        billing_address=CLOSED_PLACEHOLDER,
    )
    orders.filter(~Q(shipping_address="")).update(shipping_address=CLOSED_PLACEHOLDER)


# --- Verification documents: declared in their own module, joined here.
DECLARATIONS += documents.DOCUMENT_DECLARATIONS
RETENTION_RULES += documents.RETENTION_RULES
_export_orders, _erase_orders = export_user, erase_user


def export_user(user) -> dict[str, list[dict]]:  # noqa: F811
    return {**_export_orders(user), **documents.export_documents(user)}


def erase_user(user) -> None:  # noqa: F811
    documents.erase_documents(user)
    _erase_orders(user)


export_files = documents.export_document_files

# Catalogue rows that are about products, never about a person (privacy.registry reads this).
NO_PERSONAL_DATA = {
    "orders.ProductImage": "a product photo's public renditions and alt texts (re-encoded, no "
    "metadata); nothing about a customer",
}
