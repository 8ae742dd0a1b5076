"""The one place where a paid order can be held back before fulfilment. A rule returns a
reason to hold, or None.

The verification rule holds a paid order until the customer's documents are approved when the
order total is above VERIFICATION_HOLD_TOTAL_MYR, when it is the customer's first paid order
and above VERIFICATION_HOLD_FIRST_ORDER_MYR, when the card's issuing country (if the gateway
reports it) differs from the billing country, when a line's product is flagged "high risk", or
when a store manager asked for verification by hand. Once every kind in
VERIFICATION_REQUIRED_KINDS has an approved document, the rule lets the order through."""

from collections.abc import Callable

from django.conf import settings

from .models import DocumentStatus, Order, VerificationDocument

HoldRule = Callable[[Order], str | None]


def verification_triggers(order: Order) -> list[str]:
    """Why this order needs verification (staff-facing words), or [] when it does not."""
    reasons = []
    if order.verification_flagged:
        reasons.append("asked by staff")
    if order.total_sen > settings.VERIFICATION_HOLD_TOTAL_MYR * 100:
        reasons.append(f"total above RM {settings.VERIFICATION_HOLD_TOTAL_MYR}")
    if order.total_sen > settings.VERIFICATION_HOLD_FIRST_ORDER_MYR * 100:
        earlier = (
            Order.objects.filter(user_id=order.user_id, paid_at__isnull=False)
            .exclude(pk=order.pk)
            .exists()
        )
        if not earlier:
            reasons.append(f"first order above RM {settings.VERIFICATION_HOLD_FIRST_ORDER_MYR}")
    # The card of the payment that pays for the order, never a duplicate capture's.
    card_country = (
        order.attempts.filter(pays_for_order=True)
        .exclude(card_country="")
        .values_list("card_country", flat=True)
        .first()
    )
    if card_country and card_country.upper() != order.billing_country.upper():
        reasons.append(f"card issued in {card_country}, billing country {order.billing_country}")
    if order.lines.filter(product__high_risk=True).exists():
        reasons.append("high-risk product")
    return reasons


def verification_satisfied(order: Order) -> bool:
    approved = set(
        VerificationDocument.objects.filter(
            order=order, status=DocumentStatus.APPROVED
        ).values_list("kind", flat=True)
    )
    return set(settings.VERIFICATION_REQUIRED_KINDS) <= approved


def verification_rule(order: Order) -> str | None:
    reasons = verification_triggers(order)
    if not reasons or verification_satisfied(order):
        return None
    return "verification needed: " + "; ".join(reasons)


HOLD_RULES: list[HoldRule] = [verification_rule]


def hold_reasons(order: Order) -> list[str]:
    return [reason for rule in HOLD_RULES if (reason := rule(order))]
