"""The hosted payment page: what the customer sees at partialRedirectUrl. It shows the merchant,
the order reference and the amount, takes a test card, and sends the customer back to the
store's returnUrl with hostedCheckoutId and RETURNMAC appended.

The page token `t` (from partialRedirectUrl) must match or the answer is 404. The form carries
it and a per-checkout form token (the page's own CSRF token); a POST without both is refused.
No script at all; the stylesheet is served by the sandbox from page_static/.
"""

import re
import secrets
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from django.template import Context, Engine

from .state import DECLINE, GATEWAY_ERROR, TEST_CARDS, Checkout, Gateway

HERE = Path(__file__).resolve().parent
STYLESHEET = HERE / "page_static" / "hosted-checkout.css"

# ISO 4217 minor-unit exponents that are not 2.
# fmt: off
CURRENCY_EXPONENTS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}
# fmt: on
_EXPIRY = re.compile(r"^(?P<month>\d{1,2})\s*/?\s*(?P<year>\d{2})$")


@dataclass
class PageResponse:
    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)


def format_amount(amount: int, currency: str) -> str:
    """Minor units as the customer reads them: 12345 MYR → "MYR 123.45"."""
    exponent = CURRENCY_EXPONENTS.get(currency, 2)
    if exponent == 0:
        return f"{currency} {amount:,}"
    units, minor = divmod(amount, 10**exponent)
    return f"{currency} {units:,}.{minor:0{exponent}d}"


def normalise_card_number(value: str) -> str:
    return re.sub(r"[\s-]", "", value or "")


@cache
def _engine() -> Engine:
    return Engine(dirs=[str(HERE / "page_templates")], autoescape=True)


def _security_headers(checkout: Checkout | None) -> list[tuple[str, str]]:
    # Browsers apply form-action to the redirect that follows a form post, so the store's
    # origin (returnUrl) must be allowed as well as the page itself.
    form_action = "'self'"
    if checkout is not None:
        parts = urlsplit(checkout.request.return_url)
        form_action += f" {parts.scheme}://{parts.netloc}"
    return [
        (
            "Content-Security-Policy",
            "default-src 'none'; style-src 'self'; base-uri 'none'; frame-ancestors 'none'; "
            f"form-action {form_action}",
        ),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("Cache-Control", "no-store"),
    ]


def _render(status: int, template: str, context: dict, checkout: Checkout | None) -> PageResponse:
    html = _engine().get_template(template).render(Context(context))
    headers = [("Content-Type", "text/html; charset=utf-8"), *_security_headers(checkout)]
    return PageResponse(status, html.encode("utf-8"), headers)


def _base_context(gateway: Gateway, checkout: Checkout | None) -> dict:
    context = {"merchant_name": gateway.merchant_name}
    if checkout is not None:
        context["reference"] = checkout.request.merchant_reference
        context["amount"] = format_amount(checkout.request.amount, checkout.request.currency)
    return context


def _form(gateway, checkout, *, status=200, errors=None, values=None, notice="") -> PageResponse:
    context = _base_context(gateway, checkout) | {
        "checkout_id": checkout.id,
        "page_token": checkout.page_token,
        "form_token": checkout.form_token,
        "errors": errors or {},
        "values": values or {},
        "notice": notice,
        "attempts_left": checkout.attempts_left if checkout.payments else None,
    }
    return _render(status, "checkout.html", context, checkout)


def _message(gateway, checkout, status, heading, message, link="") -> PageResponse:
    context = _base_context(gateway, checkout) | {
        "heading": heading,
        "message": message,
        "link": link,
    }
    return _render(status, "message.html", context, checkout)


def not_found(gateway: Gateway) -> PageResponse:
    return _message(gateway, None, 404, "Page not found", "This payment link is not valid.")


def _closed(gateway: Gateway, checkout: Checkout) -> PageResponse:
    link = "" if checkout.flags.get("return") == "skip" else checkout.return_url
    return _message(
        gateway,
        checkout,
        410,
        "This payment page has closed",
        "Nothing more can be paid here.",
        link,
    )


def _back_to_store(gateway: Gateway, checkout: Checkout) -> PageResponse:
    if checkout.flags.get("return") == "skip":
        return _message(
            gateway,
            checkout,
            200,
            "Thank you",
            "Your payment has been processed. You can close this window.",
        )
    location = checkout.return_url
    response = _message(
        gateway, checkout, 302, "Returning to the shop", "Continue to the shop.", location
    )
    response.headers.append(("Location", location))
    return response


def show(gateway: Gateway, checkout_id: str, token: str) -> PageResponse:
    checkout = gateway.checkout_for_page(checkout_id, token)
    if checkout is None:
        return not_found(gateway)
    if checkout.closed:
        return _closed(gateway, checkout)
    return _form(gateway, checkout)


def _card_errors(gateway: Gateway, form: dict[str, str]) -> tuple[dict[str, str], str, str]:
    """Field errors, the card number and the expiry as MMYY."""
    errors = {}
    holder = form.get("holder", "").strip()
    if not holder:
        errors["holder"] = "Enter the name on the card."
    number = normalise_card_number(form.get("number", ""))
    if not number:
        errors["number"] = "Enter the card number."
    elif number not in TEST_CARDS:
        errors["number"] = (
            "This sandbox accepts only its test cards: 4111 1111 1111 1111, 4000 0000 0000 0002, "
            "4000 0000 0000 9995 and 4000 0000 0000 0119."
        )
    expiry = ""
    match = _EXPIRY.match(form.get("expiry", "").strip())
    if match is None or not 1 <= int(match["month"]) <= 12:
        errors["expiry"] = "Enter the expiry date as MM/YY."
    else:
        month, year = int(match["month"]), 2000 + int(match["year"])
        today = gateway.clock.now()
        if (year, month) < (today.year, today.month):
            errors["expiry"] = "This card has expired."
        expiry = f"{month:02d}{year % 100:02d}"
    if not re.fullmatch(r"\d{3,4}", form.get("cvc", "").strip()):
        errors["cvc"] = "Enter the 3 or 4 digit security code."
    return errors, number, expiry


def submit(gateway: Gateway, checkout_id: str, form: dict[str, str]) -> PageResponse:
    """The form's POST: Pay or Cancel."""
    checkout = gateway.checkout_for_page(checkout_id, form.get("t", ""))
    if checkout is None:
        return not_found(gateway)
    if not secrets.compare_digest(
        form.get("csrf_token", "").encode(), checkout.form_token.encode()
    ):
        return _message(
            gateway,
            checkout,
            403,
            "Form expired",
            "Please go back and submit the payment form again.",
        )
    if checkout.closed:
        return _closed(gateway, checkout)
    action = form.get("action")
    if action == "cancel":
        try:
            gateway.cancel(checkout)
        except ValueError:
            return _closed(gateway, checkout)
        return _back_to_store(gateway, checkout)
    if action != "pay":
        return _form(gateway, checkout, status=400, errors={"action": "Choose Pay or Cancel."})

    errors, number, expiry = _card_errors(gateway, form)
    values = {"holder": form.get("holder", "").strip(), "expiry": form.get("expiry", "").strip()}
    if errors:
        return _form(gateway, checkout, errors=errors, values=values)
    try:
        outcome = gateway.pay(checkout, card_number=number, holder=values["holder"], expiry=expiry)
    except ValueError:
        return _closed(gateway, checkout)
    if outcome.kind == GATEWAY_ERROR:
        return _message(
            gateway,
            checkout,
            500,
            "Payment service error",
            "Something went wrong on our side and your card was not charged. Please try again later.",
        )
    if outcome.kind == DECLINE and not outcome.finished:
        left = checkout.attempts_left
        notice = f"Your card was declined. You can try another card ({left} attempt{'s' if left != 1 else ''} left)."
        return _form(gateway, checkout, values=values, notice=notice)
    return _back_to_store(gateway, checkout)


def stylesheet() -> PageResponse:
    return PageResponse(
        200,
        STYLESHEET.read_bytes(),
        [("Content-Type", "text/css; charset=utf-8"), ("Cache-Control", "max-age=3600")],
    )
