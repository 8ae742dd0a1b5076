"""The gateway forgets a checkout (the sandbox restarts mid-checkout, so it answers 404
UNKNOWN_HOSTED_CHECKOUT): the attempt is closed as abandoned, the customer can pay again at once
or cancel, and the reservation expires as usual (issue 6, point 2)."""

import pytest
from django.utils import timezone

from orders.models import AttemptStatus, LicenceKeyStatus, Order, OrderStatus
from orders.tasks import reconcile_payments_task
from tests.faults.invariants import assert_store_invariants
from tests.orders.conftest import APPROVED, HostedPage, wait_until
from tests.orders.test_contract import Customer, paid_and_fulfilled_once

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_pay_after_the_gateway_forgot_the_checkout_opens_a_new_one_and_pays(
    client, own_sandbox, caplog
):
    customer = Customer(client, own_sandbox)
    first = customer.start_payment()
    assert first.open().status_code == 200
    # when the gateway restarts and forgets the checkout
    own_sandbox.restart()
    assert HostedPage(first.url).open().status_code == 404  # the old page is dead
    # then "Pay" sends the customer to a new, live checkout at once
    second = customer.start_payment()
    assert second.url != first.url
    assert customer.attempts() == [AttemptStatus.EXPIRED, AttemptStatus.CREATED]
    customer.come_back(second.pay(APPROVED))
    wait_until(lambda: paid_and_fulfilled_once(customer), what="paid and fulfilled once")
    assert customer.attempts() == [AttemptStatus.EXPIRED, AttemptStatus.PAID]
    assert customer.order.events.filter(message__contains="no longer knows").count() == 1
    assert_store_invariants(caplog.records)


def test_cancel_after_the_gateway_forgot_the_checkout_releases_the_reservation(
    client, own_sandbox, caplog
):
    customer = Customer(client, own_sandbox)
    customer.start_payment()
    own_sandbox.restart()
    # when the customer cancels
    response = client.post(f"/orders/{customer.order.number}/cancel/", follow=True)
    # then the order is cancelled and the key is back in the pool
    assert response.status_code == 200
    assert "Your order was cancelled." in response.content.decode()
    assert customer.refresh().status == OrderStatus.CANCELLED
    assert customer.attempts() == [AttemptStatus.EXPIRED]
    assert customer.keys() == []
    assert customer.product.licence_keys.filter(status=LicenceKeyStatus.AVAILABLE).count() == 2
    assert_store_invariants(caplog.records)


def test_reconciliation_closes_a_forgotten_checkout_and_the_reservation_expires(
    client, own_sandbox, settings, caplog
):
    customer = Customer(client, own_sandbox)
    customer.start_payment()
    own_sandbox.restart()
    # when the reconciliation runs after the reservation time is over
    settings.PAYMENT_RECONCILE_AFTER_MINUTES = 0
    Order.objects.filter(pk=customer.order.pk).update(reserved_until=timezone.now())
    assert reconcile_payments_task() == {"checked": 1, "expired": 1}
    # then the attempt is closed and the reservation released
    assert customer.refresh().status == OrderStatus.EXPIRED
    assert customer.attempts() == [AttemptStatus.EXPIRED]
    assert customer.keys() == []
    assert_store_invariants(caplog.records)
