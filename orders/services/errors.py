from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class ShopError(Exception):
    """A shop action that cannot be done; the message is meant for the person who tried."""


class CartError(ShopError):
    pass


class CheckoutError(ShopError):
    pass


class PaymentError(ShopError):
    pass


def plan_or_refusal(plan: Callable[..., T], *args: Any) -> tuple[T | None, str]:
    """Call a read-only `plan_…` check: (what it returns, "") or, when it refuses,
    (None, its message). The confirmation pages show the plan or the refusal."""
    try:
        return plan(*args), ""
    except ShopError as error:
        return None, str(error)
