"""Refunds per line against the real payment sandbox process (PostgreSQL, live server, the SDK):
one line, two partial refunds adding up to the whole, an over-refund refused with nothing
changed, a double submit that refunds once, a gateway error that changes nothing, revoked keys,
credit note numbers that stay consecutive and unique when refunds race; and refunds the gateway
reports by webhook (made in its back office, or the echo of the store's own), recorded once.

The fixtures `store` and `store_sandbox` are in tests/store_gateway.py."""

import json
import threading
import uuid
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from ipmart.core.models import OutboxMessage, StaffChange
from orders.models import (
    AttemptStatus,
    DocumentSequence,
    LicenceKey,
    LicenceKeyStatus,
    Order,
    OrderEmail,
    OrderEvent,
    OrderStatus,
    Product,
    Refund,
    RefundLine,
    RefundStatus,
    WebhookEvent,
)
from orders.services.checkout import place_order
from orders.services.errors import ShopError
from orders.services.refunds import refund_order, refund_order_lines
from tests.factories import (
    AddressFactory,
    ProductFactory,
    StaffFactory,
    UserFactory,
    cart_with,
    free_shipping,
)
from tests.orders.conftest import APPROVED, HostedPage, wait_until

pytestmark = [pytest.mark.django_db(transaction=True)]


class PaidOrder:
    """A customer's order for `items` [(product, quantity)], paid on the sandbox's hosted page
    and fulfilled (keys issued)."""

    def __init__(self, client, *items):
        self.user = UserFactory()
        address = AddressFactory(user=self.user)
        physical = any(not product.is_licence for product, _ in items)
        self.order = place_order(
            self.user,
            cart=cart_with(self.user, *items),
            billing_address=address,
            shipping_address=address if physical else None,
            shipping_method=free_shipping() if physical else None,
        )
        client.force_login(self.user)
        response = client.post(f"/orders/{self.order.number}/pay/", SERVER_NAME="127.0.0.1")
        assert response.status_code == 302, response.content[:300]
        self.page = HostedPage(response["Location"])
        answer = self.page.pay(APPROVED)
        parts = urlsplit(answer.headers["Location"])
        client.get(f"{parts.path}?{parts.query}")
        wanted = OrderStatus.PAID if physical else OrderStatus.FULFILLED
        wait_until(
            lambda: self.refresh().status == wanted and hasattr(self.order, "fulfilment"),
            what="paid and fulfilled",
        )
        self.lines = list(self.order.lines.order_by("id"))

    def refresh(self) -> Order:
        self.order = Order.objects.get(pk=self.order.pk)
        return self.order

    @property
    def checkout_id(self) -> str:
        return urlsplit(self.page.url).path.rsplit("/", 1)[-1]

    def gateway_refunds(self, sandbox) -> list[int]:
        status = sandbox.control("GET", f"checkouts/{self.checkout_id}").json()
        return [refund["amount"] for p in status["payments"] for refund in p["refunds"]]

    def keys(self, line) -> list[str]:
        return list(
            LicenceKey.objects.filter(order_line=line)
            .order_by("id")
            .values_list("status", flat=True)
        )

    def snapshot(self) -> tuple:
        """Everything a refund may change, to compare before and after a refused one."""
        order = self.refresh()
        return (
            order.status,
            order.refunded_sen,
            [(line.pk, line.refunded_quantity) for line in order.lines.order_by("id")],
            list(LicenceKey.objects.filter(order_line__order=order).values_list("pk", "status")),
            list(Product.objects.order_by("pk").values_list("pk", "stock")),
            list(Refund.objects.filter(order=order, status=RefundStatus.DONE).values_list("pk")),
            StaffChange.objects.count(),
            OrderEvent.objects.filter(order=order).count(),
            OrderEmail.objects.filter(order=order).count(),
            DocumentSequence.objects.values_list("last_value", flat=True).first(),
        )


@pytest.fixture
def manager(db):
    return StaffFactory(role="store manager")


@pytest.fixture
def two_licences(client, store):
    """Two licences of RM 100.00 + 8% and one of RM 50.00 + 8%, paid (total RM 270.00)."""
    office = ProductFactory(licence=True, keys=3, price_sen=10000, name="Office")
    antivirus = ProductFactory(licence=True, keys=2, price_sen=5000, name="Antivirus")
    return PaidOrder(client, (office, 2), (antivirus, 1))


def refund_emails(paid: PaidOrder) -> list:
    return [m for m in mail.outbox if "Refund for order" in m.subject and m.to == [paid.user.email]]


def test_one_unit_of_one_line_is_refunded_with_a_credit_note_and_its_key_revoked(
    two_licences, store_sandbox, manager
):
    paid = two_licences
    office, antivirus = paid.lines
    assert paid.order.total_sen == 27000
    # when one of the two Office licences is refunded
    refund = refund_order_lines(
        paid.order, lines={office.pk: 1}, reason="bought one too many", acting_user=manager
    )
    # then RM 108.00 (price and its tax) went back through the gateway, as credit note CN-000001
    assert refund.status == RefundStatus.DONE
    assert refund.amount_sen == 10800 and refund.shipping_sen == 0
    assert refund.credit_note_number == "CN-000001"
    assert [(item.order_line_id, item.quantity, item.amount_sen, item.tax_sen)
            for item in refund.lines.all()] == [(office.pk, 1, 10800, 800)]  # fmt: skip
    assert paid.gateway_refunds(store_sandbox) == [10800]
    order = paid.refresh()
    assert order.status == OrderStatus.FULFILLED and order.is_partly_refunded
    assert order.refunded_sen == 10800
    assert order.attempts.get().status == AttemptStatus.PAID
    # the newest of the line's two keys is revoked, never back in the pool
    assert paid.keys(office) == [LicenceKeyStatus.ISSUED, LicenceKeyStatus.REVOKED]
    assert paid.keys(antivirus) == [LicenceKeyStatus.ISSUED]
    # audited, in the order's history, and emailed once with the credit note and the line
    change = StaffChange.objects.get(action="refund")
    assert change.actor == manager and change.object_id == str(order.pk)
    assert change.changes == {
        "refunded": ["RM 0.00", "RM 108.00"],
        "credit_note": ["", "CN-000001"],
        "licence_keys_revoked": ["", "1"],
    }
    assert OrderEvent.objects.filter(order=order, kind="refunded").count() == 1
    wait_until(lambda: refund_emails(paid), what="the refund email")
    [email] = refund_emails(paid)
    assert "CN-000001" in email.body and "1 × Office: RM 108.00" in email.body
    assert "no longer work" in email.body
    assert not OutboxMessage.objects.filter(done_at__isnull=True).exists()


def test_two_partial_refunds_add_up_to_the_whole_order_which_becomes_refunded(
    two_licences, store_sandbox, manager
):
    paid = two_licences
    office, antivirus = paid.lines
    first = refund_order_lines(
        paid.order, lines={antivirus.pk: 1}, reason="not needed", acting_user=manager
    )
    assert paid.refresh().status == OrderStatus.FULFILLED and paid.order.refunded_sen == 5400
    second = refund_order_lines(
        paid.order, lines={office.pk: 2}, reason="changed their mind", acting_user=manager
    )
    assert (first.credit_note_number, second.credit_note_number) == ("CN-000001", "CN-000002")
    assert second.amount_sen == 21600
    order = paid.refresh()
    assert order.status == OrderStatus.REFUNDED and not order.is_partly_refunded
    assert order.refunded_sen == order.total_sen == 27000
    assert order.attempts.get().status == AttemptStatus.REFUNDED
    assert paid.gateway_refunds(store_sandbox) == [5400, 21600]
    assert paid.keys(office) == [LicenceKeyStatus.REVOKED] * 2
    assert paid.keys(antivirus) == [LicenceKeyStatus.REVOKED]
    # one email per credit note
    wait_until(lambda: len(refund_emails(paid)) == 2, what="two refund emails")
    kinds = set(OrderEmail.objects.filter(order=order).values_list("kind", flat=True))
    assert {"refunded:CN-000001", "refunded:CN-000002"} <= kinds
    # nothing is left to refund
    with pytest.raises(ShopError):
        refund_order(order, reason="again", acting_user=manager)
    assert paid.gateway_refunds(store_sandbox) == [5400, 21600]


def test_tax_of_a_line_refunded_unit_by_unit_adds_up_to_what_was_paid(client, store, manager):
    product = ProductFactory(licence=True, keys=3, price_sen=333, name="Tiny tool")
    paid = PaidOrder(client, (product, 3))
    [line] = paid.lines
    amounts = [
        refund_order_lines(paid.order, lines={line.pk: 1}, reason="r", acting_user=manager)
        for _ in range(3)
    ]
    assert sum(refund.amount_sen for refund in amounts) == line.total_sen == paid.order.total_sen
    assert sum(refund.lines.get().tax_sen for refund in amounts) == line.tax_sen
    assert paid.refresh().status == OrderStatus.REFUNDED


def test_an_over_refund_is_refused_and_changes_nothing(two_licences, store_sandbox, manager):
    paid = two_licences
    office, antivirus = paid.lines
    refund_order_lines(paid.order, lines={office.pk: 1}, reason="one", acting_user=manager)
    before = paid.snapshot()
    # more units than are left on the line, a line of another order, nothing at all
    for lines, message in [
        ({office.pk: 2}, "at most 1 unit"),
        ({antivirus.pk: 2}, "at most 1 unit"),
        ({office.pk + 10_000: 1}, "not part of this order"),
        ({}, "at least one unit"),
    ]:
        with pytest.raises(ShopError, match=message):
            refund_order_lines(paid.order, lines=lines, reason="too much", acting_user=manager)
    assert paid.snapshot() == before
    assert paid.gateway_refunds(store_sandbox) == [10800]
    assert not Refund.objects.exclude(status=RefundStatus.DONE).exists()


def test_a_double_submit_of_the_same_refund_refunds_once(two_licences, store_sandbox, manager):
    paid = two_licences
    office, _antivirus = paid.lines
    key = uuid.uuid4()
    results: list = []
    barrier = threading.Barrier(2, timeout=30)

    def submit():
        try:
            barrier.wait()
            refund = refund_order_lines(
                paid.order,
                lines={office.pk: 1},
                reason="double click",
                acting_user=manager,
                idempotency_key=key,
            )
            results.append(refund.pk)
        except ShopError as error:
            results.append(str(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # and a third, later submit with the same key returns the same refund
    again = refund_order_lines(
        paid.order, lines={office.pk: 1}, reason="double click", acting_user=manager,
        idempotency_key=key,
    )  # fmt: skip
    refund = Refund.objects.get(order=paid.order)
    assert again.pk == refund.pk and refund.status == RefundStatus.DONE
    assert refund.pk in results  # the other submit got the same refund or a "still processing"
    assert paid.gateway_refunds(store_sandbox) == [10800]
    assert paid.refresh().refunded_sen == 10800
    assert paid.keys(office) == [LicenceKeyStatus.ISSUED, LicenceKeyStatus.REVOKED]
    assert StaffChange.objects.filter(action="refund").count() == 1
    assert DocumentSequence.objects.get().last_value == 1


def test_a_gateway_error_refunds_nothing_changes_nothing_and_says_so(
    two_licences, store_sandbox, manager
):
    paid = two_licences
    office, _antivirus = paid.lines
    before = paid.snapshot()
    # the sandbox answers 500 to this refund and to both retries
    assert store_sandbox.control("POST", "fail-next-refund", {"count": 3}).status_code == 200
    with pytest.raises(ShopError) as refused:
        refund_order_lines(paid.order, lines={office.pk: 1}, reason="x", acting_user=manager)
    assert str(refused.value) == (
        "The gateway did not refund (the payment provider is not answering). Nothing was "
        "refunded and the order is unchanged."
    )
    assert paid.snapshot() == before
    assert paid.gateway_refunds(store_sandbox) == []
    assert list(Refund.objects.values_list("status", "credit_note_number")) == [
        (RefundStatus.FAILED, None)
    ]
    # the next try goes through (the failed one blocks nothing)
    refund = refund_order_lines(paid.order, lines={office.pk: 1}, reason="x", acting_user=manager)
    assert refund.credit_note_number == "CN-000001"
    assert paid.gateway_refunds(store_sandbox) == [10800]


def test_one_gateway_hiccup_is_retried_with_the_same_key_and_refunds_once(
    two_licences, store_sandbox, manager
):
    paid = two_licences
    office, _antivirus = paid.lines
    assert store_sandbox.control("POST", "fail-next-refund", {"count": 1}).status_code == 200
    refund = refund_order_lines(paid.order, lines={office.pk: 1}, reason="x", acting_user=manager)
    assert refund.status == RefundStatus.DONE
    assert paid.gateway_refunds(store_sandbox) == [10800]


def test_the_customer_sees_the_credit_note_and_the_revoked_key(
    client, two_licences, store_sandbox, manager
):
    paid = two_licences
    office, _antivirus = paid.lines
    refund_order_lines(paid.order, lines={office.pk: 1}, reason="r", acting_user=manager)
    revoked = LicenceKey.objects.get(order_line=office, status=LicenceKeyStatus.REVOKED)
    kept = LicenceKey.objects.get(order_line=office, status=LicenceKeyStatus.ISSUED)
    page = client.get(f"/orders/{paid.order.number}/").content.decode()
    assert "Partly refunded" in page and "Credit note CN-000001" in page
    assert kept.key in page and revoked.key not in page and revoked.masked in page
    note = client.get(f"/orders/{paid.order.number}/credit-notes/CN-000001/")
    assert note.status_code == 200
    assert "CN-000001" in note.content.decode() and "RM 108.00" in note.content.decode()
    receipt = client.get(f"/orders/{paid.order.number}/receipt/").content.decode()
    assert "Credit note CN-000001" in receipt
    # another customer gets a 404 for the credit note
    client.force_login(UserFactory())
    assert client.get(f"/orders/{paid.order.number}/credit-notes/CN-000001/").status_code == 404


def test_refunded_goods_go_back_in_stock_when_unshipped_and_the_order_is_complete(
    client, store, manager
):
    licence = ProductFactory(licence=True, keys=1, price_sen=10000, name="Office")
    keyboard = ProductFactory(price_sen=20000, name="Keyboard")  # 10 in stock, 2 ordered
    paid = PaidOrder(client, (licence, 1), (keyboard, 2))
    assert Product.objects.get(pk=keyboard.pk).stock == 8
    _office, board = paid.lines
    refund_order_lines(paid.order, lines={board.pk: 2}, reason="out of stock", acting_user=manager)
    assert Product.objects.get(pk=keyboard.pk).stock == 10
    order = paid.refresh()
    # nothing is left to ship: the order is complete, partly refunded
    assert order.status == OrderStatus.FULFILLED and order.is_partly_refunded


def test_credit_note_numbers_stay_consecutive_and_unique_when_refunds_race(client, store, manager):
    orders = [
        PaidOrder(client, (ProductFactory(licence=True, keys=1, price_sen=1000 + n), 1))
        for n in range(5)
    ]
    barrier = threading.Barrier(len(orders), timeout=60)
    errors: list[BaseException] = []

    def refund(paid):
        try:
            barrier.wait()
            refund_order(Order.objects.get(pk=paid.order.pk), reason="race", acting_user=manager)
        except BaseException as error:  # noqa: BLE001 — reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=refund, args=(paid,)) for paid in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    numbers = sorted(Refund.objects.values_list("credit_note_number", flat=True))
    assert numbers == [f"CN-{n:06d}" for n in range(1, 6)]
    assert DocumentSequence.objects.get().last_value == 5
    assert set(Order.objects.values_list("status", flat=True)) == {OrderStatus.REFUNDED}


def stuck_refund(paid: PaidOrder, manager, key: uuid.UUID, *lines) -> Refund:
    """A refund `manager` confirmed that was written as requested (step 1) and whose process
    died before recording it: `lines` are (order line, units, amount with tax, tax)."""
    refund = Refund.objects.create(
        order=paid.order,
        attempt=paid.order.attempts.get(),
        amount_sen=sum(amount for _line, _units, amount, _tax in lines),
        reason="crash",
        idempotency_key=key,
        created_by=manager,
    )
    RefundLine.objects.bulk_create(
        RefundLine(refund=refund, order_line=line, quantity=units, amount_sen=amount, tax_sen=tax)
        for line, units, amount, tax in lines
    )
    return refund


def test_a_refund_left_requested_by_a_crash_blocks_others_until_its_key_finishes_it(
    two_licences, store_sandbox, manager
):
    # given a refund written as requested whose gateway call never came back (a crash)
    paid = two_licences
    office, _antivirus = paid.lines
    key = uuid.uuid4()
    stuck = stuck_refund(paid, manager, key, (office, 1, 10800, 800))
    before = paid.snapshot()
    # then another refund of the order is refused meanwhile, changing nothing
    with pytest.raises(ShopError, match="still being processed"):
        refund_order_lines(paid.order, lines={office.pk: 1}, reason="x", acting_user=manager)
    assert paid.snapshot() == before and paid.gateway_refunds(store_sandbox) == []
    # and confirming it again with its key finishes it, once
    done = refund_order_lines(
        paid.order, lines={office.pk: 1}, reason="crash", acting_user=manager, idempotency_key=key
    )
    assert done.pk == stuck.pk and done.status == RefundStatus.DONE
    assert done.credit_note_number == "CN-000001"
    assert paid.gateway_refunds(store_sandbox) == [10800]
    assert paid.keys(office) == [LicenceKeyStatus.ISSUED, LicenceKeyStatus.REVOKED]


# --- refunds the gateway reports: made in its back office, or the echo of the store's own ------


def refund_at_the_gateway(paid: PaidOrder, amount_sen: int, *, key: str | None = None) -> dict:
    """What someone in the gateway's back office (or the store's own step 2) does: refund the
    order's payment at the sandbox, which then sends its `payment.refunded` webhook."""
    from orders import gateway

    return gateway.refund_payment(
        paid.order.attempts.get().gateway_payment_id,
        amount_sen=amount_sen,
        currency="MYR",
        reference="back office",
        idempotency_key=key or str(uuid.uuid4()),
    )


def recorded_state(paid: PaidOrder) -> tuple:
    """The refunds recorded for the order and everything they wrote."""
    order = paid.refresh()
    return (
        order.status,
        order.refunded_sen,
        list(
            Refund.objects.filter(order=order).values_list(
                "status", "amount_sen", "credit_note_number"
            )
        ),
        sorted(LicenceKey.objects.filter(order_line__order=order).values_list("status", flat=True)),
        OrderEvent.objects.filter(order=order, kind="refunded").count(),
        StaffChange.objects.filter(action="refund").count(),
        DocumentSequence.objects.values_list("last_value", flat=True).first(),
    )


REFUNDED_IN_FULL = (
    OrderStatus.REFUNDED,
    27000,
    [(RefundStatus.DONE, 27000, "CN-000001")],
    [LicenceKeyStatus.REVOKED] * 3,
    1,
    1,
    1,
)


def test_a_refund_made_at_the_gateway_is_recorded_with_a_credit_note_and_the_keys_revoked(
    two_licences, store_sandbox
):
    paid = two_licences
    office, antivirus = paid.lines
    # when the whole payment is refunded in the gateway's back office
    refund_at_the_gateway(paid, 27000)
    # then its webhook records it as the store's own refunds are recorded
    wait_until(
        lambda: Refund.objects.filter(order=paid.order, status=RefundStatus.DONE).exists(),
        what="the gateway's refund recorded",
    )
    assert recorded_state(paid) == REFUNDED_IN_FULL
    refund = Refund.objects.get(order=paid.order)
    assert (refund.reason, refund.created_by, refund.shipping_sen) == (
        "refunded at the payment gateway",
        None,
        0,
    )
    assert sorted(refund.lines.values_list("order_line_id", "quantity", "amount_sen")) == [
        (office.pk, 2, 21600),
        (antivirus.pk, 1, 5400),
    ]
    assert paid.refresh().attempts.get().status == AttemptStatus.REFUNDED
    assert StaffChange.objects.get(action="refund").actor is None
    # the store asked the gateway for nothing more, and the customer is told once
    assert paid.gateway_refunds(store_sandbox) == [27000]
    wait_until(lambda: refund_emails(paid), what="the refund email")
    assert len(refund_emails(paid)) == 1 and "CN-000001" in refund_emails(paid)[0].body


def test_a_hundred_concurrent_copies_of_the_gateways_refund_webhook_record_one_refund(
    two_licences, store_sandbox, store, settings
):
    """100 copies under distinct event ids (the unique event id stops copies of one id before
    they reach the order), delivered 20 at a time: the shared PostgreSQL serves 100
    connections in all, and the live server opens one per request."""
    import requests

    from orders.gateway import merchant
    from tests.orders.test_payment_rules import _signed

    paid = two_licences
    # given the sandbox keeps its own webhooks about the payment to itself
    flags = {"webhook": "drop"}
    assert store_sandbox.control("POST", f"checkouts/{paid.checkout_id}", flags).status_code == 200
    refund_at_the_gateway(paid, 27000)
    payment_id = paid.order.attempts.get().gateway_payment_id
    payment = merchant().payments().get(payment_id, None)
    payment = payment.to_dictionary()
    assert payment["status"] == "REFUNDED"
    assert paid.refresh().status == OrderStatus.FULFILLED  # nothing delivered yet
    bodies = [
        json.dumps(
            {
                "apiVersion": "v1",
                "id": str(uuid.uuid4()),
                "created": "2026-11-29T12:00:00.000+0800",
                "merchantId": settings.GATEWAY_MERCHANT_ID,
                "type": "payment.refunded",
                "payment": payment,
            }
        ).encode()
        for _ in range(100)
    ]
    barrier = threading.Barrier(20, timeout=30)
    answers: list = []

    def deliver(share):
        http = requests.Session()
        barrier.wait()
        for body in share:
            answer = http.post(
                f"{store.url}/payments/webhook/",
                data=body,
                headers={
                    "Content-Type": "application/json",
                    "X-GCS-Signature": _signed(body, secret=settings.GATEWAY_WEBHOOK_SECRET),
                    "X-GCS-KeyId": settings.GATEWAY_WEBHOOK_KEY_ID,
                },
                timeout=60,
            )
            answers.append((answer.status_code, answer.text))

    threads = [threading.Thread(target=deliver, args=(bodies[n::20],)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then every copy was taken, and one refund recorded
    assert answers == [(200, "applied")] * 100
    assert recorded_state(paid) == REFUNDED_IN_FULL
    assert paid.gateway_refunds(store_sandbox) == [27000]
    wait_until(lambda: refund_emails(paid), what="the refund email")
    emails = OutboxMessage.objects.filter(handler="orders.tasks.send_refund_email_task")
    assert emails.count() == 1 and len(refund_emails(paid)) == 1


def test_the_echo_of_a_refund_the_store_recorded_records_nothing_more(
    two_licences, store_sandbox, manager
):
    paid = two_licences
    # when the store refunds the whole order; the gateway's webhook about it follows
    refund_order(paid.order, reason="changed their mind", acting_user=manager)
    wait_until(
        lambda: WebhookEvent.objects.filter(event_type="payment.refunded", result="applied"),
        what="the refund's webhook applied",
    )
    # then one refund, by the manager, with the gateway's refund id, whichever of the two
    # was first
    assert recorded_state(paid) == REFUNDED_IN_FULL
    payment_id = paid.order.attempts.get().gateway_payment_id
    refund = Refund.objects.get()
    assert (refund.created_by, refund.gateway_refund_id) == (manager, f"{payment_id}-R1")
    assert StaffChange.objects.get(action="refund").actor == manager
    assert paid.gateway_refunds(store_sandbox) == [27000]


def test_a_refund_sent_but_never_recorded_is_recorded_by_its_webhook_and_confirming_it_adds_nothing(
    two_licences, store_sandbox, manager
):
    # given a refund the store wrote as requested and the gateway made, whose process died
    # before recording it (step 3 never ran)
    paid = two_licences
    office, antivirus = paid.lines
    key = uuid.uuid4()
    stuck = stuck_refund(paid, manager, key, (office, 2, 21600, 1600), (antivirus, 1, 5400, 400))
    refund_at_the_gateway(paid, 27000, key=str(key))
    # when the gateway's webhook about the refunded payment arrives
    wait_until(
        lambda: Refund.objects.filter(pk=stuck.pk, status=RefundStatus.DONE).exists(),
        what="the stuck refund recorded by the webhook",
    )
    # then that refund is recorded as the manager made it, and no other
    assert recorded_state(paid) == REFUNDED_IN_FULL
    assert StaffChange.objects.get(action="refund").actor == manager
    # and confirming it again with its key returns it and changes nothing
    done = refund_order_lines(
        paid.order, lines=None, reason="crash", acting_user=manager, idempotency_key=key
    )
    assert done.pk == stuck.pk
    assert recorded_state(paid) == REFUNDED_IN_FULL
    assert paid.gateway_refunds(store_sandbox) == [27000]


def test_a_back_office_refund_of_the_rest_is_recorded_beside_a_refund_still_requested(
    two_licences, store_sandbox, manager
):
    # given a refund of one Office licence written as requested, and the whole payment then
    # refunded in the gateway's back office
    paid = two_licences
    office, antivirus = paid.lines
    stuck = stuck_refund(paid, manager, uuid.uuid4(), (office, 1, 10800, 800))
    refund_at_the_gateway(paid, 27000)
    # when its webhook arrives
    wait_until(lambda: paid.refresh().status == OrderStatus.REFUNDED, what="the order refunded")
    # then the requested refund is recorded as the manager's, and the rest as the gateway's
    assert list(
        Refund.objects.order_by("credit_note_number").values_list(
            "credit_note_number", "amount_sen", "created_by"
        )
    ) == [("CN-000001", 10800, manager.pk), ("CN-000002", 16200, None)]
    assert Refund.objects.get(pk=stuck.pk).credit_note_number == "CN-000001"
    rest = Refund.objects.get(credit_note_number="CN-000002")
    assert sorted(rest.lines.values_list("order_line_id", "quantity")) == [
        (office.pk, 1),
        (antivirus.pk, 1),
    ]
    assert paid.refresh().refunded_sen == 27000
    assert paid.keys(office) == [LicenceKeyStatus.REVOKED] * 2
    assert paid.keys(antivirus) == [LicenceKeyStatus.REVOKED]
    assert paid.gateway_refunds(store_sandbox) == [27000]


def test_a_staff_refund_of_a_late_payment_on_an_expired_order_puts_goods_back_once(
    client, store, store_sandbox, manager
):
    # given an order for 2 keyboards (10 in stock) whose checkout was closed as abandoned and
    # whose reservation expired (the keyboards went back), then paid on the hosted page after
    # all: the order went to review
    from orders.services.checkout import expire_order
    from orders.services.payments import close_unknown_checkout

    keyboard = ProductFactory(price_sen=20000, name="Keyboard")
    user = UserFactory()
    address = AddressFactory(user=user)
    order = place_order(
        user,
        cart=cart_with(user, (keyboard, 2)),
        billing_address=address,
        shipping_address=address,
        shipping_method=free_shipping(),
    )
    client.force_login(user)
    response = client.post(f"/orders/{order.number}/pay/", SERVER_NAME="127.0.0.1")
    page = HostedPage(response["Location"])
    assert close_unknown_checkout(order.attempts.get(), source="test") is True
    Order.objects.filter(pk=order.pk).update(reserved_until=timezone.now())
    assert expire_order(order) is True
    assert Product.objects.get(pk=keyboard.pk).stock == 10
    assert page.pay(APPROVED).status_code == 302
    wait_until(
        lambda: Order.objects.get(pk=order.pk).status == OrderStatus.NEEDS_REVIEW,
        what="the late payment under review",
    )
    # when a store manager refunds the whole order through the gateway
    refund = refund_order(order, reason="paid after expiry", acting_user=manager)
    # then the money goes back, and the keyboards are not put back a second time
    order.refresh_from_db()
    assert (refund.status, order.status, order.refunded_sen) == (
        RefundStatus.DONE,
        OrderStatus.REFUNDED,
        order.total_sen,
    )
    assert Product.objects.get(pk=keyboard.pk).stock == 10
