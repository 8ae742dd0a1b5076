"""The broker (Redis) goes down while a customer pays: the signed `payment.captured` webhook is
answered cleanly and fast, and once the broker is back the order is fulfilled exactly once and
the customer emailed once, with no new webhook (issue 6, point 1)."""

import pytest
from django.core import mail

from ipmart.core.models import OutboxMessage
from ipmart.core.tasks import relay_outbox_task
from orders.models import Fulfilment, OrderStatus, WebhookEvent
from tests.faults.invariants import assert_store_invariants
from tests.orders.conftest import APPROVED, wait_until
from tests.orders.test_contract import Customer, control

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_broker_down_during_payment_then_back_fulfils_once_without_a_new_webhook(
    client, store, store_sandbox, webhook_proxy, private_redis, celery_worker_on, caplog
):
    # given a customer on the hosted page, whose browser will not come back (webhook only)
    customer = Customer(client, store)
    page = customer.start_payment()
    control(store_sandbox, page, **{"return": "skip"})
    # when the broker stops and the customer pays
    private_redis.stop()
    page.pay(APPROVED)
    wait_until(
        lambda: customer.refresh().status == OrderStatus.PAID,
        timeout=30,
        what="the captured webhook applied",
    )
    wait_until(
        lambda: OutboxMessage.objects.filter(last_error__startswith="relay:").exists(),
        timeout=30,
        what="the relay to the stopped broker failing",
    )
    # then every webhook was answered 2xx (accepted; the gateway stops retrying) …
    assert webhook_proxy.deliveries and {s for s, _ in webhook_proxy.deliveries} == {200}
    slowest = max(seconds for _, seconds in webhook_proxy.deliveries)
    print(f"slowest webhook answer with the broker down: {slowest:.3f}s")
    # … nothing is fulfilled yet and the fulfilment waits in the outbox
    assert customer.fulfilments() == 0 and mail.outbox == []
    pending = OutboxMessage.objects.get(done_at__isnull=True)
    assert pending.handler == "orders.tasks.fulfil_order_task"
    webhooks_seen = WebhookEvent.objects.count()

    # when the broker comes back and beat's sweeper runs (through the broker, as beat does)
    private_redis.start()
    relay_outbox_task.apply_async()
    # then the worker fulfils the order and the key email goes out once
    wait_until(
        lambda: customer.refresh().status == OrderStatus.FULFILLED and len(mail.outbox) >= 1,
        timeout=60,
        what="fulfilment and the key email after the broker came back",
    )
    wait_until(
        lambda: not OutboxMessage.objects.filter(done_at__isnull=True).exists(),
        timeout=30,
        what="the outbox drained",
    )
    assert Fulfilment.objects.filter(order=customer.order).count() == 1
    assert [m.to for m in mail.outbox] == [[customer.user.email]]
    assert WebhookEvent.objects.count() == webhooks_seen  # no new webhook was needed
    assert_store_invariants(caplog.records)
