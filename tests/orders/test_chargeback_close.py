"""After a chargeback: closing an order whose payment the bank took back ("Close: the money is
lost", `orders.services.review.close_lost_payment`): keys revoked, unshipped goods back in stock
once, the order cancelled, history, audit trail and the customer's email in their language;
a second click changes nothing; refused for an order whose payment was not reversed and for
roles without the right. And the gateway's early warning (CHARGEBACK_NOTIFICATION): the payment
stays paid, staff are alerted once however often it is reported."""

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.roles import ROLE_PERMISSIONS
from ipmart.core.models import OutboxMessage, StaffChange
from orders.models import (
    AttemptStatus,
    Fulfilment,
    LicenceKey,
    LicenceKeyStatus,
    Order,
    OrderEvent,
    OrderStatus,
    PaymentAttempt,
    Product,
)
from orders.services.checkout import expire_order
from orders.services.errors import ShopError
from orders.services.payments import apply_payment_status, handle_webhook
from orders.services.review import close_lost_payment
from tests.factories import (
    AddressFactory,
    PaymentAttemptFactory,
    ProductFactory,
    StaffFactory,
    UserFactory,
    cart_with,
    placed_order,
    staff_client,
)
from tests.orders.gateway_payloads import event, payment

pytestmark = pytest.mark.django_db

ALERT = "ipmart.core.tasks.send_staff_alert"


def _url(order) -> str:
    return reverse("admin:orders_order_close_lost", args=[order.pk])


def _order(capture, *, language="en"):
    """An order for 2 keyboards (unshipped), 1 mouse (shipped) and one licence, placed through
    the checkout (10 of each in stock), paid and fulfilled (its key issued)."""
    user = UserFactory(preferred_language=language)
    keyboard = ProductFactory(price_sen=20000, name="Keyboard")
    mouse = ProductFactory(price_sen=5000, name="Mouse")
    licence = ProductFactory(licence=True, keys=1, price_sen=10000, name="Office")
    order = placed_order(
        user,
        cart_with(user, (keyboard, 2), (mouse, 1), (licence, 1)),
        AddressFactory(user=user),
    )
    attempt = PaymentAttemptFactory(order=order, hosted_checkout_id="hc-1", returnmac="mac-1")
    with capture(execute=True):
        handle_webhook(event(attempt), key_id="k")
    order.lines.filter(product=mouse).update(shipped_at=timezone.now())
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID  # fulfilled, the keyboards wait to be shipped
    assert Fulfilment.objects.filter(order=order).count() == 1
    return order, attempt, keyboard, mouse, licence


def _charged_back(capture, attempt):
    with capture(execute=True):
        handle_webhook(event(attempt, "CHARGEBACKED"), key_id="k")
    order = Order.objects.get(pk=attempt.order_id)
    assert order.status == OrderStatus.NEEDS_REVIEW
    return order


def _state(order, *products) -> tuple:
    """Everything closing may change."""
    order.refresh_from_db()
    return (
        order.status,
        order.stock_released,
        [Product.objects.get(pk=product.pk).stock for product in products],
        sorted(LicenceKey.objects.filter(order_line__order=order).values_list("status", flat=True)),
        OrderEvent.objects.filter(order=order).count(),
        StaffChange.objects.count(),
        OutboxMessage.objects.count(),
        len(mail.outbox),
    )


@pytest.mark.parametrize(
    "language, subject, words",
    [
        (
            "en",
            "Order {number} cancelled: your bank reversed the payment",
            "The licence keys of this order no longer work.",
        ),
        (
            "ms",
            "Pesanan {number} dibatalkan: bank anda membatalkan bayaran",
            "Kunci lesen pesanan ini tidak lagi berfungsi.",
        ),
    ],
)
def test_the_store_manager_closes_a_charged_back_order_once(
    language, subject, words, django_capture_on_commit_callbacks
):
    # given a paid, fulfilled order whose payment the bank took back: under review
    order, attempt, keyboard, mouse, licence = _order(
        django_capture_on_commit_callbacks, language=language
    )
    order = _charged_back(django_capture_on_commit_callbacks, attempt)
    key = LicenceKey.objects.get(product=licence)
    assert key.status == LicenceKeyStatus.ISSUED
    assert [Product.objects.get(pk=p.pk).stock for p in (keyboard, mouse)] == [8, 9]
    manager, client = staff_client("store manager")
    mail.outbox.clear()
    # when the manager opens the order, then it offers the closing (and accepting is refused)
    change_page = client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert _url(order) in change_page.content.decode()
    # when the manager opens the confirmation page, then it says what closing does, changing
    # nothing
    before = _state(order, keyboard, mouse)
    page = client.get(_url(order)).content.decode()
    assert f"The bank took back payment {attempt.merchant_reference}" in page
    assert "1 licence key issued to the customer is revoked" in page
    assert "2 unshipped units go back in stock" in page
    assert 'value="Close: the money is lost"' in page
    assert _state(order, keyboard, mouse) == before
    # when the manager confirms
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_url(order), follow=True)
    # then the order is cancelled, its key revoked, the unshipped keyboards back in stock (the
    # shipped mouse stays with the customer); no refund is recorded
    assert response.redirect_chain == [(reverse("admin:orders_order_change", args=[order.pk]), 302)]
    assert (
        f"Order {order.number} closed: the payment is lost, its licence keys revoked."
        in response.content.decode()
    )
    order.refresh_from_db()
    assert (order.status, order.stock_released) == (OrderStatus.CANCELLED, True)
    assert (order.refunded_sen, order.refunds.count()) == (0, 0)
    key.refresh_from_db()
    assert (key.status, key.order_line.order_id) == (LicenceKeyStatus.REVOKED, order.pk)
    assert [Product.objects.get(pk=p.pk).stock for p in (keyboard, mouse)] == [10, 9]
    assert PaymentAttempt.objects.get(pk=attempt.pk).status == AttemptStatus.REVERSED
    # history and audit trail say who closed it and what it did
    cancelled = OrderEvent.objects.filter(order=order, kind="cancelled").get()
    assert (cancelled.actor, cancelled.message) == (
        manager,
        f"Payment {attempt.merchant_reference} lost to the bank's reversal: order closed; "
        "1 licence key(s) revoked, 2 unit(s) back in stock",
    )
    audit = StaffChange.objects.get(action="close lost payment")
    assert (audit.actor, audit.object_id, audit.changes) == (
        manager,
        str(order.pk),
        {
            "status": ["Under review", "Cancelled"],
            "licence_keys_revoked": ["", "1"],
            "stock_released": ["no", "yes"],
        },
    )
    # the customer is emailed once, in their language, through the outbox
    assert (
        OutboxMessage.objects.filter(
            handler="orders.tasks.send_order_email_task", args=[order.pk, "payment_reversed"]
        ).count()
        == 1
    )
    (email,) = mail.outbox
    assert email.to == [order.email]
    assert email.subject == subject.format(number=order.number)
    assert words in email.body
    assert key.key not in email.body
    # and their order page shows the key struck out, no longer usable
    customer = Client()
    customer.force_login(order.user)
    detail = customer.get(reverse("orders:detail", args=[order.number])).content.decode()
    assert key.key not in detail
    assert f"<del>{key.masked}</del>" in detail
    # and a second click (a stale page) gets a clear message and changes nothing
    after = _state(order, keyboard, mouse)
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(_url(order), follow=True)
    assert f"Order {order.number} is not under review (it is: Cancelled)." in (
        again.content.decode()
    )
    assert _state(order, keyboard, mouse) == after


def test_closing_an_order_whose_reservation_was_released_gives_nothing_back_twice(
    django_capture_on_commit_callbacks,
):
    # given an order that expired unpaid (its keyboards and key back in the pools), was paid
    # late (under review), then charged back
    user = UserFactory()
    keyboard = ProductFactory(price_sen=20000, name="Keyboard")
    licence = ProductFactory(licence=True, keys=1, price_sen=10000, name="Office")
    order = placed_order(
        user, cart_with(user, (keyboard, 2), (licence, 1)), AddressFactory(user=user)
    )
    attempt = PaymentAttemptFactory(order=order, hosted_checkout_id="hc-1", returnmac="mac-1")
    PaymentAttempt.objects.filter(pk=attempt.pk).update(status=AttemptStatus.EXPIRED)
    Order.objects.filter(pk=order.pk).update(reserved_until=timezone.now())
    assert expire_order(order) is True
    with django_capture_on_commit_callbacks(execute=True):
        apply_payment_status(attempt, payment=payment(attempt), source="webhook e-1")
        apply_payment_status(attempt, payment=payment(attempt, "CHARGEBACKED"), source="e-2")
    order.refresh_from_db()
    assert (order.status, order.stock_released) == (OrderStatus.NEEDS_REVIEW, True)
    assert Product.objects.get(pk=keyboard.pk).stock == 10
    # when staff close it
    with django_capture_on_commit_callbacks(execute=True):
        plan = close_lost_payment(order, acting_user=StaffFactory(role="store manager"))
    # then nothing goes back to stock or the key pool a second time
    assert (plan.keys_to_revoke, plan.restock) == (0, {})
    order.refresh_from_db()
    assert (order.status, order.stock_released) == (OrderStatus.CANCELLED, True)
    assert Product.objects.get(pk=keyboard.pk).stock == 10
    assert list(LicenceKey.objects.filter(product=licence).values_list("status", flat=True)) == [
        LicenceKeyStatus.AVAILABLE
    ]
    audit = StaffChange.objects.get(action="close lost payment")
    assert audit.changes == {"status": ["Under review", "Cancelled"]}


def test_an_order_whose_payment_was_not_reversed_cannot_be_closed_as_lost(
    django_capture_on_commit_callbacks,
):
    # given an order under review for a second capture (its paying payment still captured)
    order, attempt, keyboard, mouse, licence = _order(django_capture_on_commit_callbacks)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.NEEDS_REVIEW)
    order.refresh_from_db()
    manager = staff_client("store manager")[1]
    before = _state(order, keyboard, mouse)
    # when staff try to close it, then it is refused, naming what to do instead
    with pytest.raises(ShopError, match="was not reversed by the bank"):
        close_lost_payment(order, acting_user=StaffFactory(role="store manager"))
    change_page = manager.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert _url(order) not in change_page.content.decode()
    page = manager.get(_url(order)).content.decode()
    assert "Accept or refund the payment instead." in page
    assert 'value="Close: the money is lost"' not in page
    manager.post(_url(order))
    # and nothing changed
    assert _state(order, keyboard, mouse) == before


@pytest.mark.parametrize(
    "role",
    sorted(role for role, held in ROLE_PERMISSIONS.items() if "orders.change_order" not in held),
)
def test_other_roles_are_refused_the_close_page_and_its_confirmation(
    role, django_capture_on_commit_callbacks
):
    # given a charged-back order under review
    order, attempt, keyboard, mouse, _licence = _order(django_capture_on_commit_callbacks)
    order = _charged_back(django_capture_on_commit_callbacks, attempt)
    client = staff_client(role)[1]
    before = _state(order, keyboard, mouse)
    # when another role opens the page or posts the confirmation, then 403 in the admin's look
    for response in (client.get(_url(order)), client.post(_url(order))):
        assert response.status_code == 403
        assert 'class="refused"' in response.content.decode()
        assert "store manager" in response.content.decode()
    if "orders.view_order" in ROLE_PERMISSIONS[role]:
        page = client.get(reverse("admin:orders_order_change", args=[order.pk])).content
        assert _url(order) not in page.decode()
    # and nothing changed
    assert _state(order, keyboard, mouse) == before


# --- The gateway's early warning of a chargeback -------------------------------------------------


def _alerts(order) -> list[str]:
    queued = OutboxMessage.objects.filter(handler=ALERT).order_by("id")
    return [args[1] for args in queued.values_list("args", flat=True) if order.number in args[1]]


def test_a_chargeback_notification_keeps_the_payment_paid_and_alerts_staff_once(
    django_capture_on_commit_callbacks,
):
    # given a paid, fulfilled order and a store manager to alert
    manager = StaffFactory(role="store manager")
    order, attempt, keyboard, mouse, licence = _order(django_capture_on_commit_callbacks)
    mail.outbox.clear()
    events = OrderEvent.objects.filter(order=order).count()
    # when the gateway warns of a chargeback 20 times (new event ids), and a return that read
    # the gateway before the warning is applied late
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(20):
            handle_webhook(event(attempt, "CHARGEBACK_NOTIFICATION"), key_id="k")
        apply_payment_status(attempt, payment=payment(attempt), source="return")
    # then the payment stays paid and the order goes on, its key usable
    order.refresh_from_db()
    attempt.refresh_from_db()
    assert (order.status, attempt.status) == (OrderStatus.PAID, AttemptStatus.PAID)
    assert attempt.gateway_status == "CHARGEBACK_NOTIFICATION"
    assert attempt.chargeback_warned_at is not None
    assert LicenceKey.objects.get(product=licence).status == LicenceKeyStatus.ISSUED
    # one event in its history, one staff alert through the outbox, nothing to the customer
    (note,) = OrderEvent.objects.filter(order=order).order_by("id")[events:]
    assert note.kind == "note"
    assert note.message.startswith(
        f"Chargeback notified for payment {attempt.merchant_reference} (RM "
    )
    subject = f"Order {order.number}: chargeback notified by the bank"
    assert _alerts(order) == [subject]
    assert [(m.to, m.subject) for m in mail.outbox] == [
        ([manager.email], f"[IPmart alert] {subject}")
    ]


def test_a_chargeback_notification_reported_first_pays_the_order_and_warns_once(
    django_capture_on_commit_callbacks,
):
    # given an order awaiting payment
    user = UserFactory()
    licence = ProductFactory(licence=True, keys=1, price_sen=10000, name="Office")
    order = placed_order(user, cart_with(user, (licence, 1)), AddressFactory(user=user))
    attempt = PaymentAttemptFactory(order=order, hosted_checkout_id="hc-1", returnmac="mac-1")
    # when the first the store hears of its payment is the chargeback warning (the capture's
    # own event lost), twice
    with django_capture_on_commit_callbacks(execute=True):
        handle_webhook(event(attempt, "CHARGEBACK_NOTIFICATION"), key_id="k")
        handle_webhook(event(attempt, "CHARGEBACK_NOTIFICATION"), key_id="k")
    # then the order is paid and fulfilled once (still the store's money), and staff warned once
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED
    assert Fulfilment.objects.filter(order=order).count() == 1
    assert PaymentAttempt.objects.get(pk=attempt.pk).status == AttemptStatus.PAID
    assert _alerts(order) == [f"Order {order.number}: chargeback notified by the bank"]
    assert OrderEvent.objects.filter(order=order, kind="note").count() == 1
