"""What the order page says happens next, and what its script polls after payment.

The words depend on what the order holds (licence keys, goods, both) and on its state; the
page and the JSON view (`views.order_status`) use the same function, so the script can swap
the sentence in without a reload."""

from typing import Any

from django.utils.translation import gettext as _

from .models import Order, OrderStatus, ProductKind

# The script asks again after this many seconds (the view says so in "retry_after").
POLL_INTERVAL_SECONDS = 2


def order_facts(order: Order) -> dict[str, Any]:
    """Lines must carry `issued_keys` (selectors.get_order_for_customer)."""
    lines = list(order.lines.all())
    return {
        "has_licences": any(line.kind == ProductKind.LICENCE for line in lines),
        "has_goods": any(line.kind == ProductKind.PHYSICAL for line in lines),
        "keys": [
            {"line": line.pk, "product": line.display_name, "key": key.key}
            for line in lines
            for key in getattr(line, "issued_keys", [])
        ],
    }


def next_step(order: Order, facts: dict[str, Any]) -> str:
    """One sentence for "What happens next" (not for an order that can still be paid: the page
    shows its buttons instead)."""
    licences, goods, keys = facts["has_licences"], facts["has_goods"], bool(facts["keys"])
    status = order.status
    if status == OrderStatus.PENDING_PAYMENT:
        return _("We are waiting for the payment provider to confirm your payment.")
    if status == OrderStatus.PAID:
        if licences and goods:
            if keys:
                return _(
                    "Payment received. Your licence keys are below. Your goods are being "
                    "prepared for shipping; we email you the tracking number."
                )
            return _(
                "Payment received. Your licence keys appear below in a moment. Your goods are "
                "being prepared for shipping; we email you the tracking number."
            )
        if licences:
            if keys:
                return _("Payment received. Your licence keys are below; we email them to you too.")
            return _("Payment received. Your licence keys appear below in a moment.")
        return _(
            "Payment received. Your goods are being prepared for shipping; we email you the "
            "tracking number."
        )
    if status == OrderStatus.ON_HOLD:
        if licences and goods:
            return _(
                "Payment received. Before we send your licence keys and ship your goods, we need "
                "to confirm that you are the cardholder. Please upload your documents below."
            )
        if licences:
            return _(
                "Payment received. Before we send your licence keys, we need to confirm that you "
                "are the cardholder. Please upload your documents below."
            )
        return _(
            "Payment received. Before we deliver, we need to confirm that you are the "
            "cardholder. Please upload your documents below."
        )
    if status == OrderStatus.NEEDS_REVIEW:
        return _(
            "Our team is checking this order's payment. We will email you; nothing more is "
            "needed from you now."
        )
    if status == OrderStatus.FULFILLED:
        if licences and goods:
            return _(
                "Your order is complete: your licence keys are below and your goods were shipped."
            )
        if licences:
            return _("Your order is complete. Your licence keys are below.")
        return _("Your order is complete: your goods were shipped.")
    if status == OrderStatus.REFUNDED:
        return _("This order was refunded to your card.")
    if status == OrderStatus.CANCELLED and order.paid_at is not None:
        # paid, then closed: its payment was taken back by the bank (services.review)
        if licences:
            return _(
                "Your bank reversed the payment for this order, so we closed it: its licence "
                "keys no longer work."
            )
        return _("Your bank reversed the payment for this order, so we closed it.")
    return _("This order is closed. Nothing was charged.")


def keys_may_still_come(order: Order, facts: dict[str, Any]) -> bool:
    """Whether the page should keep asking: a paid (or just returned, still confirming) order
    with licences whose keys are not issued yet."""
    return (
        facts["has_licences"]
        and not facts["keys"]
        and order.status in (OrderStatus.PENDING_PAYMENT, OrderStatus.PAID)
    )


def progress_payload(order: Order) -> dict[str, Any]:
    facts = order_facts(order)
    waiting = keys_may_still_come(order, facts)
    return {
        "number": order.number,
        "status": order.status,
        "status_label": order.status_label,
        "next_step": next_step(order, facts),
        "keys": facts["keys"],
        "waiting": waiting,
        "retry_after": POLL_INTERVAL_SECONDS if waiting else None,
    }
