"""Migration orders/0011 marks the payment that pays for each existing order: its only capture,
or, when it was captured twice, the one its history names first."""

import uuid

import pytest

from tests.factories import OrderFactory
from tests.migrations import migrate, migrated_back

BEFORE = [("orders", "0010_refunds_credit_notes")]
AFTER = [("orders", "0011_payment_that_pays_for_the_order")]


@pytest.mark.django_db(transaction=True)
def test_each_order_gets_the_payment_its_history_says_paid_it():
    # given orders as the old code left them
    # (orders made at the latest schema: their rows outlive the columns added since)
    once, twice, never = OrderFactory(), OrderFactory(), OrderFactory()
    with migrated_back("orders", BEFORE) as old_apps:
        Attempt = old_apps.get_model("orders", "PaymentAttempt")
        Event = old_apps.get_model("orders", "OrderEvent")

        def attempt(order, reference, status, payment_id="pay"):
            return Attempt.objects.create(
                order_id=order.pk,
                merchant_reference=reference,
                idempotency_key=uuid.uuid4(),
                amount_sen=10800,
                currency="MYR",
                status=status,
                gateway_payment_id=payment_id,
            ).pk

        only = attempt(once, "ONCE", "refunded")
        duplicate = attempt(twice, "TWICE", "paid")  # created first, captured second
        paying = attempt(twice, "TWICE-2", "paid")
        Event.objects.create(order_id=twice.pk, kind="placed", message="")
        Event.objects.create(order_id=twice.pk, kind="paid", message="TWICE-2 via webhook e-1")
        Event.objects.create(
            order_id=twice.pk,
            kind="needs_review",
            message="Another payment captured for an order already fulfilled: TWICE via return",
        )
        attempt(never, "NEVER", "failed")
        attempt(never, "NEVER-2", "created", payment_id="")
        # when
        new_apps = migrate(AFTER)
        # then
        Attempt = new_apps.get_model("orders", "PaymentAttempt")
        marked = dict(Attempt.objects.values_list("pk", "pays_for_order"))
        assert {pk for pk, pays in marked.items() if pays} == {only, paying}
        assert marked[duplicate] is False
