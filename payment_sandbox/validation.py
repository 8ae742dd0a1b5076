"""Validation of the request bodies the sandbox accepts. A bad field is a 400 ErrorResponse that
names the property, as Connect does (the SDK raises ValidationException)."""

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import ApiError

CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_AMOUNT = 10**12
DEFAULT_SESSION_TIMEOUT_MINUTES = 180
# Connect's default is 10; the sandbox sends the customer back sooner so tests stay short.
DEFAULT_ALLOWED_ATTEMPTS = 3


@dataclass(frozen=True)
class CheckoutRequest:
    amount: int
    currency: str
    merchant_reference: str
    return_url: str
    locale: str
    session_timeout_minutes: int
    allowed_attempts: int


@dataclass(frozen=True)
class RefundRequest:
    amount: int
    currency: str
    merchant_reference: str


def _missing(prop: str) -> ApiError:
    return ApiError(400, "PARAMETER_NOT_FOUND_IN_REQUEST", f"{prop} is missing", prop)


def _invalid(prop: str, why: str) -> ApiError:
    return ApiError(400, "REQUEST_NOT_VALID", f"{prop} {why}", prop)


def _object(body: dict, prop: str, *, required: bool) -> dict:
    value = body
    for part in prop.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        if required:
            raise _missing(prop)
        return {}
    if not isinstance(value, dict):
        raise _invalid(prop, "must be an object")
    return value


def _amount(money: dict, prefix: str) -> tuple[int, str]:
    amount = money.get("amount")
    if amount is None:
        raise _missing(f"{prefix}.amount")
    if not isinstance(amount, int) or isinstance(amount, bool) or not 1 <= amount <= MAX_AMOUNT:
        raise _invalid(f"{prefix}.amount", "must be a whole number of minor units, at least 1")
    currency = money.get("currencyCode")
    if currency is None:
        raise _missing(f"{prefix}.currencyCode")
    if not isinstance(currency, str) or not CURRENCY.match(currency):
        raise _invalid(
            f"{prefix}.currencyCode", "must be an ISO 4217 code of three capital letters"
        )
    return amount, currency


def _optional_int(section: dict, prefix: str, name: str, low: int, high: int, default: int) -> int:
    value = section.get(name)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise _invalid(f"{prefix}.{name}", f"must be a whole number from {low} to {high}")
    return value


def validate_create_checkout(
    body: object, *, default_session_timeout: int, default_attempts: int
) -> CheckoutRequest:
    if not isinstance(body, dict):
        raise ApiError(400, "REQUEST_NOT_VALID", "the body must be a JSON object")
    amount, currency = _amount(
        _object(body, "order.amountOfMoney", required=True), "order.amountOfMoney"
    )
    references = _object(body, "order.references", required=True)
    reference = references.get("merchantReference")
    if reference is None:
        raise _missing("order.references.merchantReference")
    if not isinstance(reference, str) or not 1 <= len(reference) <= 30:
        raise _invalid("order.references.merchantReference", "must be 1 to 30 characters")

    hosted = _object(body, "hostedCheckoutSpecificInput", required=True)
    return_url = hosted.get("returnUrl")
    if return_url is None:
        raise _missing("hostedCheckoutSpecificInput.returnUrl")
    parts = urlsplit(return_url) if isinstance(return_url, str) else None
    if parts is None or parts.scheme not in {"http", "https"} or not parts.hostname:
        raise _invalid("hostedCheckoutSpecificInput.returnUrl", "must be an absolute http(s) URL")
    locale = hosted.get("locale") or "en_GB"
    if not isinstance(locale, str) or len(locale) > 10:
        raise _invalid("hostedCheckoutSpecificInput.locale", "must be a locale such as en_GB")
    # Direct's fields; Connect v1's SDK does not send them, a raw request may.
    timeout = _optional_int(
        hosted, "hostedCheckoutSpecificInput", "sessionTimeout", 1, 1440, default_session_timeout
    )
    attempts = _optional_int(
        hosted,
        "hostedCheckoutSpecificInput",
        "allowedNumberOfPaymentAttempts",
        1,
        10,
        default_attempts,
    )
    card = _object(body, "cardPaymentMethodSpecificInput", required=False)
    mode = card.get("authorizationMode", "SALE")
    if mode != "SALE":
        raise _invalid(
            "cardPaymentMethodSpecificInput.authorizationMode",
            "must be SALE (the sandbox captures on approval)",
        )
    return CheckoutRequest(
        amount=amount,
        currency=currency,
        merchant_reference=reference,
        return_url=return_url,
        locale=locale,
        session_timeout_minutes=timeout,
        allowed_attempts=attempts,
    )


def validate_refund(body: object) -> RefundRequest:
    if not isinstance(body, dict):
        raise ApiError(400, "REQUEST_NOT_VALID", "the body must be a JSON object")
    amount, currency = _amount(_object(body, "amountOfMoney", required=True), "amountOfMoney")
    references = _object(body, "refundReferences", required=False)
    reference = references.get("merchantReference", "")
    if not isinstance(reference, str) or len(reference) > 30:
        raise _invalid("refundReferences.merchantReference", "must be at most 30 characters")
    return RefundRequest(amount=amount, currency=currency, merchant_reference=reference)
