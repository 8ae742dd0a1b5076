"""Resolving an order under review by accepting its payment (`orders.services.review`, the
"Accept the payment and fulfil" page in admin): accepted only for the payment that pays for the
order, captured for its total, with no duplicate still holding money; a released reservation
taken again or nothing changed; paid and fulfilled through the outbox once; history, audit
trail, the customer's usual email. Driven through the admin as the store manager, refused for
the other roles; two members of staff at once on PostgreSQL. Also the captured amount of a
payment under review (refunds add up to it) and the verification rule reading the paying card."""

import threading

import pytest
from django.core import mail
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.roles import ROLE_PERMISSIONS
from ipmart.core.models import OutboxMessage, StaffChange
from orders.holds import verification_triggers
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
from orders.services.payments import apply_payment_status
from orders.services.refunds import plan_refund
from orders.services.review import accept_payment
from tests.factories import (
    AddressFactory,
    LicenceKeyFactory,
    OrderFactory,
    OrderLineFactory,
    PaymentAttemptFactory,
    ProductFactory,
    StaffFactory,
    UserFactory,
    cart_with,
    placed_order,
    staff_client,
)
from tests.orders.gateway_payloads import payment

pytestmark = pytest.mark.django_db

FULFIL = "orders.tasks.fulfil_order_task"


def _url(order) -> str:
    return reverse("admin:orders_order_accept_payment", args=[order.pk])


def _late_paid(capture, *, keyboards: int = 2):
    """An order for `keyboards` keyboards (10 in stock) and one licence (its only key), placed
    through the checkout, expired unpaid (its reservation released), then paid after all at the
    gateway: under review. Returns (order, attempt, keyboard, licence)."""
    user = UserFactory()
    keyboard = ProductFactory(price_sen=20000, name="Keyboard")
    licence = ProductFactory(licence=True, keys=1, price_sen=10000, name="Office")
    order = placed_order(
        user, cart_with(user, (keyboard, keyboards), (licence, 1)), AddressFactory(user=user)
    )
    attempt = PaymentAttemptFactory(order=order, hosted_checkout_id="hc-1", returnmac="mac-1")
    PaymentAttempt.objects.filter(pk=attempt.pk).update(status=AttemptStatus.EXPIRED)
    Order.objects.filter(pk=order.pk).update(reserved_until=timezone.now())
    assert expire_order(order) is True
    with capture(execute=True):
        apply_payment_status(attempt, payment=payment(attempt), source="webhook e-1")
    order.refresh_from_db()
    assert (order.status, order.stock_released) == (OrderStatus.NEEDS_REVIEW, True)
    return order, attempt, keyboard, licence


def _state(order, keyboard, licence) -> tuple:
    """Everything accepting may change."""
    order.refresh_from_db()
    return (
        order.status,
        order.stock_released,
        Product.objects.get(pk=keyboard.pk).stock,
        sorted(LicenceKey.objects.filter(product=licence).values_list("status", "order_line")),
        OrderEvent.objects.filter(order=order).count(),
        Fulfilment.objects.filter(order=order).count(),
        OutboxMessage.objects.filter(handler=FULFIL).count(),
        StaffChange.objects.count(),
        len(mail.outbox),
    )


def test_the_store_manager_accepts_a_late_payment_and_the_order_is_fulfilled_once(
    django_capture_on_commit_callbacks,
):
    # given an expired order paid late, its stock and key back in the pools
    order, attempt, keyboard, licence = _late_paid(django_capture_on_commit_callbacks)
    manager, client = staff_client("store manager")
    assert Product.objects.get(pk=keyboard.pk).stock == 10
    change_page = client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert _url(order) in change_page.content.decode()
    # when the manager opens the page, then it says what accepting does and changes nothing
    before = _state(order, keyboard, licence)
    page = client.get(_url(order)).content.decode()
    assert f"Payment {attempt.merchant_reference} captured RM {order.total_sen / 100:,.2f}" in page
    assert "they are reserved for it again" in page
    assert 'value="Accept the payment and fulfil"' in page
    assert _state(order, keyboard, licence) == before
    # when the manager confirms
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_url(order), follow=True)
    # then the stock and key are taken again, the order is paid and fulfilled once
    assert response.redirect_chain == [(reverse("admin:orders_order_change", args=[order.pk]), 302)]
    body = response.content.decode()
    assert f"Payment {attempt.merchant_reference} accepted: order {order.number} is" in body
    order.refresh_from_db()
    assert (order.status, order.stock_released) == (OrderStatus.PAID, False)
    assert order.paid_at is not None
    assert Product.objects.get(pk=keyboard.pk).stock == 8
    key = LicenceKey.objects.get(product=licence)
    assert (key.status, key.order_line.order_id) == (LicenceKeyStatus.ISSUED, order.pk)
    assert Fulfilment.objects.filter(order=order).count() == 1
    assert OutboxMessage.objects.filter(handler=FULFIL, args=[order.pk]).count() == 1
    # the customer gets the usual paid email (with the key), once
    assert [message.to for message in mail.outbox] == [[order.email]]
    assert key.key in mail.outbox[0].body
    # history and audit trail say who accepted which payment
    paid = OrderEvent.objects.filter(order=order, kind="paid").get()
    assert (paid.actor, paid.message) == (
        manager,
        f"Payment {attempt.merchant_reference} (RM {order.total_sen / 100:,.2f}) accepted after "
        "review; stock and licence keys reserved again",
    )
    audit = StaffChange.objects.get(action="accept payment")
    assert (audit.actor, audit.object_id, audit.changes) == (
        manager,
        str(order.pk),
        {"status": ["Under review", "Paid, being prepared"], "stock_released": ["yes", "no"]},
    )
    # and a second click (a stale page) gets a clear message and changes nothing
    after = _state(order, keyboard, licence)
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(_url(order), follow=True)
    assert (
        f"Order {order.number} is not under review (it is: Paid, being prepared). Nothing was "
        "changed." in again.content.decode()
    )
    assert _state(order, keyboard, licence) == after


@pytest.mark.parametrize("short", ["goods", "keys"])
def test_accepting_is_refused_and_changes_nothing_when_stock_or_keys_ran_out(
    short, django_capture_on_commit_callbacks
):
    # given a late-paid order whose goods or key were sold meanwhile
    order, _attempt, keyboard, licence = _late_paid(django_capture_on_commit_callbacks)
    if short == "goods":
        Product.objects.filter(pk=keyboard.pk).update(stock=1)
    else:
        other = UserFactory()
        placed_order(other, cart_with(other, (licence, 1)), AddressFactory(user=other))
    client = staff_client("store manager")[1]
    before = _state(order, keyboard, licence)
    expected = (
        f"Not enough left to fulfil this order again: {'Keyboard' if short == 'goods' else 'Office'}"
        ". Nothing was changed: add stock or licence keys and try again, or refund the payment."
    )
    # when the manager opens the page, then it says so and offers no button
    page = client.get(_url(order)).content.decode()
    assert expected in page and 'value="Accept the payment and fulfil"' not in page
    # when a confirmation is posted all the same (a page opened before the sale)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_url(order), follow=True)
    # then it is refused with the same words and nothing changed
    assert expected in response.content.decode()
    assert _state(order, keyboard, licence) == before


def test_the_service_refuses_a_shortage_found_only_under_the_locks(
    django_capture_on_commit_callbacks,
):
    # given a late-paid order for 2 keyboards, and 1 left
    order, _attempt, keyboard, licence = _late_paid(django_capture_on_commit_callbacks)
    Product.objects.filter(pk=keyboard.pk).update(stock=1)
    before = _state(order, keyboard, licence)
    # when accepting, then refused; the key claimed meanwhile is given back with the rest
    with pytest.raises(ShopError, match="Not enough left to fulfil this order again: Keyboard"):
        accept_payment(order, acting_user=StaffFactory(role="store manager"))
    assert _state(order, keyboard, licence) == before


@pytest.mark.parametrize(
    ("captured", "words"),
    [
        ({"amount": 5000}, "The gateway captured RM 50.00 for this order&#x27;s RM 108.00"),
        ({"currency": "USD"}, "The gateway captured USD 108.00 for this order&#x27;s RM 108.00"),
    ],
    ids=["amount", "currency"],
)
def test_a_payment_of_another_amount_cannot_be_accepted_and_refunds_add_up_to_what_was_taken(
    captured, words, django_capture_on_commit_callbacks
):
    # given an order awaiting payment whose payment was captured for another amount or currency
    product = ProductFactory(licence=True, price_sen=10000)
    order = OrderFactory(subtotal_sen=10000, tax_sen=800)
    line = OrderLineFactory(order=order, product=product)
    LicenceKeyFactory(product=product, status=LicenceKeyStatus.RESERVED, order_line=line)
    attempt = PaymentAttemptFactory(order=order, hosted_checkout_id="hc-1", returnmac="mac-1")
    with django_capture_on_commit_callbacks(execute=True):
        apply_payment_status(attempt, payment=payment(attempt, **captured), source="webhook e-1")
    order.refresh_from_db()
    attempt.refresh_from_db()
    assert (order.status, attempt.status) == (OrderStatus.NEEDS_REVIEW, AttemptStatus.NEEDS_REVIEW)
    # then the payment records what the gateway took, and the order page shows it
    assert (attempt.captured_sen, attempt.captured_currency) == (
        captured.get("amount", 10800),
        captured.get("currency", "MYR"),
    )
    manager = staff_client("store manager")[1]
    change_page = manager.get(reverse("admin:orders_order_change", args=[order.pk])).content
    assert ("RM 50.00" if "amount" in captured else "USD 108.00") in change_page.decode()
    # when the manager opens the accept page, then it says why not and what to do instead
    page = manager.get(_url(order)).content.decode()
    assert words in page
    assert "Refund it at the gateway (or settle the difference there) instead." in page
    assert 'value="Accept the payment and fulfil"' not in page
    # and a posted confirmation changes nothing
    before = (
        Order.objects.get(pk=order.pk).status,
        OrderEvent.objects.filter(order=order).count(),
        StaffChange.objects.count(),
    )
    manager.post(_url(order))
    assert (
        Order.objects.get(pk=order.pk).status,
        OrderEvent.objects.filter(order=order).count(),
        StaffChange.objects.count(),
    ) == before
    # and a refund through the store gives back at most what was captured
    if "amount" in captured:
        with pytest.raises(ShopError, match=r"RM 108\.00 is more than the RM 50\.00 left"):
            plan_refund(order, lines=None)
    else:
        with pytest.raises(ShopError, match="captured this payment in USD, not in the order"):
            plan_refund(order, lines=None)


def test_a_payment_the_bank_took_back_cannot_be_accepted_or_refunded(
    django_capture_on_commit_callbacks,
):
    # given a licence order paid and fulfilled, whose payment the customer's bank took back
    product = ProductFactory(licence=True, price_sen=10000)
    order = OrderFactory(subtotal_sen=10000, tax_sen=800)
    line = OrderLineFactory(order=order, product=product)
    LicenceKeyFactory(product=product, status=LicenceKeyStatus.RESERVED, order_line=line)
    attempt = PaymentAttemptFactory(order=order, hosted_checkout_id="hc-1", returnmac="mac-1")
    with django_capture_on_commit_callbacks(execute=True):
        apply_payment_status(attempt, payment=payment(attempt), source="webhook e-1")
    with django_capture_on_commit_callbacks(execute=True):
        apply_payment_status(attempt, payment=payment(attempt, "CHARGEBACKED"), source="e-2")
    order.refresh_from_db()
    attempt.refresh_from_db()
    assert (order.status, attempt.status) == (OrderStatus.NEEDS_REVIEW, AttemptStatus.REVERSED)
    manager, client = staff_client("store manager")
    refusal = (
        f"The customer's bank took payment {attempt.merchant_reference} back (a chargeback): "
        "the money is no longer with the store, so there is nothing to refund or accept. "
        "Contest the chargeback at the gateway."
    )

    def state():
        order.refresh_from_db()
        return (
            order.status,
            list(LicenceKey.objects.filter(product=product).values_list("status", flat=True)),
            OrderEvent.objects.filter(order=order).count(),
            Fulfilment.objects.filter(order=order).count(),
            OutboxMessage.objects.filter(handler=FULFIL).count(),
            StaffChange.objects.count(),
            order.refunds.count(),
        )

    before = state()
    assert before[:2] == (OrderStatus.NEEDS_REVIEW, [LicenceKeyStatus.ISSUED])
    # when the manager opens the accept page, then it says why not and offers no button
    page = client.get(_url(order)).content.decode()
    assert refusal.replace("'", "&#x27;") in page
    assert 'value="Accept the payment and fulfil"' not in page
    # and neither a posted confirmation, the service, nor a refund changes anything
    client.post(_url(order))
    with pytest.raises(ShopError) as refused:
        accept_payment(order, acting_user=manager)
    assert str(refused.value) == refusal
    with pytest.raises(ShopError) as refused:
        plan_refund(order, lines=None)
    assert str(refused.value) == refusal
    assert state() == before


def test_a_duplicate_capture_is_accepted_only_after_its_refund_and_nothing_is_sent_again(
    django_capture_on_commit_callbacks,
):
    # given an order paid and fulfilled, then captured a second time (sent to review)
    product = ProductFactory(licence=True, price_sen=10000)
    order = OrderFactory(subtotal_sen=10000, tax_sen=800)
    line = OrderLineFactory(order=order, product=product)
    LicenceKeyFactory(product=product, status=LicenceKeyStatus.RESERVED, order_line=line)
    first = PaymentAttemptFactory(order=order, hosted_checkout_id="hc-1", returnmac="mac-1")
    second = PaymentAttemptFactory(order=order, hosted_checkout_id="hc-2", returnmac="mac-2")
    with django_capture_on_commit_callbacks(execute=True):
        apply_payment_status(first, payment=payment(first), source="webhook e-1")
    with django_capture_on_commit_callbacks(execute=True):
        apply_payment_status(second, payment=payment(second), source="webhook e-2")
    order.refresh_from_db()
    assert order.status == OrderStatus.NEEDS_REVIEW
    assert (Fulfilment.objects.filter(order=order).count(), len(mail.outbox)) == (1, 1)
    manager = staff_client("store manager")[1]
    # when the manager accepts while the duplicate still holds the money, then refused
    page = manager.get(_url(order)).content.decode()
    assert (
        f"Payment {second.merchant_reference} also captured RM 108.00 for this order. Refund it "
        f"at the gateway first (the order is paid by {first.merchant_reference}), then accept."
    ) in page
    manager.post(_url(order))
    assert Order.objects.get(pk=order.pk).status == OrderStatus.NEEDS_REVIEW
    # when the gateway reports the duplicate refunded, then accepting ends the review
    with django_capture_on_commit_callbacks(execute=True):
        apply_payment_status(second, payment=payment(second, "REFUNDED"), source="webhook e-3")
    outbox_before = OutboxMessage.objects.filter(handler=FULFIL).count()
    page = manager.get(_url(order)).content.decode()
    assert "The order was fulfilled before its review: it becomes “Completed” again" in page
    with django_capture_on_commit_callbacks(execute=True):
        manager.post(_url(order))
    # the order is completed again; nothing fulfilled or emailed a second time
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED
    assert OutboxMessage.objects.filter(handler=FULFIL).count() == outbox_before
    assert (Fulfilment.objects.filter(order=order).count(), len(mail.outbox)) == (1, 1)
    assert order.refunded_sen == 0 and not order.refunds.exists()
    last = OrderEvent.objects.filter(order=order).latest("id")
    assert (last.kind, last.message) == (
        "fulfilled",
        f"Payment {first.merchant_reference} (RM 108.00) accepted after review; the order was "
        "fulfilled before",
    )


def test_an_order_held_for_verification_before_its_review_is_held_again_without_a_new_email(
    django_capture_on_commit_callbacks,
):
    # given a high-risk licence paid (held for verification, the customer emailed once), then
    # captured a second time (review), that duplicate refunded at the gateway
    product = ProductFactory(licence=True, price_sen=10000, high_risk=True)
    order = OrderFactory(subtotal_sen=10000, tax_sen=800)
    line = OrderLineFactory(order=order, product=product)
    LicenceKeyFactory(product=product, status=LicenceKeyStatus.RESERVED, order_line=line)
    first = PaymentAttemptFactory(order=order, hosted_checkout_id="hc-1", returnmac="mac-1")
    second = PaymentAttemptFactory(order=order, hosted_checkout_id="hc-2", returnmac="mac-2")
    for attempt, status in ((first, "CAPTURED"), (second, "CAPTURED"), (second, "REFUNDED")):
        with django_capture_on_commit_callbacks(execute=True):
            apply_payment_status(attempt, payment=payment(attempt, status), source="webhook")
    order.refresh_from_db()
    assert (order.status, len(mail.outbox)) == (OrderStatus.NEEDS_REVIEW, 1)
    # when the manager accepts the payment
    with django_capture_on_commit_callbacks(execute=True):
        accept_payment(order, acting_user=StaffFactory(role="store manager"))
    # then the order goes through the hold rule again: held, its key not issued, no new email
    order.refresh_from_db()
    assert order.status == OrderStatus.ON_HOLD
    assert LicenceKey.objects.get(order_line=line).status == LicenceKeyStatus.RESERVED
    assert Fulfilment.objects.filter(order=order).count() == 0
    assert len(mail.outbox) == 1


def test_an_order_not_under_review_offers_no_accept_button():
    order = OrderFactory(status=OrderStatus.PAID, paid_at=timezone.now())
    manager = staff_client("store manager")[1]
    change_page = manager.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert _url(order) not in change_page.content.decode()
    assert "is not under review (it is: Paid, being prepared)" in (
        manager.get(_url(order)).content.decode()
    )


@pytest.mark.parametrize(
    "role",
    sorted(role for role, held in ROLE_PERMISSIONS.items() if "orders.change_order" not in held),
)
def test_other_roles_are_refused_the_page_and_the_confirmation(
    role, django_capture_on_commit_callbacks
):
    # given an order under review
    order, _attempt, keyboard, licence = _late_paid(django_capture_on_commit_callbacks)
    client = staff_client(role)[1]
    before = _state(order, keyboard, licence)
    # when another role opens the page or posts the confirmation, then 403 in the admin's look
    for response in (client.get(_url(order)), client.post(_url(order))):
        assert response.status_code == 403
        assert 'class="refused"' in response.content.decode()
        assert "store manager" in response.content.decode()
    # and the order page offers no button; nothing changed
    if "orders.view_order" in ROLE_PERMISSIONS[role]:
        page = client.get(reverse("admin:orders_order_change", args=[order.pk])).content
        assert _url(order) not in page.decode()
    assert _state(order, keyboard, licence) == before


def test_the_verification_rule_and_queue_read_the_card_of_the_payment_that_pays():
    # given an order paid with a card from its billing country and captured again with a card
    # from elsewhere (newer)
    order = OrderFactory(
        status=OrderStatus.ON_HOLD, paid_at=timezone.now(), billing_country="MY", subtotal_sen=100
    )
    OrderLineFactory(order=order, product=ProductFactory(price_sen=100))
    PaymentAttemptFactory(
        order=order,
        status=AttemptStatus.PAID,
        gateway_payment_id="p1",
        pays_for_order=True,
        card_country="DE",
    )
    PaymentAttemptFactory(
        order=order, status=AttemptStatus.PAID, gateway_payment_id="p2", card_country="US"
    )
    # then the rule weighs the paying card only
    assert verification_triggers(order) == ["card issued in DE, billing country MY"]
    # and the reviewer's queue shows it
    page = staff_client("verification reviewer")[1].get(
        reverse("admin:orders_orderawaitingverification_changelist")
    )
    body = page.content.decode()
    assert '<td class="field-card_country">DE</td>' in body
    assert '<td class="field-card_country">US</td>' not in body


@pytest.mark.django_db(transaction=True)
def test_two_members_of_staff_accepting_at_once_accept_once(postgres):
    # given a late-paid order under review (committed: each thread has its own connection)
    user = UserFactory()
    keyboard = ProductFactory(price_sen=20000, name="Keyboard", stock=10)
    licence = ProductFactory(licence=True, keys=1, price_sen=10000, name="Office")
    order = placed_order(
        user, cart_with(user, (keyboard, 2), (licence, 1)), AddressFactory(user=user)
    )
    attempt = PaymentAttemptFactory(order=order, hosted_checkout_id="hc-1", returnmac="mac-1")
    PaymentAttempt.objects.filter(pk=attempt.pk).update(status=AttemptStatus.EXPIRED)
    Order.objects.filter(pk=order.pk).update(reserved_until=timezone.now())
    assert expire_order(order) is True
    apply_payment_status(attempt, payment=payment(attempt), source="webhook e-1")
    managers = [StaffFactory(), StaffFactory()]
    barrier = threading.Barrier(2, timeout=60)
    lock = threading.Lock()
    accepted, refused, crashed = [], [], []

    def accept(manager):
        try:
            barrier.wait()
            plan = accept_payment(Order.objects.get(pk=order.pk), acting_user=manager)
            with lock:
                accepted.append(plan)
        except ShopError as error:
            with lock:
                refused.append(str(error))
        except BaseException as error:  # noqa: BLE001 — reported by the test, not swallowed
            with lock:
                crashed.append(error)
        finally:
            connection.close()

    # when both confirm at once
    threads = [threading.Thread(target=accept, args=[manager]) for manager in managers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then one accepted, the other was told; stock taken once, one fulfilment, one audit row
    assert crashed == []
    assert len(accepted) == 1
    assert refused == [
        f"Order {order.number} is not under review (it is: Paid, being prepared). Nothing was "
        "changed."
    ]
    order.refresh_from_db()
    assert order.status in (OrderStatus.PAID, OrderStatus.FULFILLED)
    assert Product.objects.get(pk=keyboard.pk).stock == 8
    assert LicenceKey.objects.filter(product=licence, order_line__order=order).count() == 1
    assert Fulfilment.objects.filter(order=order).count() <= 1
    assert OutboxMessage.objects.filter(handler=FULFIL, args=[order.pk]).count() == 1
    assert StaffChange.objects.filter(action="accept payment").count() == 1
    assert OrderEvent.objects.filter(order=order, kind="paid").count() == 1
