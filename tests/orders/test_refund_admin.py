"""The refund page in admin (no gateway needed before the confirmation): offered only when the
viewer's role and the order's state allow it, the review step shows lines, units and the
amount in ringgit and changes nothing, and refused input keeps everything as it was. The
confirmation itself goes to the sandbox: tests/orders/test_refunds_contract.py and
tests/e2e/test_back_office_journey.py."""

import pytest
from django.urls import reverse
from django.utils import timezone

from ipmart.core.models import StaffChange
from orders.models import AttemptStatus, Fulfilment, Order, OrderStatus, Refund
from tests.factories import (
    OrderFactory,
    OrderLineFactory,
    PaymentAttemptFactory,
    ProductFactory,
    staff_client,
)

pytestmark = pytest.mark.django_db


def _paid_order(status=OrderStatus.FULFILLED) -> Order:
    """Two Office licences (RM 100.00 + 8% each) and one Antivirus (RM 50.00 + 8%)."""
    order = OrderFactory(status=status, paid_at=timezone.now(), subtotal_sen=25000, tax_sen=2000)
    OrderLineFactory(order=order, product=ProductFactory(licence=True, name="Office"), quantity=2)
    OrderLineFactory(
        order=order, product=ProductFactory(licence=True, name="Antivirus", price_sen=5000)
    )
    PaymentAttemptFactory(
        order=order,
        status=AttemptStatus.PAID,
        gateway_payment_id="000000123400000001230000100001",
        pays_for_order=True,
    )
    Fulfilment.objects.create(order=order)
    return order


def _refund_url(order) -> str:
    return reverse("admin:orders_order_refund", args=[order.pk])


def _change_page(client, order) -> str:
    return client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()


def test_refund_is_offered_to_store_managers_for_paid_orders_only():
    manager = staff_client("store manager")[1]
    paid = _paid_order()
    unpaid = OrderFactory()
    assert _refund_url(paid) in _change_page(manager, paid)
    assert _refund_url(unpaid) not in _change_page(manager, unpaid)
    # the page of an order whose state does not allow it sends back to the order, saying why
    response = manager.get(_refund_url(unpaid), follow=True)
    assert response.redirect_chain == [
        (reverse("admin:orders_order_change", args=[unpaid.pk]), 302)
    ]
    assert "This order&#x27;s state does not allow that any more." in response.content.decode()
    # a fully refunded order is not offered again
    Order.objects.filter(pk=paid.pk).update(status=OrderStatus.REFUNDED, refunded_sen=27000)
    assert _refund_url(paid) not in _change_page(manager, paid)


def test_roles_without_the_refund_permission_are_refused():
    paid = _paid_order()
    support = staff_client("support agent")[1]
    assert _refund_url(paid) not in _change_page(support, paid)
    response = support.post(_refund_url(paid), {"step": "review", "reason": "x"})
    assert response.status_code == 403
    assert Refund.objects.count() == 0


def test_the_review_step_shows_lines_units_and_amount_and_changes_nothing():
    manager = staff_client("store manager")[1]
    paid = _paid_order()
    office, antivirus = paid.lines.order_by("id")
    page = manager.get(_refund_url(paid)).content.decode()
    assert f'name="qty_{office.pk}"' in page and 'max="2"' in page
    changes = StaffChange.objects.count()
    response = manager.post(
        _refund_url(paid),
        {"step": "review", f"qty_{office.pk}": "1", f"qty_{antivirus.pk}": "0", "reason": "x"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Check the refund before confirming" in body
    assert "<td>Office</td><td>1 / 2</td><td>RM 8.00</td><td>RM 108.00</td>" in body
    assert "Confirm refund of RM 108.00" in body
    assert 'name="idempotency_key"' in body
    assert "Antivirus</td>" not in body
    assert Refund.objects.count() == 0 and StaffChange.objects.count() == changes
    assert Order.objects.get(pk=paid.pk).refunded_sen == 0


def test_too_many_units_are_refused_on_the_form_and_nothing_changes():
    manager = staff_client("store manager")[1]
    paid = _paid_order()
    office, _antivirus = paid.lines.order_by("id")
    response = manager.post(
        _refund_url(paid), {"step": "review", f"qty_{office.pk}": "3", "reason": "x"}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Ensure this value is less than or equal to 2." in body
    assert "Check the refund before confirming" not in body
    # nothing chosen at all
    response = manager.post(_refund_url(paid), {"step": "review", "reason": "x"}, follow=True)
    assert "Choose at least one unit to refund." in response.content.decode()
    assert Refund.objects.count() == 0
