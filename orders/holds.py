"""The one place where a paid order can be held back before fulfilment. A rule returns a
reason to hold, or None. The verification-documents feature adds its rule here (e.g. "a
first order over RM 2,000 needs proof that the payer is the cardholder")."""

from collections.abc import Callable

from .models import Order

HoldRule = Callable[[Order], str | None]

HOLD_RULES: list[HoldRule] = []


def hold_reasons(order: Order) -> list[str]:
    return [reason for rule in HOLD_RULES if (reason := rule(order))]
