"""The gateway's payment and webhook event bodies, as the Connect API sends them (the fields the
store reads), for the payment rules' tests that feed `apply_payment_status` and `handle_webhook`
directly; contract tests get the real ones from the sandbox."""

import uuid

STATUS_CATEGORY = {
    "CAPTURED": "COMPLETED",
    "CHARGEBACK_NOTIFICATION": "COMPLETED",
    "REJECTED": "UNSUCCESSFUL",
    "PENDING_APPROVAL": "PENDING_MERCHANT",
    "CREATED": "CREATED",
    "REFUNDED": "REFUNDED",
    "CHARGEBACKED": "REVERSED",
    "REVERSED": "REVERSED",
}


def payment(attempt, status="CAPTURED", *, amount=None, currency=None, payment_id=None) -> dict:
    """`attempt`'s payment in `status`; its id is the attempt's own unless given (one payment
    keeps one id through its statuses), its amount and currency the attempt's unless given."""
    return {
        "id": payment_id or f"{attempt.pk:010d}_1",
        "status": status,
        "statusOutput": {"statusCategory": STATUS_CATEGORY[status], "statusCode": 9},
        "paymentOutput": {
            "amountOfMoney": {
                "amount": attempt.amount_sen if amount is None else amount,
                "currencyCode": currency or attempt.currency,
            },
            "references": {"merchantReference": attempt.merchant_reference},
        },
    }


def event(attempt, status="CAPTURED", **kwargs) -> dict:
    """A webhook event (a new event id each time) carrying `payment(attempt, status, …)`."""
    return {
        "apiVersion": "v1",
        "id": str(uuid.uuid4()),
        "created": "2026-11-24T10:00:00.000+0800",
        "merchantId": "ipmart-sandbox",
        "type": f"payment.{status.lower()}",
        "payment": payment(attempt, status, **kwargs),
    }
