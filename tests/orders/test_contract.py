"""Contract tests: the store (live server, real HTTP) against the real payment sandbox process,
through the official SDK, for every failure case in DESIGN.md ("Payments").

The fixtures `store`, `store_sandbox` and `webhook_proxy` are in tests/store_gateway.py."""

from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.utils import timezone

from orders.models import (
    AttemptStatus,
    Fulfilment,
    LicenceKey,
    LicenceKeyStatus,
    Order,
    OrderStatus,
    PaymentAttempt,
    Product,
    WebhookEvent,
)
from orders.services.checkout import place_order
from privacy.models import Disclosure
from tests.factories import AddressFactory, ProductFactory, UserFactory, cart_with
from tests.orders.conftest import (
    APPROVED,
    DECLINED,
    PENDING,
    HostedPage,
    wait_until,
)

pytestmark = [pytest.mark.django_db(transaction=True)]


class Customer:
    """A customer with an order awaiting payment for one licence (key reserved)."""

    def __init__(self, client, store, *, product: Product | None = None):
        self.client = client
        self.store = store
        self.user = UserFactory()
        self.address = AddressFactory(user=self.user)
        self.product = product or ProductFactory(licence=True, keys=2, price_sen=12345)
        self.order = place_order(
            self.user,
            cart=cart_with(self.user, (self.product, 1)),
            billing_address=self.address,
            shipping_address=None,
        )
        client.force_login(self.user)

    def start_payment(self) -> HostedPage:
        response = self.client.post(f"/orders/{self.order.number}/pay/", SERVER_NAME="127.0.0.1")
        assert response.status_code == 302, response.content[:500]
        assert response["Location"].startswith("http://127.0.0.1:"), response["Location"]
        return HostedPage(response["Location"])

    def come_back(self, gateway_answer):
        """Follow the hosted page's 302 back to the store, as the browser would."""
        assert gateway_answer.status_code == 302, gateway_answer.text[:500]
        parts = urlsplit(gateway_answer.headers["Location"])
        assert parts.path == "/payments/return/"
        return self.client.get(f"{parts.path}?{parts.query}")

    def refresh(self) -> Order:
        self.order.refresh_from_db()
        return self.order

    def attempts(self) -> list[str]:
        return list(self.order.attempts.order_by("created_at").values_list("status", flat=True))

    def keys(self) -> list[str]:
        return list(
            LicenceKey.objects.filter(order_line__order=self.order).values_list("status", flat=True)
        )

    def fulfilments(self) -> int:
        return Fulfilment.objects.filter(order=self.order).count()


@pytest.fixture
def customer(client, store):
    return Customer(client, store)


def one_email(customer) -> bool:
    """The key email goes out after the fulfilment commits, possibly in the server's thread."""
    wait_until(lambda: mail.outbox, what="the key email")
    return [m.to for m in mail.outbox] == [[customer.user.email]]


def paid_and_fulfilled_once(customer) -> bool:
    order = customer.refresh()
    return order.status == OrderStatus.FULFILLED and customer.fulfilments() == 1


def control(sandbox, page: HostedPage, **flags):
    checkout_id = urlsplit(page.url).path.rsplit("/", 1)[-1]
    answer = sandbox.control("POST", f"checkouts/{checkout_id}", flags)
    assert answer.status_code == 200, answer.text
    return checkout_id


# --- 1. the happy path, the return and the webhook in either order ---------------------------


def test_approved_card_pays_fulfils_once_and_emails_the_key(customer):
    page = customer.start_payment()
    response = customer.come_back(page.pay(APPROVED))
    assert response.status_code == 302
    assert response["Location"] == f"/orders/{customer.order.number}/"
    wait_until(lambda: paid_and_fulfilled_once(customer), what="paid and fulfilled")
    # the webhooks (created, captured) arrive too and change nothing more
    wait_until(lambda: WebhookEvent.objects.filter(result="applied").count() >= 2, what="webhooks")
    assert customer.fulfilments() == 1
    assert customer.keys() == [LicenceKeyStatus.ISSUED]
    assert one_email(customer)
    # the customer sees the key on the order page
    key = LicenceKey.objects.get(order_line__order=customer.order).key
    assert key in customer.client.get(f"/orders/{customer.order.number}/").content.decode()
    # and the gateway got only what the disclosure register says, once
    assert (
        Disclosure.objects.filter(subject=customer.user, reference=customer.order.number).count()
        == 1
    )


def test_return_before_webhook_then_the_webhooks_change_nothing(customer, store_sandbox):
    page = customer.start_payment()
    checkout_id = control(store_sandbox, page, webhook="drop")
    customer.come_back(page.pay(APPROVED))
    wait_until(lambda: paid_and_fulfilled_once(customer), what="paid and fulfilled once")
    # when the dropped events are delivered after all
    for event in store_sandbox.events(checkout_id):
        store_sandbox.control("POST", f"events/{event['id']}/redeliver")
    wait_until(lambda: WebhookEvent.objects.count() >= 2, what="redelivered webhooks")
    wait_until(lambda: paid_and_fulfilled_once(customer), what="paid and fulfilled once")
    assert one_email(customer)


def test_paid_but_never_returned_is_paid_by_the_webhook_alone(customer, store_sandbox):
    page = customer.start_payment()
    control(store_sandbox, page, **{"return": "skip"})
    answer = page.pay(APPROVED)
    assert answer.status_code == 200  # "you can close this window": no way back to the store
    wait_until(lambda: paid_and_fulfilled_once(customer), what="paid by webhook")
    assert one_email(customer)
    # a later visit shows it paid
    assert (
        b"Your order is complete."
        in customer.client.get(f"/orders/{customer.order.number}/").content
    )


def test_webhook_before_return_then_the_return_changes_nothing(customer):
    page = customer.start_payment()
    answer = page.pay(APPROVED)
    wait_until(lambda: paid_and_fulfilled_once(customer), what="paid by webhook")
    customer.come_back(answer)
    wait_until(lambda: paid_and_fulfilled_once(customer), what="paid and fulfilled once")
    assert one_email(customer)


# --- 2–4. decline, decline then success, cancel -------------------------------------------


def test_declined_payment_keeps_the_order_and_a_retry_succeeds(customer, store_sandbox):
    page = customer.start_payment()
    control(store_sandbox, page, attempts=1)
    response = customer.come_back(page.pay(DECLINED))
    assert customer.refresh().status == OrderStatus.PENDING_PAYMENT
    assert customer.attempts() == [AttemptStatus.FAILED]
    assert customer.keys() == [LicenceKeyStatus.RESERVED]
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("declined" in m for m in messages), messages
    # when the customer tries again with a good card
    second = customer.start_payment()
    assert second.url != page.url
    customer.come_back(second.pay(APPROVED))
    wait_until(lambda: paid_and_fulfilled_once(customer), what="paid and fulfilled once")
    assert customer.attempts() == [AttemptStatus.FAILED, AttemptStatus.PAID]


def test_decline_then_success_on_the_same_hosted_page_ends_paid(customer):
    page = customer.start_payment()
    first = page.pay(DECLINED)
    assert first.status_code == 200  # the page asks for another card
    customer.come_back(page.pay(APPROVED))
    wait_until(lambda: paid_and_fulfilled_once(customer), what="paid")
    assert customer.attempts() == [AttemptStatus.PAID]


def test_cancel_on_the_hosted_page_keeps_the_order_payable(customer):
    page = customer.start_payment()
    customer.come_back(page.cancel())
    assert customer.refresh().status == OrderStatus.PENDING_PAYMENT
    assert customer.attempts() == [AttemptStatus.CANCELLED]
    assert customer.keys() == [LicenceKeyStatus.RESERVED]
    assert customer.start_payment().url != page.url


# --- 5. abandon, pending ---------------------------------------------------------------------


def test_an_abandoned_checkout_is_closed_by_reconciliation_and_the_stock_released(
    customer, store_sandbox, settings
):
    from orders.tasks import reconcile_payments_task

    customer.start_payment()
    # when the gateway's session times out and the reservation is over
    assert store_sandbox.control("POST", "clock/advance", {"minutes": 24 * 60}).status_code == 200
    settings.PAYMENT_RECONCILE_AFTER_MINUTES = 0
    Order.objects.filter(pk=customer.order.pk).update(reserved_until=timezone.now())
    result = reconcile_payments_task()
    # then
    assert result == {"checked": 1, "expired": 1}
    assert customer.refresh().status == OrderStatus.EXPIRED
    assert customer.attempts() == [AttemptStatus.CANCELLED]
    assert customer.keys() == []  # the key went back to the pool
    assert (
        LicenceKey.objects.filter(
            product=customer.product, status=LicenceKeyStatus.AVAILABLE
        ).count()
        == 2
    )


def test_a_pending_payment_is_not_paid_until_the_gateway_completes_it(customer, store_sandbox):
    page = customer.start_payment()
    checkout_id = control(store_sandbox, page)
    customer.come_back(page.pay(PENDING))
    assert customer.refresh().status == OrderStatus.PENDING_PAYMENT
    assert customer.attempts() == [AttemptStatus.PENDING]
    assert customer.fulfilments() == 0
    # when the gateway completes it
    payment_id = store_sandbox.control("GET", f"checkouts/{checkout_id}").json()["payments"][-1][
        "id"
    ]
    assert store_sandbox.control("POST", f"payments/{payment_id}/complete").status_code == 200
    wait_until(lambda: paid_and_fulfilled_once(customer), what="paid after completion")


# --- 8–9. duplicate, concurrent and reordered webhooks ------------------------------------------


@pytest.mark.parametrize("flag", ["duplicate:4", "reorder"])
def test_duplicate_and_reordered_webhooks_fulfil_once(customer, store_sandbox, flag):
    page = customer.start_payment()
    checkout_id = control(store_sandbox, page, webhook=flag, **{"return": "skip"})
    page.pay(APPROVED)
    wait_until(lambda: paid_and_fulfilled_once(customer), what="paid by webhooks")
    wait_until(
        lambda: all(
            d["attempts"] and d["attempts"][-1]["status"] == 200
            for e in store_sandbox.events(checkout_id)
            for d in e["deliveries"]
        ),
        what="every delivery acknowledged",
    )
    wait_until(lambda: paid_and_fulfilled_once(customer), what="paid and fulfilled once")
    assert customer.attempts() == [AttemptStatus.PAID]
    assert one_email(customer)


# --- 10–12. webhooks that are not from the gateway -------------------------------------------


@pytest.mark.parametrize("flag", ["tamper_body", "tamper_sig", "unknown_key", "wrong_api_version"])
def test_a_webhook_not_from_the_gateway_is_refused_and_changes_nothing(
    customer, store_sandbox, flag
):
    page = customer.start_payment()
    checkout_id = control(store_sandbox, page, webhook=flag, **{"return": "skip"})
    page.pay(APPROVED)
    wait_until(
        lambda: any(
            a["status"] == 400
            for e in store_sandbox.events(checkout_id)
            for d in e["deliveries"]
            for a in d["attempts"]
        ),
        what="the store refusing a delivery",
    )
    assert customer.refresh().status == OrderStatus.PENDING_PAYMENT
    assert customer.attempts() == [AttemptStatus.CREATED]
    assert WebhookEvent.objects.count() == 0
    assert customer.fulfilments() == 0


# --- 14. amount or currency mismatch ------------------------------------------------------------


@pytest.mark.parametrize("flags", [{"amount": "mismatch:+1"}, {"currency": "mismatch:USD"}])
def test_a_mismatched_payment_goes_to_review_and_nothing_is_fulfilled(
    customer, store_sandbox, flags
):
    page = customer.start_payment()
    control(store_sandbox, page, **flags)
    customer.come_back(page.pay(APPROVED))
    wait_until(
        lambda: WebhookEvent.objects.filter(event_type="payment.captured").exists(), what="webhook"
    )
    assert customer.refresh().status == OrderStatus.NEEDS_REVIEW
    assert customer.attempts() == [AttemptStatus.NEEDS_REVIEW]
    assert customer.fulfilments() == 0
    assert customer.keys() == [LicenceKeyStatus.RESERVED]
    assert mail.outbox == []


# --- a chargeback or reversal after the capture ---------------------------------------------------

ALERT = "ipmart.core.tasks.send_staff_alert"


@pytest.mark.parametrize("status", ["CHARGEBACKED", "REVERSED"])
def test_a_payment_taken_back_after_fulfilment_sends_the_order_to_review_once(
    customer, store_sandbox, status
):
    from ipmart.core.models import OutboxMessage
    from ipmart.core.money import format_ringgit
    from orders.models import OrderEvent, OrderEventKind
    from tests.factories import StaffFactory

    # given an order paid and fulfilled (key issued), whose later events the gateway sends 20x
    manager = StaffFactory(role="store manager")
    page = customer.start_payment()
    customer.come_back(page.pay(APPROVED))
    wait_until(lambda: paid_and_fulfilled_once(customer), what="paid and fulfilled once")
    assert one_email(customer)
    checkout_id = control(store_sandbox, page, webhook="duplicate:20")
    captured = [e for e in store_sandbox.events(checkout_id) if e["type"] == "payment.captured"]
    payment_id = captured[0]["paymentId"]

    # when the customer's bank takes the payment back
    answer = store_sandbox.control("POST", f"payments/{payment_id}/reverse", {"status": status})
    assert answer.status_code == 200, answer.text
    event_type = f"payment.{status.lower()}"
    wait_until(
        lambda: WebhookEvent.objects.filter(event_type=event_type, result="applied").exists(),
        what="the reversal webhook",
    )
    # and the old capture event is delivered again after it
    redelivered = store_sandbox.control("POST", f"events/{captured[0]['id']}/redeliver")
    assert redelivered.status_code == 202
    wait_until(
        lambda: all(
            d["attempts"] and d["attempts"][-1]["status"] == 200
            for e in store_sandbox.events(checkout_id)
            for d in e["deliveries"]
        ),
        what="every delivery acknowledged",
    )

    # then the order is under review, the payment reversed, the key kept; one alert, one event
    assert customer.refresh().status == OrderStatus.NEEDS_REVIEW
    assert customer.attempts() == [AttemptStatus.REVERSED]
    assert customer.order.attempts.get().gateway_status == status
    assert customer.keys() == [LicenceKeyStatus.ISSUED]
    assert customer.fulfilments() == 1
    reviews = OrderEvent.objects.filter(order=customer.order, kind=OrderEventKind.NEEDS_REVIEW)
    assert reviews.count() == 1
    total = format_ringgit(customer.order.total_sen)
    assert f"{status} ({total}) after it was paid" in reviews.get().message
    subject = f"Order {customer.order.number}: payment taken back by the bank ({status})"
    alerts = OutboxMessage.objects.filter(handler=ALERT).values_list("args", flat=True)
    assert [args[1] for args in alerts if customer.order.number in args[2]] == [subject]
    wait_until(
        lambda: (
            [m.subject for m in mail.outbox if m.to == [manager.email]]
            == [f"[IPmart alert] {subject}"]
        ),
        what="the alert email",
    )


def test_an_order_charged_back_at_the_gateway_is_closed_as_lost_and_the_customer_told(
    customer, store_sandbox
):
    from orders.services.review import close_lost_payment
    from tests.factories import StaffFactory

    # given an order paid and fulfilled through the sandbox, whose payment the bank took back
    manager = StaffFactory(role="store manager")
    page = customer.start_payment()
    customer.come_back(page.pay(APPROVED))
    wait_until(lambda: paid_and_fulfilled_once(customer), what="paid and fulfilled once")
    assert one_email(customer)
    checkout_id = control(store_sandbox, page)
    captured = [e for e in store_sandbox.events(checkout_id) if e["type"] == "payment.captured"]
    answer = store_sandbox.control("POST", f"payments/{captured[0]['paymentId']}/reverse")
    assert answer.status_code == 200, answer.text
    wait_until(
        lambda: WebhookEvent.objects.filter(
            event_type="payment.chargebacked", result="applied"
        ).exists(),
        what="the chargeback webhook",
    )
    assert customer.refresh().status == OrderStatus.NEEDS_REVIEW
    # when the store manager closes it as lost
    close_lost_payment(customer.order, acting_user=manager)
    # then the order is cancelled, its key revoked, and the customer emailed once about it
    assert customer.refresh().status == OrderStatus.CANCELLED
    assert customer.keys() == [LicenceKeyStatus.REVOKED]
    assert customer.attempts() == [AttemptStatus.REVERSED]
    wait_until(
        lambda: (
            [m.subject for m in mail.outbox if m.to == [customer.user.email]][1:]
            == [f"Order {customer.order.number} cancelled: your bank reversed the payment"]
        ),
        what="the customer's email",
    )


# --- 15. forged and replayed returns ------------------------------------------------------------


def test_a_forged_return_is_refused_and_a_replayed_one_changes_nothing(customer):
    page = customer.start_payment()
    answer = page.pay(APPROVED)
    location = urlsplit(answer.headers["Location"])
    forged = location.query.replace("RETURNMAC=", "RETURNMAC=0")
    assert customer.client.get(f"/payments/return/?{forged}").status_code == 400
    # the webhook may already have paid it; a forged return adds nothing either way
    customer.come_back(answer)
    wait_until(lambda: paid_and_fulfilled_once(customer), what="paid")
    events = customer.order.events.count()
    replay = customer.client.get(f"/payments/return/?{location.query}")
    assert replay.status_code == 302
    assert customer.order.events.count() == events
    wait_until(lambda: paid_and_fulfilled_once(customer), what="paid and fulfilled once")


# --- 17–18. gateway 5xx on create, double click ---------------------------------------------------


def test_a_gateway_5xx_on_create_is_retried_with_the_same_idempotency_key(customer, store_sandbox):
    assert store_sandbox.control("POST", "fail-next-create", {"count": 1}).status_code == 200
    page = customer.start_payment()
    assert page.open().status_code == 200
    assert PaymentAttempt.objects.filter(order=customer.order).count() == 1


def test_when_the_gateway_stays_down_the_order_is_kept_and_the_next_click_works(
    customer, store_sandbox
):
    assert store_sandbox.control("POST", "fail-next-create", {"count": 3}).status_code == 200
    response = customer.client.post(f"/orders/{customer.order.number}/pay/")
    assert response.status_code == 302
    assert response["Location"] == f"/orders/{customer.order.number}/"
    attempt = PaymentAttempt.objects.get(order=customer.order)
    assert attempt.hosted_checkout_id is None
    # when the customer clicks again, the same attempt and key are used
    page = customer.start_payment()
    assert PaymentAttempt.objects.filter(order=customer.order).count() == 1
    customer.come_back(page.pay(APPROVED))
    wait_until(lambda: paid_and_fulfilled_once(customer), what="paid and fulfilled once")


def test_a_double_click_on_pay_sends_the_customer_to_the_same_checkout(customer):
    first = customer.start_payment()
    second = customer.start_payment()
    assert first.url == second.url
    assert PaymentAttempt.objects.filter(order=customer.order).count() == 1


# --- 19. the store's webhook endpoint down, then back -----------------------------------------------


def test_webhooks_are_retried_until_the_store_is_back(customer, store_sandbox, webhook_proxy):
    page = customer.start_payment()
    control(store_sandbox, page, **{"return": "skip"})
    webhook_proxy.down = True
    page.pay(APPROVED)
    wait_until(lambda: webhook_proxy.refused >= 2, what="deliveries refused while down")
    assert customer.refresh().status == OrderStatus.PENDING_PAYMENT
    webhook_proxy.down = False
    wait_until(
        lambda: paid_and_fulfilled_once(customer), timeout=20, what="paid after the store came back"
    )


# --- refunds through the gateway ------------------------------------------------------------------


def test_a_store_manager_refunds_a_paid_order_through_the_gateway(customer, store_sandbox):
    from orders.services.fulfilment import refund_order
    from tests.factories import StaffFactory

    page = customer.start_payment()
    customer.come_back(page.pay(APPROVED))
    wait_until(lambda: paid_and_fulfilled_once(customer), what="paid and fulfilled once")
    manager = StaffFactory(role="store manager")
    # when
    refund = refund_order(customer.order, reason="customer changed their mind", acting_user=manager)
    # then
    assert refund.status == "done"
    assert customer.refresh().status == OrderStatus.REFUNDED
    assert customer.attempts() == [AttemptStatus.REFUNDED]
    payment_id = customer.order.attempts.get().gateway_payment_id
    status = store_sandbox.control(
        "GET", f"checkouts/{urlsplit(page.url).path.rsplit('/', 1)[-1]}"
    ).json()
    assert [p["status"] for p in status["payments"] if p["id"] == payment_id] == ["REFUNDED"]
    # a second refund is refused and changes nothing
    from orders.services.errors import ShopError

    with pytest.raises(ShopError):
        refund_order(customer.order, reason="again", acting_user=manager)
    assert customer.order.refunds.count() == 1
