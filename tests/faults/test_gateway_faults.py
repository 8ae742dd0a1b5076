"""The gateway answers 5xx or not at all, on create and on status; the store's webhook endpoint
is down and comes back. The customer's requests answer (never a 500, never a hung worker), the
order is kept, and it ends paid and fulfilled once."""

import pytest
from django.utils import timezone

from orders.models import AttemptStatus, OrderStatus, PaymentAttempt
from orders.tasks import reconcile_payments_task
from tests.faults.invariants import assert_store_invariants
from tests.orders.conftest import APPROVED, wait_until
from tests.orders.test_contract import Customer, control, paid_and_fulfilled_once

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def customer(client, store):
    return Customer(client, store)


def pay_click(customer):
    return customer.client.post(f"/orders/{customer.order.number}/pay/")


def recover(settings) -> None:
    """What the store does by itself once the fault is gone: the gateway's webhook retries may
    or may not have run out meanwhile (timing), so the reconciliation job runs too, as beat
    would run it; either way the order must end paid once."""
    settings.PAYMENT_RECONCILE_AFTER_MINUTES = 0
    reconcile_payments_task()


@pytest.mark.parametrize("mode", ["error", "stall"])
def test_create_fails_or_times_out_then_the_next_click_pays(
    customer, store_sandbox, faulty_gateway, settings, caplog, mode
):
    # given the gateway answering 503, or not at all
    faulty_gateway.mode = mode
    settings.GATEWAY_ENDPOINT = faulty_gateway.url
    started = timezone.now()
    response = pay_click(customer)
    # then the customer is back on the order, which is kept with its reservation
    assert response.status_code == 302
    assert response["Location"] == f"/orders/{customer.order.number}/"
    assert (timezone.now() - started).total_seconds() < 25  # inside gunicorn's 30 s
    assert customer.refresh().status == OrderStatus.PENDING_PAYMENT
    attempt = PaymentAttempt.objects.get(order=customer.order)
    assert attempt.hosted_checkout_id is None
    # when the gateway is back, the next click resumes the same attempt and pays
    settings.GATEWAY_ENDPOINT = store_sandbox.url
    page = customer.start_payment()
    assert PaymentAttempt.objects.filter(order=customer.order).count() == 1
    customer.come_back(page.pay(APPROVED))
    wait_until(lambda: paid_and_fulfilled_once(customer), what="paid and fulfilled once")
    assert_store_invariants(caplog.records)


@pytest.mark.parametrize("mode", ["error", "stall"])
def test_status_fails_or_times_out_on_return_then_the_webhook_pays(
    customer, store_sandbox, webhook_proxy, faulty_gateway, settings, caplog, mode
):
    page = customer.start_payment()
    webhook_proxy.down = True  # the webhook waits, so the return is what runs first
    answer = page.pay(APPROVED)
    # when the customer comes back and the gateway cannot say how the payment went
    faulty_gateway.mode = mode
    settings.GATEWAY_ENDPOINT = faulty_gateway.url
    response = customer.come_back(answer)
    # then the store answers (the order page, "we are confirming your payment")
    assert response.status_code == 302
    assert response["Location"] == f"/orders/{customer.order.number}/"
    assert customer.attempts() == [AttemptStatus.CREATED]
    assert customer.client.get(response["Location"]).status_code == 200
    # and the gateway's webhook, once it gets through, pays and fulfils the order once
    settings.GATEWAY_ENDPOINT = store_sandbox.url
    webhook_proxy.down = False
    recover(settings)
    wait_until(
        lambda: paid_and_fulfilled_once(customer), timeout=30, what="paid once the fault ended"
    )
    assert_store_invariants(caplog.records)


def test_webhook_endpoint_down_then_back(customer, store_sandbox, webhook_proxy, settings, caplog):
    page = customer.start_payment()
    control(store_sandbox, page, **{"return": "skip"})
    webhook_proxy.down = True
    page.pay(APPROVED)
    wait_until(lambda: webhook_proxy.refused >= 1, what="deliveries refused while down")
    assert customer.refresh().status == OrderStatus.PENDING_PAYMENT
    webhook_proxy.down = False
    recover(settings)
    wait_until(
        lambda: paid_and_fulfilled_once(customer), timeout=30, what="paid after the store came back"
    )
    assert_store_invariants(caplog.records)
