"""How the sandbox's records look on the wire: the Connect v1 JSON of a payment, a refund and a
hosted checkout's status. Field names follow the SDK's domain classes (worldline.connect.sdk.v1
.domain), which the contract tests use to check that nothing sent is unknown to the SDK."""

from typing import TYPE_CHECKING

from .clock import connect_datetime

if TYPE_CHECKING:
    from .state import Checkout, Payment, Refund

# status → (statusCategory, statusCode, isAuthorized, isRefundable)
PAYMENT_STATUSES = {
    "CREATED": ("CREATED", 0, False, False),
    "REJECTED": ("UNSUCCESSFUL", 100, False, False),
    "CAPTURE_REQUESTED": ("PENDING_CONNECT_OR_3RD_PARTY", 800, True, False),
    "CAPTURED": ("COMPLETED", 900, True, True),
    "REFUNDED": ("REFUNDED", 1800, True, False),
    # After a capture the customer's bank takes the money back: a chargeback (the customer
    # disputed the payment) or a reversal; the same category for both.
    "CHARGEBACKED": ("REVERSED", 1500, True, False),
    "REVERSED": ("REVERSED", 1510, True, False),
}
REVERSAL_STATUSES = ("CHARGEBACKED", "REVERSED")
# createdPaymentOutput.paymentStatusCategory (deprecated in Connect, still sent).
PAYMENT_STATUS_CATEGORY = {
    "CAPTURED": "SUCCESSFUL",
    "REFUNDED": "SUCCESSFUL",
    "CHARGEBACKED": "SUCCESSFUL",
    "REVERSED": "SUCCESSFUL",
    "REJECTED": "REJECTED",
}

DECLINE_ERROR = {
    "code": "430285",
    "id": "NOT_AUTHORISED",
    "category": "PAYMENT_PLATFORM_ERROR",
    "message": "Not authorised",
    "httpStatusCode": 402,
}


def checkout_status_response(checkout: "Checkout") -> dict:
    """GetHostedCheckoutResponse: createdPaymentOutput shows the latest payment, if any."""
    answer = {"status": checkout.status}
    if checkout.payments:
        payment = checkout.payments[-1]
        answer["createdPaymentOutput"] = {
            "payment": payment_response(payment),
            "paymentStatusCategory": PAYMENT_STATUS_CATEGORY.get(payment.status, "STATUS_UNKNOWN"),
        }
    return answer


def payment_response(payment: "Payment") -> dict:
    """PaymentResponse: the payment as the API and the webhooks show it."""
    category, code, authorized, refundable = PAYMENT_STATUSES[payment.status]
    status_output = {
        "statusCategory": category,
        "statusCode": code,
        "statusCodeChangeDateTime": connect_datetime(payment.status_changed_at),
        "isAuthorized": authorized,
        "isCancellable": False,
        "isRefundable": refundable and payment.refunded_amount < payment.amount,
        "isRetriable": False,
    }
    if payment.status == "REJECTED":
        status_output["errors"] = [dict(DECLINE_ERROR)]
    paid = payment.amount if payment.status in {"CAPTURED", "REFUNDED", *REVERSAL_STATUSES} else 0
    card = {
        "cardNumber": "*" * 12 + payment.card_number[-4:],
        "expiryDate": payment.card_expiry,
        "cardholderName": payment.holder,
    }
    card_output = {
        "paymentProductId": 1,
        "card": card,
        "fraudResults": {"fraudServiceResult": "no-advice", "avsResult": "0", "cvvResult": "M"},
    }
    if authorized:
        card_output["authorisationCode"] = payment.id[-6:]
    return {
        "id": payment.id,
        "status": payment.status,
        "statusOutput": status_output,
        "paymentOutput": {
            "amountOfMoney": {"amount": payment.amount, "currencyCode": payment.currency},
            "references": {
                "merchantReference": payment.merchant_reference,
                "paymentReference": "0",
            },
            "paymentMethod": "card",
            "amountPaid": paid,
            "amountRefunded": payment.refunded_amount,
            "cardPaymentMethodSpecificOutput": card_output,
        },
        "hostedCheckoutSpecificOutput": {"hostedCheckoutId": payment.checkout_id},
    }


def refund_response(refund: "Refund", payment: "Payment") -> dict:
    """RefundResponse for a refund just made of `payment`."""
    return {
        "id": refund.id,
        "refundOutput": {
            "amountOfMoney": {"amount": refund.amount, "currencyCode": refund.currency},
            "references": {"merchantReference": refund.merchant_reference}
            if refund.merchant_reference
            else {},
            "paymentMethod": "card",
            "amountPaid": refund.amount,
            "cardRefundMethodSpecificOutput": {
                "refundProductId": 1,
                "totalAmountPaid": payment.amount,
                "totalAmountRefunded": payment.refunded_amount,
            },
        },
        "status": "REFUNDED",
        "statusOutput": {
            "statusCategory": "COMPLETED",
            "statusCode": 1800,
            "statusCodeChangeDateTime": connect_datetime(refund.created_at),
            "isCancellable": False,
        },
    }
