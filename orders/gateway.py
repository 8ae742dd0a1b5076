"""The store's side of the Worldline Connect API, through the official SDK only. Everything the
rest of the store needs from the gateway goes through these functions, so the sandbox and the
real gateway take the same code path."""

import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from worldline.connect.sdk.call_context import CallContext
from worldline.connect.sdk.communication.communication_exception import CommunicationException
from worldline.connect.sdk.communication.request_header import RequestHeader
from worldline.connect.sdk.v1.api_exception import ApiException
from worldline.connect.sdk.v1.domain.create_hosted_checkout_request import (
    CreateHostedCheckoutRequest,
)
from worldline.connect.sdk.v1.domain.refund_request import RefundRequest
from worldline.connect.sdk.v1.idempotence_exception import IdempotenceException
from worldline.connect.sdk.v1.platform_exception import PlatformException
from worldline.connect.sdk.v1.webhooks.v1_webhooks_factory import V1WebhooksFactory
from worldline.connect.sdk.webhooks.secret_key_not_available_exception import (
    SecretKeyNotAvailableException,
)
from worldline.connect.sdk.webhooks.secret_key_store import SecretKeyStore

logger = logging.getLogger(__name__)

RETRY_DELAYS = (0.2, 0.6)  # seconds between tries of a create that failed with 5xx/network


def merchant() -> Any:  # the SDK is untyped
    """The SDK's merchant resource for GATEWAY_MERCHANT_ID (built in gateway_client.py)."""
    from .gateway_client import merchant as sdk_merchant

    return sdk_merchant()


class GatewayError(Exception):
    """The gateway could not do what was asked (after retries); the customer may try again."""


class GatewayBusy(GatewayError):
    """The same request is still being processed at the gateway (idempotence conflict)."""


class CheckoutUnknown(GatewayError):
    """The gateway answers 404 for a hosted checkout (UNKNOWN_HOSTED_CHECKOUT): it no longer
    knows it (expired and purged on its side, or a sandbox that restarted)."""


class WebhookRejected(Exception):
    """A webhook that is not provably from the gateway: bad or missing signature, unknown key,
    wrong API version, or not JSON."""


@dataclass(frozen=True)
class HostedCheckout:
    checkout_id: str
    returnmac: str
    redirect_url: str


def redirect_host_allowed(url: str) -> bool:
    """Only send customers to the gateway's own hosts (GATEWAY_ALLOWED_REDIRECT_HOSTS)."""
    parts = urlsplit(url)
    if parts.scheme not in {"https", "http"} or not parts.netloc:
        return False
    if parts.scheme == "http" and not settings.GATEWAY_ALLOW_HTTP_REDIRECT:
        return False
    host = parts.netloc.lower()
    for allowed in settings.GATEWAY_ALLOWED_REDIRECT_HOSTS:
        allowed = allowed.lower()
        if host == allowed or (allowed.startswith(".") and host.endswith(allowed)):
            return True
    return False


def create_hosted_checkout(
    *,
    merchant_reference: str,
    idempotency_key: str,
    amount_sen: int,
    currency: str,
    return_url: str,
    customer: dict[str, Any],
    locale: str,
) -> HostedCheckout:
    """Create the hosted checkout. 5xx and network errors are retried with the same idempotency
    key, so the gateway never holds two checkouts for one attempt."""
    body = CreateHostedCheckoutRequest().from_dictionary(
        {
            "order": {
                "amountOfMoney": {"amount": amount_sen, "currencyCode": currency},
                "references": {"merchantReference": merchant_reference},
                "customer": customer,
            },
            "hostedCheckoutSpecificInput": {
                "returnUrl": return_url,
                "locale": locale,
                "showResultPage": False,
                "returnCancelState": True,
            },
            "cardPaymentMethodSpecificInput": {"authorizationMode": "SALE"},
        }
    )
    started = time.monotonic()
    for attempt, delay in enumerate((*RETRY_DELAYS, None)):
        # A try that took a whole socket timeout is not repeated: the customer's request must
        # answer well inside gunicorn's 30 s (the idempotency key lets the next click resume).
        if attempt and time.monotonic() - started >= settings.GATEWAY_SOCKET_TIMEOUT_SECONDS:
            raise GatewayError("The payment provider is not answering.")
        try:
            response = (
                merchant()
                .hostedcheckouts()
                .create(body, CallContext(idempotence_key=idempotency_key))
            )
        except IdempotenceException as error:
            raise GatewayBusy("The gateway is still processing this payment.") from error
        except (PlatformException, CommunicationException) as error:
            logger.warning("gateway create failed (try %d): %s", attempt + 1, error)
            if delay is None:
                raise GatewayError("The payment provider is not answering.") from error
            time.sleep(delay)
            continue
        except ApiException as error:
            logger.error("gateway refused create: %s", error)
            raise GatewayError("The payment provider refused the payment request.") from error
        redirect_url = settings.GATEWAY_REDIRECT_PREFIX + response.partial_redirect_url
        return HostedCheckout(response.hosted_checkout_id, response.returnmac, redirect_url)
    raise AssertionError("unreachable")


def get_hosted_checkout(checkout_id: str) -> dict[str, Any]:
    """The checkout's status as the gateway reports it (a GetHostedCheckoutResponse dict)."""
    try:
        status: dict[str, Any] = merchant().hostedcheckouts().get(checkout_id).to_dictionary()
        return status
    except ApiException as error:
        if error.status_code == 404:
            codes = [e.id or e.code for e in (error.errors or [])]
            logger.warning("gateway does not know hosted checkout %s: %s", checkout_id, codes)
            raise CheckoutUnknown(f"The gateway does not know checkout {checkout_id}.") from error
        raise GatewayError("Could not ask the payment provider for the payment status.") from error
    except CommunicationException as error:
        raise GatewayError("Could not ask the payment provider for the payment status.") from error


def refund_payment(
    payment_id: str, *, amount_sen: int, currency: str, reference: str, idempotency_key: str
) -> dict[str, Any]:
    """Refund `amount_sen` of a captured payment (a RefundResponse dict). 5xx and network
    errors are retried with the same idempotency key, so the gateway refunds at most once
    however often this is called for one refund; a duplicate still in progress raises
    GatewayBusy, a refusal or a gateway that keeps failing raises GatewayError."""
    body = RefundRequest().from_dictionary(
        {
            "amountOfMoney": {"amount": amount_sen, "currencyCode": currency},
            "refundReferences": {"merchantReference": reference},
        }
    )
    for attempt, delay in enumerate((*RETRY_DELAYS, None)):
        try:
            refund: dict[str, Any] = (
                merchant()
                .payments()
                .refund(payment_id, body, CallContext(idempotence_key=idempotency_key))
                .to_dictionary()
            )
            return refund
        except IdempotenceException as error:
            raise GatewayBusy("The gateway is still processing this refund.") from error
        except (PlatformException, CommunicationException) as error:
            logger.warning("gateway refund failed (try %d): %s", attempt + 1, error)
            if delay is None:
                raise GatewayError("the payment provider is not answering") from error
            time.sleep(delay)
        except ApiException as error:
            logger.error("gateway refused refund of %s: %s", payment_id, error)
            messages = "; ".join(e.message or e.id or "" for e in (error.errors or []))
            raise GatewayError(messages or "the payment provider refused it") from error
    raise AssertionError("unreachable")


class _SettingsKeyStore(SecretKeyStore):  # type: ignore[misc]  # untyped SDK
    def get_secret_key(self, key_id: str) -> str:
        if key_id != settings.GATEWAY_WEBHOOK_KEY_ID:
            raise SecretKeyNotAvailableException(key_id, f"unknown webhook key id {key_id!r}")
        return str(settings.GATEWAY_WEBHOOK_SECRET)


def parse_webhook(body: bytes, headers: list[tuple[str, str]]) -> dict[str, Any]:
    """Verify a webhook on its raw body with the SDK's helper and return the event as a dict.
    Raises WebhookRejected for anything not provably from the gateway."""
    helper = V1WebhooksFactory.create_helper(_SettingsKeyStore())
    try:
        event = helper.unmarshal(body, [RequestHeader(name, value) for name, value in headers])
    except Exception as error:  # the SDK raises several unrelated types; all mean "reject"
        raise WebhookRejected(f"{type(error).__name__}: {error}") from error
    parsed: dict[str, Any] = event.to_dictionary()
    return parsed
