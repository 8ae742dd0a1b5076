"""Migration orders/0012 copies what the gateway captured for a payment under review for a
mismatch from its order's history onto the payment; other payments keep nothing recorded (a
paid one captured what was asked)."""

import uuid

import pytest

from tests.factories import OrderFactory
from tests.migrations import migrate, migrated_back

BEFORE = [("orders", "0011_payment_that_pays_for_the_order")]
AFTER = [("orders", "0012_captured_amount")]


@pytest.mark.django_db(transaction=True)
def test_a_mismatched_capture_gets_the_amount_its_history_reported():
    # given payments as the old code left them
    # (orders made at the latest schema: their rows outlive the columns added since)
    short, foreign, paid = OrderFactory(), OrderFactory(), OrderFactory()
    with migrated_back("orders", BEFORE) as old_apps:
        Attempt = old_apps.get_model("orders", "PaymentAttempt")
        Event = old_apps.get_model("orders", "OrderEvent")

        def attempt(order, reference, status):
            return Attempt.objects.create(
                order_id=order.pk,
                merchant_reference=reference,
                idempotency_key=uuid.uuid4(),
                amount_sen=10800,
                currency="MYR",
                status=status,
                gateway_payment_id="pay",
            ).pk

        under = attempt(short, "SHORT", "needs_review")
        usd = attempt(foreign, "USD", "refunded")
        fine = attempt(paid, "PAID", "paid")
        Event.objects.create(
            order_id=short.pk,
            kind="needs_review",
            message="Gateway reported MYR 5000 for MYR 10800 (SHORT).",
        )
        Event.objects.create(
            order_id=foreign.pk,
            kind="needs_review",
            message="Gateway reported USD 10800 for MYR 10800 (USD).",
        )
        Event.objects.create(
            order_id=paid.pk, kind="needs_review", message="Gateway reported REVERSED: PAID via x"
        )
        # when
        new_apps = migrate(AFTER)
        # then
        Attempt = new_apps.get_model("orders", "PaymentAttempt")
        captured = {
            pk: (amount, currency)
            for pk, amount, currency in Attempt.objects.values_list(
                "pk", "captured_sen", "captured_currency"
            )
        }
        assert captured == {under: (5000, "MYR"), usd: (10800, "USD"), fine: (None, "")}
