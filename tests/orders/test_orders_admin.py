"""Orders in admin: a store manager marks a paid order's goods shipped (the customer is emailed
the tracking number); opening an order is written to the access log."""

from datetime import UTC, datetime

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.utils import timezone
from pytest_django.asserts import assertInHTML

from orders.models import Fulfilment, OrderEvent, OrderStatus, Refund, Shipment
from privacy.models import AccessAction, AccessLog
from tests.factories import (
    CustomerFactory,
    OrderFactory,
    OrderLineFactory,
    PaymentAttemptFactory,
    ProductFactory,
    StaffFactory,
    enrolled_in_mfa,
    staff_client,
)

pytestmark = pytest.mark.django_db

SHIPMENT = {"carrier": "Pos Laju", "tracking_number": "EP123456789MY"}


@pytest.fixture
def manager():
    return enrolled_in_mfa(StaffFactory(role="store manager"))


def _paid_order_waiting_for_shipping():
    """Paid, licence keys issued (the Fulfilment row exists), goods still to post."""
    customer = CustomerFactory(email="aina@example.com", full_name="Aina Rahman")
    order = OrderFactory(
        user=customer,
        status=OrderStatus.PAID,
        paid_at=timezone.now(),
        shipping_address="Aina Rahman\n1 Jalan Ampang\n50450 Kuala Lumpur\nMalaysia",
    )
    OrderLineFactory(order=order, product=ProductFactory(name="Keyboard"))
    Fulfilment.objects.create(order=order)
    return order


def _state(order) -> dict:
    order.refresh_from_db()
    return {
        "status": order.status,
        "shipments": Shipment.objects.filter(order=order).count(),
        "shipped_at": list(order.lines.values_list("shipped_at", flat=True)),
        "events": list(OrderEvent.objects.filter(order=order).values_list("kind", flat=True)),
    }


def _ship_url(order) -> str:
    return f"/admin/orders/order/{order.pk}/ship/"


def test_a_store_manager_ships_a_paid_order_and_the_customer_is_emailed(
    client, manager, django_capture_on_commit_callbacks
):
    # given
    order = _paid_order_waiting_for_shipping()
    client.force_login(manager)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_ship_url(order), SHIPMENT)
    # then
    assert response.status_code == 302
    assert response["Location"] == f"/admin/orders/order/{order.pk}/change/"
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Done."]
    shipment = Shipment.objects.get(order=order)
    assert (shipment.carrier, shipment.tracking_number, shipment.shipped_by) == (
        "Pos Laju",
        "EP123456789MY",
        manager,
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED
    line = order.lines.get()
    assert line.shipped_at == shipment.shipped_at
    event = order.events.get(kind="shipped")
    assert (event.actor, event.message) == (manager, "Pos Laju EP123456789MY")
    # and one email, to the address on the order, with the tracking number
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["aina@example.com"]
    assert message.subject == f"Order {order.number} is on its way"
    assert "Tracking number: EP123456789MY" in message.body
    assert "Carrier: Pos Laju" in message.body


def test_shipping_an_unpaid_order_is_refused_and_nothing_changes(
    client, manager, django_capture_on_commit_callbacks
):
    # given an order still awaiting payment
    order = OrderFactory(shipping_address="somewhere")
    OrderLineFactory(order=order, product=ProductFactory())
    before = _state(order)
    client.force_login(manager)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_ship_url(order), SHIPMENT)
    # then
    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == [
        "Only a paid order whose goods are waiting can be shipped."
    ]
    assert _state(order) == before
    assert before["status"] == OrderStatus.PENDING_PAYMENT
    assert mail.outbox == []


def test_shipping_a_paid_order_before_fulfilment_is_refused(client, manager):
    # given
    order = _paid_order_waiting_for_shipping()
    Fulfilment.objects.filter(order=order).delete()
    before = _state(order)
    client.force_login(manager)
    # when
    response = client.post(_ship_url(order), SHIPMENT)
    # then
    assert [str(m) for m in response.context["messages"]] == [
        "Only a paid order whose goods are waiting can be shipped."
    ]
    assert _state(order) == before


def test_shipping_twice_is_refused_the_second_time(
    client, manager, django_capture_on_commit_callbacks
):
    # given
    order = _paid_order_waiting_for_shipping()
    client.force_login(manager)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(_ship_url(order), SHIPMENT, follow=True)  # follow: the "Done." is read
    before = _state(order)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_ship_url(order), {"carrier": "DHL", "tracking_number": "SECOND"})
    # then
    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == [
        "Only a paid order whose goods are waiting can be shipped."
    ]
    assert _state(order) == before
    assert len(mail.outbox) == 1


def test_a_blank_tracking_number_is_a_form_error(client, manager):
    # given
    order = _paid_order_waiting_for_shipping()
    before = _state(order)
    client.force_login(manager)
    # when
    response = client.post(_ship_url(order), {"carrier": "Pos Laju", "tracking_number": "  "})
    # then
    assert response.status_code == 200
    assert response.context["form"].errors == {"tracking_number": ["This field is required."]}
    assert _state(order) == before


def test_a_support_agent_may_not_ship():
    # given
    order = _paid_order_waiting_for_shipping()
    before = _state(order)
    client = staff_client("support agent")[1]
    # when
    response = client.post(_ship_url(order), SHIPMENT)
    # then
    assert response.status_code == 403
    assert _state(order) == before
    assert mail.outbox == []


@pytest.mark.parametrize("who", ["anonymous", "customer"])
def test_anonymous_visitors_and_customers_are_sent_to_log_in(client, who):
    # given
    order = _paid_order_waiting_for_shipping()
    before = _state(order)
    if who == "customer":
        client.force_login(order.user)
    # when
    response = client.post(_ship_url(order), SHIPMENT)
    # then
    assert response.status_code == 302
    assert response["Location"] == f"/admin/login/?next={_ship_url(order)}"
    assert _state(order) == before


# --- the access log


def test_opening_an_order_in_admin_writes_one_access_log_row(client, manager):
    # given
    order = OrderFactory()
    OrderLineFactory(order=order)
    client.force_login(manager)
    before = AccessLog.objects.count()
    # when
    response = client.get(f"/admin/orders/order/{order.pk}/change/")
    # then
    assert response.status_code == 200
    assert AccessLog.objects.count() == before + 1
    row = AccessLog.objects.latest("id")
    assert (row.actor, row.action, row.target_type, row.target_id, row.subject, row.detail) == (
        manager,
        AccessAction.VIEWED,
        "orders.order",
        str(order.pk),
        order.user,
        f"admin order {order.number}",
    )
    assert row.actor_role == "store manager"


def test_a_support_agent_may_view_an_order_and_is_logged():
    # given
    order = OrderFactory()
    agent, client = staff_client("support agent")
    # when
    response = client.get(f"/admin/orders/order/{order.pk}/change/")
    # then
    assert response.status_code == 200
    assert list(AccessLog.objects.values_list("actor_id", "target_id")) == [
        (agent.pk, str(order.pk))
    ]


def test_the_order_list_in_admin_logs_the_customer_shown(client, manager):
    # given
    order = OrderFactory()
    client.force_login(manager)
    before = AccessLog.objects.count()
    # when / then the list shows the order's email: one row naming its customer
    assert client.get("/admin/orders/order/").status_code == 200
    assert AccessLog.objects.count() == before + 1
    assert list(AccessLog.objects.values_list("subject_id", "target_type", "detail")) == [
        (order.user_id, "orders.order", "admin list of orders")
    ]


def test_a_refused_view_of_an_order_writes_no_access_log_row():
    # given
    order = OrderFactory()
    client = staff_client("marketing manager")[1]
    before = AccessLog.objects.count()
    # when / then
    assert client.get(f"/admin/orders/order/{order.pk}/change/").status_code == 403
    assert AccessLog.objects.count() == before


def test_the_order_page_shows_its_payments_refunds_and_lines_in_ringgit(client, manager):
    # given a paid order of two units at RM 1,234.50 + 8%, paid, one unit refunded
    order = OrderFactory(status=OrderStatus.PAID, paid_at=timezone.now())
    OrderLineFactory(order=order, quantity=2, unit_price_sen=123450, tax_sen=19752)
    attempt = PaymentAttemptFactory(order=order, amount_sen=266652, status="paid")
    Refund.objects.create(
        order=order,
        attempt=attempt,
        amount_sen=133326,
        status="done",
        credit_note_number="CN-000007",
        reason="one too many",
    )
    client.force_login(manager)
    # when
    body = client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    # then every inline's money column is ringgit, under its own heading
    assertInHTML('<td class="field-amount"><p>RM 2,666.52</p></td>', body, count=1)
    assertInHTML('<td class="field-amount"><p>RM 1,333.26</p></td>', body, count=1)
    assertInHTML('<td class="field-unit_price"><p>RM 1,234.50</p></td>', body, count=1)
    assertInHTML('<td class="field-tax"><p>RM 197.52</p></td>', body, count=1)
    assertInHTML('<th class="column-amount">Amount</th>', body, count=2)


def test_an_order_events_name_in_admin_gives_its_time_in_the_stores_time_zone():
    # 13:20 UTC is 21:20 in Kuala Lumpur, as the admin's date columns show it
    event = OrderEvent(kind="paid", at=datetime(2026, 11, 29, 13, 20, tzinfo=UTC))
    assert str(event) == "paid 2026-11-29 21:20"
