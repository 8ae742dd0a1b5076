"""The database connection is dropped in the middle of a request (PostgreSQL terminates the
backend while the webhook's transaction is open): that request fails with a 500 the gateway
retries, nothing half-done is left, and the order ends paid and fulfilled once."""

import pytest
from django.db import connection

from orders.models import Fulfilment
from orders.services import payments
from orders.tasks import reconcile_payments_task
from tests.faults.invariants import assert_store_invariants, server_errors
from tests.orders.conftest import APPROVED, wait_until
from tests.orders.test_contract import Customer, control, paid_and_fulfilled_once

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_connection_dropped_mid_webhook_then_the_retry_pays_once(
    postgres, client, store, store_sandbox, monkeypatch, settings, caplog
):
    customer = Customer(client, store)
    page = customer.start_payment()
    control(store_sandbox, page, **{"return": "skip"})
    original = payments.apply_payment_status
    dropped = []

    def drop_connection_first_time(attempt, **kwargs):
        if not dropped and kwargs.get("payment", {}).get("status") == "CAPTURED":
            dropped.append(attempt.pk)
            with connection.cursor() as cursor:  # the server kills this very connection
                cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        return original(attempt, **kwargs)

    monkeypatch.setattr(payments, "apply_payment_status", drop_connection_first_time)
    # when the customer pays and the captured webhook's connection dies mid-transaction
    page.pay(APPROVED)
    wait_until(lambda: dropped, timeout=30, what="the captured webhook reaching the store")
    wait_until(
        lambda: server_errors(caplog.records), timeout=30, what="the failed webhook answered 500"
    )
    # then the gateway's retry (or, if its retries ran out, the reconciliation job) pays the
    # order, once
    settings.PAYMENT_RECONCILE_AFTER_MINUTES = 0
    reconcile_payments_task()
    wait_until(lambda: paid_and_fulfilled_once(customer), timeout=30, what="fulfilled once")
    assert Fulfilment.objects.filter(order=customer.order).count() == 1
    assert any("/payments/webhook/" in line for line in server_errors(caplog.records))
    assert_store_invariants(caplog.records, explained_5xx=("/payments/webhook/",))
