"""The store's payment rules, driven with gateway answers as the gateway sends them (no network:
the contract tests in test_contract*.py run the same paths against the real sandbox process)."""

import base64
import hashlib
import hmac
import json

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from ipmart.core.models import OutboxMessage
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
    WebhookEvent,
)
from orders.services.checkout import cancel_order, expire_order
from orders.services.errors import ShopError
from orders.services.fulfilment import fulfil_order
from orders.services.payments import (
    WebhookOutcome,
    apply_payment_status,
    handle_return,
    handle_webhook,
)
from orders.services.refunds import plan_refund
from tests.factories import (
    AddressFactory,
    LicenceKeyFactory,
    OrderFactory,
    OrderLineFactory,
    PaymentAttemptFactory,
    ProductFactory,
    UserFactory,
    cart_with,
    placed_order,
)
from tests.orders.gateway_payloads import event, payment

pytestmark = pytest.mark.django_db


@pytest.fixture
def licence_order():
    """An order awaiting payment for one licence whose key is reserved for it."""
    product = ProductFactory(licence=True, price_sen=10000)
    order = OrderFactory(subtotal_sen=10000, tax_sen=800)
    line = OrderLineFactory(order=order, product=product)
    LicenceKeyFactory(
        product=product, key="AAAAA-BBBBB-CCCCC", status=LicenceKeyStatus.RESERVED, order_line=line
    )
    attempt = PaymentAttemptFactory(order=order, hosted_checkout_id="hc-1", returnmac="mac-1")
    return order, attempt


def _snapshot(order):
    order.refresh_from_db()
    return (
        order.status,
        list(order.attempts.values_list("status", flat=True)),
        list(LicenceKey.objects.filter(order_line__order=order).values_list("status", flat=True)),
        Fulfilment.objects.filter(order=order).count(),
    )


def test_a_captured_payment_pays_fulfils_once_and_emails_the_key(
    licence_order, django_capture_on_commit_callbacks
):
    order, attempt = licence_order
    # when
    with django_capture_on_commit_callbacks(execute=True):
        outcome = handle_webhook(event(attempt), key_id="k")
    # then
    assert outcome == WebhookOutcome.APPLIED
    assert _snapshot(order) == (
        OrderStatus.FULFILLED,
        [AttemptStatus.PAID],
        [LicenceKeyStatus.ISSUED],
        1,
    )
    assert order.paid_at is not None
    assert len(mail.outbox) == 1
    assert "AAAAA-BBBBB-CCCCC" in mail.outbox[0].body
    assert mail.outbox[0].to == [order.email]
    # and fulfilling again does nothing
    assert fulfil_order(order) is False
    assert Fulfilment.objects.filter(order=order).count() == 1


def test_the_same_event_twice_is_applied_once(licence_order, django_capture_on_commit_callbacks):
    order, attempt = licence_order
    captured = event(attempt)
    with django_capture_on_commit_callbacks(execute=True):
        handle_webhook(captured, key_id="k")
    before = _snapshot(order)
    events_before = OrderEvent.objects.filter(order=order).count()
    # when
    with django_capture_on_commit_callbacks(execute=True):
        outcome = handle_webhook(captured, key_id="k")
    # then
    assert outcome == WebhookOutcome.DUPLICATE
    assert _snapshot(order) == before
    assert OrderEvent.objects.filter(order=order).count() == events_before
    assert WebhookEvent.objects.count() == 1
    assert len(mail.outbox) == 1


def test_states_only_move_forward_a_late_pending_does_not_unpay(
    licence_order, django_capture_on_commit_callbacks
):
    order, attempt = licence_order
    with django_capture_on_commit_callbacks(execute=True):
        handle_webhook(event(attempt, "CAPTURED"), key_id="k")
    before = _snapshot(order)
    # when older news arrives later
    with django_capture_on_commit_callbacks(execute=True):
        handle_webhook(event(attempt, "PENDING_APPROVAL"), key_id="k")
        handle_webhook(event(attempt, "REJECTED"), key_id="k")
    # then
    assert _snapshot(order) == before


def test_a_decline_then_a_successful_payment_in_the_same_checkout_ends_paid(
    licence_order, django_capture_on_commit_callbacks
):
    order, attempt = licence_order
    with django_capture_on_commit_callbacks(execute=True):
        handle_webhook(event(attempt, "REJECTED", payment_id="0000000001_1"), key_id="k")
    assert _snapshot(order)[:2] == (OrderStatus.PENDING_PAYMENT, [AttemptStatus.FAILED])
    # when
    with django_capture_on_commit_callbacks(execute=True):
        handle_webhook(event(attempt, "CAPTURED", payment_id="0000000001_2"), key_id="k")
    # then
    assert _snapshot(order) == (
        OrderStatus.FULFILLED,
        [AttemptStatus.PAID],
        [LicenceKeyStatus.ISSUED],
        1,
    )


@pytest.mark.parametrize(
    "mismatch", [{"amount": 10801}, {"currency": "USD"}], ids=["amount+1", "currency"]
)
def test_an_amount_or_currency_mismatch_goes_to_review_and_fulfils_nothing(
    licence_order, mismatch, django_capture_on_commit_callbacks
):
    order, attempt = licence_order
    # when
    with django_capture_on_commit_callbacks(execute=True):
        handle_webhook(event(attempt, "CAPTURED", **mismatch), key_id="k")
    # then
    assert _snapshot(order) == (
        OrderStatus.NEEDS_REVIEW,
        [AttemptStatus.NEEDS_REVIEW],
        [LicenceKeyStatus.RESERVED],
        0,
    )
    assert mail.outbox == []
    assert OrderEvent.objects.filter(order=order, kind="needs_review").count() == 1


def test_a_payment_captured_after_the_order_expired_goes_to_review(
    licence_order, django_capture_on_commit_callbacks
):
    order, attempt = licence_order
    order.status = OrderStatus.EXPIRED
    order.save()
    # when
    with django_capture_on_commit_callbacks(execute=True):
        apply_payment_status(attempt, payment=payment(attempt), source="test")
    # then
    assert _snapshot(order)[0] == OrderStatus.NEEDS_REVIEW
    assert Fulfilment.objects.filter(order=order).count() == 0


def test_an_event_for_an_unknown_payment_is_acknowledged_and_changes_nothing(licence_order):
    order, attempt = licence_order
    foreign = event(attempt)
    foreign["payment"]["paymentOutput"]["references"]["merchantReference"] = "SOMEONE-ELSE-1"
    before = _snapshot(order)
    # when
    outcome = handle_webhook(foreign, key_id="k")
    # then
    assert outcome == WebhookOutcome.UNKNOWN_REFERENCE
    assert _snapshot(order) == before


@pytest.mark.parametrize(
    "checkout_id, mac",
    [("hc-1", "wrong"), ("hc-1", ""), ("", "mac-1"), ("hc-other", "mac-1")],
    ids=["wrong MAC", "missing MAC", "missing checkout", "other checkout"],
)
def test_a_forged_return_is_refused_before_asking_the_gateway(licence_order, checkout_id, mac):
    order, attempt = licence_order
    before = _snapshot(order)
    # when (the gateway is not reachable in this test: asking it would raise)
    with override_settings(GATEWAY_ENDPOINT="http://127.0.0.1:1"):
        result = handle_return(hosted_checkout_id=checkout_id, returnmac=mac)
    # then
    assert result is None
    assert _snapshot(order) == before


# --- the webhook endpoint: signature on the raw body, through the SDK's helper


def _signed(body: bytes, *, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _post(client, body: bytes, *, signature: str | None, key_id: str | None):
    headers = {}
    if signature is not None:
        headers["HTTP_X_GCS_SIGNATURE"] = signature
    if key_id is not None:
        headers["HTTP_X_GCS_KEYID"] = key_id
    return client.post("/payments/webhook/", body, content_type="application/json", **headers)


def test_a_correctly_signed_webhook_is_applied(
    client, settings, licence_order, django_capture_on_commit_callbacks
):
    order, attempt = licence_order
    body = json.dumps(event(attempt)).encode()
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(
            client,
            body,
            signature=_signed(body, secret=settings.GATEWAY_WEBHOOK_SECRET),
            key_id=settings.GATEWAY_WEBHOOK_KEY_ID,
        )
    # then
    assert (response.status_code, response.content) == (200, b"applied")
    assert _snapshot(order)[0] == OrderStatus.FULFILLED


@pytest.mark.parametrize(
    "case",
    [
        "tampered body",
        "bad signature",
        "missing signature",
        "missing key id",
        "unknown key",
        "wrong apiVersion",
        "not JSON",
    ],
)
def test_a_webhook_not_provably_from_the_gateway_is_refused_and_changes_nothing(
    client, settings, licence_order, case
):
    order, attempt = licence_order
    payload = event(attempt)
    if case == "wrong apiVersion":
        payload["apiVersion"] = "v2"
    body = json.dumps(payload).encode() if case != "not JSON" else b"{not json"
    secret, key_id = settings.GATEWAY_WEBHOOK_SECRET, settings.GATEWAY_WEBHOOK_KEY_ID
    signature = _signed(body, secret=secret)
    if case == "tampered body":
        body = body.replace(b'"CAPTURED"', b'"CAPTURED" ', 1)
    if case == "bad signature":
        signature = _signed(body, secret="not-the-secret")
    if case == "missing signature":
        signature = None
    if case == "missing key id":
        key_id = None
    if case == "unknown key":
        key_id = "someone-elses-key"
    before = _snapshot(order)
    # when
    response = _post(client, body, signature=signature, key_id=key_id)
    # then
    assert response.status_code == 400
    assert _snapshot(order) == before
    assert WebhookEvent.objects.count() == 0


def test_the_webhook_endpoint_answers_the_gateways_verification_challenge(client):
    response = client.get("/payments/webhook/", HTTP_X_GCS_WEBHOOKS_ENDPOINT_VERIFICATION="abc123")
    assert (response.status_code, response.content) == (200, b"abc123")
    assert client.get("/payments/webhook/").status_code == 400
    assert client.put("/payments/webhook/").status_code == 405


# --- who may start a payment ----------------------------------------------------------------


def test_only_the_owner_can_start_paying_an_order(client, licence_order):
    """Anonymous: login; another customer and staff: 404. Nothing reaches the gateway (it is
    not reachable in this test), and no attempt is created."""
    from tests.factories import StaffFactory, UserFactory

    order, _attempt = licence_order
    url = f"/orders/{order.number}/pay/"
    # anonymous
    response = client.post(url)
    assert (response.status_code, response["Location"]) == (302, f"/accounts/login/?next={url}")
    # another customer, and a store manager who is not the owner
    for person in (UserFactory(), StaffFactory(role="store manager")):
        client.force_login(person)
        assert client.post(url).status_code == 404
    # a GET never starts a payment
    client.force_login(order.user)
    assert client.get(url).status_code == 405
    assert order.attempts.count() == 1


# --- concurrent deliveries of one event, with the customer's return (PostgreSQL) ----------------


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_copies_of_a_webhook_fulfil_once(
    postgres, django_capture_on_commit_callbacks
):
    import threading

    from django.db import connection

    product = ProductFactory(licence=True, price_sen=10000)
    order = OrderFactory(subtotal_sen=10000, tax_sen=800)
    line = OrderLineFactory(order=order, product=product)
    LicenceKeyFactory(product=product, status=LicenceKeyStatus.RESERVED, order_line=line)
    attempt = PaymentAttemptFactory(order=order, hosted_checkout_id="hc-race", returnmac="mac")
    captured = event(attempt)
    barrier = threading.Barrier(20)
    outcomes, errors = [], []

    def deliver():
        try:
            barrier.wait()
            outcomes.append(handle_webhook(captured, key_id="k"))
        except Exception as error:  # a failure must show, not vanish with the thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then one delivery applied it, the others were duplicates, and it was fulfilled once
    assert errors == []
    assert sorted(outcomes) == ["applied"] + ["duplicate"] * 19
    assert _snapshot(order) == (
        OrderStatus.FULFILLED,
        [AttemptStatus.PAID],
        [LicenceKeyStatus.ISSUED],
        1,
    )
    assert len(mail.outbox) == 1


def _fulfilled_order_captured_twice():
    """An order under review whose licence key was issued, paid by `first` (it pays for the
    order) and captured again by `second`: (order, first, second)."""
    product = ProductFactory(licence=True, price_sen=10000)
    order = OrderFactory(subtotal_sen=10000, tax_sen=800, status=OrderStatus.NEEDS_REVIEW)
    line = OrderLineFactory(order=order, product=product)
    LicenceKeyFactory(product=product, status=LicenceKeyStatus.ISSUED, order_line=line)
    first = PaymentAttemptFactory(
        order=order, status=AttemptStatus.PAID, gateway_payment_id="p1", pays_for_order=True
    )
    second = PaymentAttemptFactory(order=order, status=AttemptStatus.PAID, gateway_payment_id="p2")
    return order, first, second


def test_refunding_a_second_capture_at_the_gateway_takes_nothing_back_from_the_order():
    # given an order fulfilled by one payment and captured a second time (sent to review)
    order, first, second = _fulfilled_order_captured_twice()
    # when the gateway reports the second payment refunded (its back office)
    apply_payment_status(second, payment=payment(second, "REFUNDED"), source="webhook e-1")
    # then the first payment still pays for the order: no refund, the key stays the customer's
    status, attempts, keys, _fulfilments = _snapshot(order)
    assert (status, sorted(attempts), keys) == (
        OrderStatus.NEEDS_REVIEW,
        [AttemptStatus.PAID, AttemptStatus.REFUNDED],
        [LicenceKeyStatus.ISSUED],
    )
    assert not order.refunds.exists() and order.refunded_sen == 0
    note = OrderEvent.objects.filter(order=order).latest("id")
    assert (note.kind, note.message) == (
        "note",
        "RM 108.00 refunded at the gateway; another payment still pays for the order, nothing "
        f"taken back: {second.merchant_reference} via webhook e-1",
    )
    assert first.refunds.count() == 0


# --- refunds the gateway reports on orders that never counted as paid -----------------------


@pytest.fixture
def unpaid_goods_and_licence():
    """An order awaiting payment for 2 keyboards (10 in stock) and one licence (its only key
    reserved), placed through the checkout, with one attempt at the gateway."""
    user = UserFactory()
    keyboard = ProductFactory(price_sen=20000, name="Keyboard")
    licence = ProductFactory(licence=True, keys=1, price_sen=10000, name="Office")
    order = placed_order(
        user, cart_with(user, (keyboard, 2), (licence, 1)), AddressFactory(user=user)
    )
    attempt = PaymentAttemptFactory(order=order, hosted_checkout_id="hc-9", returnmac="mac-9")
    return order, attempt, keyboard, licence


def _stock_and_keys(keyboard, licence) -> tuple:
    return (
        Product.objects.get(pk=keyboard.pk).stock,
        list(LicenceKey.objects.filter(product=licence).values_list("status", "order_line")),
    )


@pytest.mark.parametrize("closed_by", ["cancel", "expiry"])
def test_a_late_payment_refunded_at_the_gateway_puts_goods_back_in_stock_once(
    unpaid_goods_and_licence, closed_by, django_capture_on_commit_callbacks
):
    # given an order closed unpaid (its reservation released), whose abandoned checkout was
    # paid after all (the order went to review)
    order, attempt, keyboard, licence = unpaid_goods_and_licence
    PaymentAttempt.objects.filter(pk=attempt.pk).update(status=AttemptStatus.EXPIRED)
    if closed_by == "cancel":
        cancel_order(order, acting_user=order.user)
    else:
        Order.objects.filter(pk=order.pk).update(reserved_until=timezone.now())
        assert expire_order(order) is True
    assert _stock_and_keys(keyboard, licence) == (10, [(LicenceKeyStatus.AVAILABLE, None)])
    with django_capture_on_commit_callbacks(execute=True):
        apply_payment_status(attempt, payment=payment(attempt), source="webhook e-1")
    assert _snapshot(order)[0] == OrderStatus.NEEDS_REVIEW
    # when the gateway reports that payment refunded
    with django_capture_on_commit_callbacks(execute=True):
        apply_payment_status(attempt, payment=payment(attempt, "REFUNDED"), source="webhook e-2")
    # then the order is refunded (a credit note) and nothing went back a second time
    order.refresh_from_db()
    assert (order.status, order.refunded_sen) == (OrderStatus.REFUNDED, order.total_sen)
    assert list(order.refunds.values_list("credit_note_number", flat=True)) == ["CN-000001"]
    assert _stock_and_keys(keyboard, licence) == (10, [(LicenceKeyStatus.AVAILABLE, None)])


def test_a_never_paid_order_refunded_at_the_gateway_releases_its_reservation(
    unpaid_goods_and_licence, django_capture_on_commit_callbacks
):
    # given an order awaiting payment whose payment the gateway refunded before the store
    # heard of its capture (the capture webhook is late or lost)
    order, attempt, keyboard, licence = unpaid_goods_and_licence
    assert _stock_and_keys(keyboard, licence)[0] == 8
    # when
    with django_capture_on_commit_callbacks(execute=True):
        apply_payment_status(attempt, payment=payment(attempt, "REFUNDED"), source="webhook e-1")
    # then nothing stays reserved, the order is refunded with its history, no credit note
    order.refresh_from_db()
    assert (order.status, order.stock_released, order.refunded_sen) == (
        OrderStatus.REFUNDED,
        True,
        0,
    )
    assert _stock_and_keys(keyboard, licence) == (10, [(LicenceKeyStatus.AVAILABLE, None)])
    assert not order.refunds.exists() and Fulfilment.objects.filter(order=order).count() == 0
    last = OrderEvent.objects.filter(order=order).latest("id")
    assert (last.kind, last.message) == (
        "refunded",
        f"RM {order.total_sen / 100:.2f} refunded at the gateway before the order counted as "
        f"paid; its reservation released: {attempt.merchant_reference} via webhook e-1",
    )
    # and the capture reported late changes nothing
    before = (_snapshot(order), _stock_and_keys(keyboard, licence))
    with django_capture_on_commit_callbacks(execute=True):
        apply_payment_status(attempt, payment=payment(attempt), source="webhook e-0")
    assert (_snapshot(order), _stock_and_keys(keyboard, licence)) == before


# --- an order captured twice: the payment that pays for it --------------------------------


@pytest.mark.parametrize("duplicate_created", ["after", "before"])
def test_refunds_of_an_order_paid_twice_target_the_payment_that_paid_it(
    licence_order, duplicate_created, django_capture_on_commit_callbacks
):
    # given an order paid by one checkout and captured again by another (created before or
    # after it: which one pays is the order of capture, not of creation)
    order, first = licence_order
    other = PaymentAttemptFactory(order=order, hosted_checkout_id="hc-2", returnmac="mac-2")
    paying, duplicate = (first, other) if duplicate_created == "after" else (other, first)
    with django_capture_on_commit_callbacks(execute=True):
        apply_payment_status(paying, payment=payment(paying), source="webhook e-1")
        apply_payment_status(duplicate, payment=payment(duplicate), source="webhook e-2")
    order.refresh_from_db()
    assert order.status == OrderStatus.NEEDS_REVIEW
    # when a refund of the order is planned, then it refunds the payment that paid for it
    assert plan_refund(order, lines=None).attempt == paying
    assert list(order.attempts.filter(pays_for_order=True)) == [paying]
    review = OrderEvent.objects.filter(order=order, kind="needs_review").latest("id")
    assert review.message == (
        f"Another payment captured for an order already paid: "
        f"{duplicate.merchant_reference} via webhook e-2 (the order is paid by "
        f"{paying.merchant_reference}; refund this one at the gateway)"
    )


def test_refunding_the_paying_capture_while_a_duplicate_holds_the_money_takes_nothing_back():
    # given an order fulfilled by one payment and captured a second time (sent to review)
    order, first, second = _fulfilled_order_captured_twice()
    # when the gateway reports the paying one refunded (its back office picked the wrong one)
    apply_payment_status(first, payment=payment(first, "REFUNDED"), source="webhook e-1")
    # then the duplicate now pays for the order: nothing taken back, staff told
    status, attempts, keys, _fulfilments = _snapshot(order)
    assert (status, sorted(attempts), keys) == (
        OrderStatus.NEEDS_REVIEW,
        [AttemptStatus.PAID, AttemptStatus.REFUNDED],
        [LicenceKeyStatus.ISSUED],
    )
    assert not order.refunds.exists() and order.refunded_sen == 0
    assert list(order.attempts.filter(pays_for_order=True)) == [second]
    assert plan_refund(order, lines=None).attempt == second
    review = OrderEvent.objects.filter(order=order).latest("id")
    assert (review.kind, review.message) == (
        "needs_review",
        f"RM 108.00 refunded at the gateway; the duplicate payment {second.merchant_reference} "
        f"now pays for the order, nothing taken back: {first.merchant_reference} via webhook e-1",
    )


# --- a chargeback or reversal after the capture ---------------------------------------------

ALERT = "ipmart.core.tasks.send_staff_alert"


def _alerts(order) -> list[str]:
    """The subjects of the staff alerts queued about `order`."""
    queued = OutboxMessage.objects.filter(handler=ALERT).order_by("id")
    return [args[1] for args in queued.values_list("args", flat=True) if order.number in args[1]]


def _reviews(order) -> list[str]:
    return list(
        OrderEvent.objects.filter(order=order, kind="needs_review")
        .order_by("id")
        .values_list("message", flat=True)
    )


def test_a_chargeback_after_fulfilment_goes_to_review_once_however_often_it_is_reported(
    licence_order, django_capture_on_commit_callbacks
):
    # given an order paid and fulfilled, its key issued
    order, attempt = licence_order
    with django_capture_on_commit_callbacks(execute=True):
        handle_webhook(event(attempt), key_id="k")
    assert _snapshot(order)[0] == OrderStatus.FULFILLED
    chargeback = event(attempt, "CHARGEBACKED")
    # when the gateway sends the chargeback 100 times
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = [handle_webhook(chargeback, key_id="k") for _ in range(100)]
    # then it was applied once: the order is under review, the payment reversed, the key kept
    assert outcomes == [WebhookOutcome.APPLIED] + [WebhookOutcome.DUPLICATE] * 99
    assert _snapshot(order) == (
        OrderStatus.NEEDS_REVIEW,
        [AttemptStatus.REVERSED],
        [LicenceKeyStatus.ISSUED],
        1,
    )
    reference = attempt.merchant_reference
    assert _reviews(order) == [
        f"Payment {reference} CHARGEBACKED (RM 108.00) after it was paid: the bank took the "
        "money back. Order was fulfilled; 1 licence key(s) issued, kept. Contest it at the "
        f"gateway. {reference} via webhook {chargeback['id']}"
    ]
    subject = f"Order {order.number}: payment taken back by the bank (CHARGEBACKED)"
    assert _alerts(order) == [subject]
    assert order.refunds.count() == 0
    assert len(mail.outbox) == 1  # the key email; nothing to the customer about the chargeback
    # when newer copies (new event ids) and stale older statuses arrive after it
    before = (_snapshot(order), _reviews(order), OrderEvent.objects.filter(order=order).count())
    with django_capture_on_commit_callbacks(execute=True):
        for status in ["REVERSED", "CHARGEBACKED", "CAPTURED", "REFUNDED", "PENDING_APPROVAL"]:
            handle_webhook(event(attempt, status), key_id="k")
        # a return or reconciliation that read the gateway before the chargeback, applied late
        apply_payment_status(
            attempt,
            payment=payment(attempt, "CAPTURED"),
            checkout_status="PAYMENT_CREATED",
            source="return",
        )
    # then nothing clears or repeats it: no second alert, no refund, no event
    assert (
        _snapshot(order),
        _reviews(order),
        OrderEvent.objects.filter(order=order).count(),
    ) == before
    assert _alerts(order) == [subject]
    assert order.refunds.count() == 0


@pytest.mark.parametrize(
    "status, attempt_status, shipped, words",
    [
        (OrderStatus.PAID, AttemptStatus.PAID, False, "Order was paid; no licence key issued."),
        (OrderStatus.ON_HOLD, AttemptStatus.PAID, False, "Order was on_hold; no licence key"),
        (
            OrderStatus.FULFILLED,
            AttemptStatus.PAID,
            True,
            "Order was fulfilled; no licence key issued; goods shipped.",
        ),
        (OrderStatus.REFUNDED, AttemptStatus.REFUNDED, True, "after it was refunded"),
        (OrderStatus.NEEDS_REVIEW, AttemptStatus.NEEDS_REVIEW, False, "Order was needs_review"),
    ],
)
def test_a_reversal_sends_the_order_to_review_whatever_its_state(
    status, attempt_status, shipped, words
):
    # given an order of goods in that state, paid by a captured payment
    product = ProductFactory(price_sen=10000)
    order = OrderFactory(subtotal_sen=10000, tax_sen=1000, status=status)
    OrderLineFactory(order=order, product=product, shipped_at=timezone.now() if shipped else None)
    attempt = PaymentAttemptFactory(
        order=order, status=attempt_status, gateway_payment_id="p1", pays_for_order=True
    )
    # when the gateway reports it reversed
    apply_payment_status(attempt, payment=payment(attempt, "REVERSED"), source="webhook e-9")
    # then the order is under review (fulfilment and shipping act only on paid orders), staff
    # are alerted once, and the history says what the customer already has
    order.refresh_from_db()
    attempt.refresh_from_db()
    assert (order.status, attempt.status) == (OrderStatus.NEEDS_REVIEW, AttemptStatus.REVERSED)
    assert attempt.gateway_status == "REVERSED"
    (review,) = _reviews(order)
    assert f"Payment {attempt.merchant_reference} REVERSED (RM 110.00)" in review
    assert words in review
    assert _alerts(order) == [f"Order {order.number}: payment taken back by the bank (REVERSED)"]
    with pytest.raises(ShopError, match="nothing to refund or accept"):
        plan_refund(order, lines=None)


def test_a_reversal_reported_before_the_capture_leaves_the_order_unpaid_under_review(
    licence_order, django_capture_on_commit_callbacks
):
    # given an order awaiting payment; the gateway's events arrive out of order
    order, attempt = licence_order
    with django_capture_on_commit_callbacks(execute=True):
        handle_webhook(event(attempt, "CHARGEBACKED"), key_id="k")
        # when the capture that came before it arrives after it
        handle_webhook(event(attempt, "CAPTURED"), key_id="k")
    # then nothing is fulfilled or paid: the order is under review, its key still reserved
    assert _snapshot(order) == (
        OrderStatus.NEEDS_REVIEW,
        [AttemptStatus.REVERSED],
        [LicenceKeyStatus.RESERVED],
        0,
    )
    assert order.paid_at is None
    assert len(_reviews(order)) == 1
    assert "after it was created" in _reviews(order)[0]
    assert _alerts(order) == [
        f"Order {order.number}: payment taken back by the bank (CHARGEBACKED)"
    ]
    assert mail.outbox == []
