"""Webhooks from the sandbox process to a receiver the tests control, verified and parsed by the
SDK's webhooks helper: delivery, retries with the same event id, and the control flags that
break delivery on purpose."""

import json

import pytest
from worldline.connect.sdk.communication.request_header import RequestHeader
from worldline.connect.sdk.v1.merchant.payments.get_payment_params import GetPaymentParams
from worldline.connect.sdk.v1.webhooks.v1_webhooks_factory import V1WebhooksFactory
from worldline.connect.sdk.webhooks.api_version_mismatch_exception import (
    ApiVersionMismatchException,
)
from worldline.connect.sdk.webhooks.in_memory_secret_key_store import InMemorySecretKeyStore
from worldline.connect.sdk.webhooks.secret_key_not_available_exception import (
    SecretKeyNotAvailableException,
)
from worldline.connect.sdk.webhooks.signature_validation_exception import (
    SignatureValidationException,
)

from .conftest import APPROVED, DECLINED, PENDING, wait_until


@pytest.fixture
def webhooks_helper(settings):
    """The SDK's helper as the store would build it, with the webhook key in an in-memory store.
    (InMemorySecretKeyStore keeps its keys on the class, so they are removed afterwards.)"""
    store = InMemorySecretKeyStore.instance()
    store.store_secret_key(settings.GATEWAY_WEBHOOK_KEY_ID, settings.GATEWAY_WEBHOOK_SECRET)
    yield V1WebhooksFactory.create_helper(store)
    store.remove_secret_key(settings.GATEWAY_WEBHOOK_KEY_ID)


def unmarshal(helper, hook):
    headers = [RequestHeader(name, value) for name, value in hook.headers]
    return helper.unmarshal(hook.body, headers)


def paid(create_checkout, hosted_page, card=APPROVED, flags=None, sandbox=None):
    created = create_checkout()
    if flags:
        response = sandbox.control("POST", f"checkouts/{created.hosted_checkout_id}", flags)
        assert response.status_code == 200, response.text
    hosted_page(created).pay(card)
    return created


def test_each_transition_arrives_signed_and_the_sdk_reads_it(
    settings, webhook_receiver, webhooks_helper, create_checkout, hosted_page
):
    # given a checkout paid with the approved card
    created = paid(create_checkout, hosted_page)

    # when its webhooks arrive
    hooks = webhook_receiver.wait_for(created.hosted_checkout_id, 2)

    # then there is one per transition, each verified and parsed by the SDK's helper
    events = [unmarshal(webhooks_helper, hook) for hook in hooks]
    assert [event.type for event in events] == ["payment.created", "payment.captured"]
    assert [event.payment.status for event in events] == ["CREATED", "CAPTURED"]
    for event in events:
        assert event.api_version == "v1"
        assert event.merchant_id == settings.GATEWAY_MERCHANT_ID
        assert event.payment.payment_output.references.merchant_reference == (
            created.merchant_reference
        )
        assert len(event.id) == 36
    assert events[0].id != events[1].id
    captured = events[1]
    assert captured.payment.status_output.status_category == "COMPLETED"
    assert captured.payment.payment_output.amount_of_money.amount == 12345
    assert captured.created.endswith("+0000") and "T" in captured.created
    # and each is compact JSON with the gateway's headers
    for hook in hooks:
        headers = dict(hook.headers)
        assert headers["Content-Type"] == "application/json"
        assert headers["X-GCS-KeyId"] == settings.GATEWAY_WEBHOOK_KEY_ID
        assert (
            hook.body
            == json.dumps(json.loads(hook.body), separators=(",", ":"), ensure_ascii=False).encode()
        )
        assert set(json.loads(hook.body)) == {
            "apiVersion",
            "id",
            "created",
            "merchantId",
            "type",
            "payment",
        }


def test_declined_pending_and_refunded_events(
    sandbox, gateway, webhook_receiver, webhooks_helper, create_checkout, hosted_page
):
    from worldline.connect.sdk.v1.domain.refund_request import RefundRequest

    declined = paid(create_checkout, hosted_page, card=DECLINED)
    pending = paid(create_checkout, hosted_page, card=PENDING)
    payment_id = (
        gateway.hostedcheckouts().get(pending.hosted_checkout_id).created_payment_output.payment.id
    )
    sandbox.control("POST", f"payments/{payment_id}/complete")
    gateway.payments().refund(
        payment_id,
        RefundRequest().from_dictionary(
            {"amountOfMoney": {"amount": 12345, "currencyCode": "MYR"}}
        ),
    )

    declined_types = [
        unmarshal(webhooks_helper, hook).type
        for hook in webhook_receiver.wait_for(declined.hosted_checkout_id, 2)
    ]
    pending_types = [
        unmarshal(webhooks_helper, hook).type
        for hook in webhook_receiver.wait_for(pending.hosted_checkout_id, 4)
    ]

    assert declined_types == ["payment.created", "payment.rejected"]
    assert pending_types == [
        "payment.created",
        "payment.capture_requested",
        "payment.captured",
        "payment.refunded",
    ]


@pytest.mark.parametrize("status", ["CHARGEBACKED", "REVERSED"])
def test_a_captured_payment_taken_back_by_the_bank_is_reported_reversed(
    status, sandbox, gateway, webhook_receiver, webhooks_helper, create_checkout, hosted_page
):
    # given a captured payment and a declined one
    created = paid(create_checkout, hosted_page)
    declined = paid(
        create_checkout, hosted_page, card=DECLINED, flags={"attempts": 1}, sandbox=sandbox
    )
    payment_id = (
        gateway.hostedcheckouts().get(created.hosted_checkout_id).created_payment_output.payment.id
    )
    rejected_id = (
        gateway.hostedcheckouts().get(declined.hosted_checkout_id).created_payment_output.payment.id
    )

    # when the control plane takes the captured one back
    answer = sandbox.control("POST", f"payments/{payment_id}/reverse", {"status": status})

    # then the API and the webhook report it in the REVERSED category, as the SDK reads it
    assert answer.status_code == 200, answer.text
    payment = gateway.payments().get(payment_id, GetPaymentParams())
    assert payment.status == status
    assert payment.status_output.status_category == "REVERSED"
    assert payment.status_output.is_refundable is False
    hooks = webhook_receiver.wait_for(created.hosted_checkout_id, 3)
    events = [unmarshal(webhooks_helper, hook) for hook in hooks]
    assert [e.type for e in events] == [
        "payment.created",
        "payment.captured",
        f"payment.{status.lower()}",
    ]
    assert events[-1].payment.status_output.status_category == "REVERSED"
    # and only a captured payment can be taken back, once; an unknown status is refused
    assert sandbox.control("POST", f"payments/{payment_id}/reverse").status_code == 409
    assert sandbox.control("POST", f"payments/{rejected_id}/reverse").status_code == 409
    refused = sandbox.control("POST", f"payments/{payment_id}/reverse", {"status": "PAID"})
    assert refused.status_code == 400
    assert gateway.payments().get(payment_id, GetPaymentParams()).status == status


def test_a_failed_delivery_is_retried_with_the_same_event_id(
    sandbox, webhook_receiver, webhooks_helper, create_checkout, hosted_page
):
    # given a store endpoint that answers the checkout's first webhook with 500
    created = create_checkout()
    webhook_receiver.answer_next(created.hosted_checkout_id, 500, event_type="payment.created")

    # when the customer pays
    hosted_page(created).pay(APPROVED)

    # then the refused event arrives again, same id and bytes, and is then accepted
    hooks = webhook_receiver.wait_for(created.hosted_checkout_id, 3)
    refused = hooks[0]
    assert refused.answered == 500
    again = [hook for hook in hooks[1:] if hook.event["id"] == refused.event["id"]]
    assert len(again) == 1
    assert again[0].answered == 200
    assert again[0].body == refused.body
    assert unmarshal(webhooks_helper, again[0]).type == "payment.created"
    # and the sandbox's log shows both tries of that one delivery
    log = {event["id"]: event for event in sandbox.events(created.hosted_checkout_id)}
    delivery = log[refused.event["id"]]["deliveries"]
    assert [(d["state"], [a.get("status") for a in d["attempts"]]) for d in delivery] == [
        ("delivered", [500, 200])
    ]


def test_delivery_gives_up_when_the_schedule_runs_out(
    sandbox, webhook_receiver, create_checkout, hosted_page
):
    # given an endpoint that refuses the first event once more than there are retries (4)
    created = create_checkout()
    webhook_receiver.answer_next(
        created.hosted_checkout_id, 503, 503, 503, 503, 503, event_type="payment.created"
    )

    # when the customer pays
    hosted_page(created).pay(APPROVED)

    # then the first event is tried five times and then left as failed
    def first_event_settled():
        events = sandbox.events(created.hosted_checkout_id)
        return events and events[0]["deliveries"][0]["state"] == "failed" and events[0]

    event = wait_until(first_event_settled, timeout=20, what="the retries to run out")
    assert [a["status"] for a in event["deliveries"][0]["attempts"]] == [503] * 5
    assert [
        hook.event["id"] for hook in webhook_receiver.for_checkout(created.hosted_checkout_id)
    ].count(event["id"]) == 5


def test_redeliver_sends_the_same_event_again(
    sandbox, webhook_receiver, create_checkout, hosted_page
):
    created = paid(create_checkout, hosted_page)
    first = webhook_receiver.wait_for(created.hosted_checkout_id, 2)[1]

    answer = sandbox.control("POST", f"events/{first.event['id']}/redeliver")

    assert answer.status_code == 202
    replay = webhook_receiver.wait_for(created.hosted_checkout_id, 3)[2]
    assert replay.body == first.body
    assert dict(replay.headers)["X-GCS-Signature"] == dict(first.headers)["X-GCS-Signature"]
    assert sandbox.control("POST", "events/no-such-event/redeliver").status_code == 404


# --- flags that break delivery on purpose --------------------------------------------------


def test_duplicate_sends_each_event_n_times(
    sandbox, webhook_receiver, webhooks_helper, create_checkout, hosted_page
):
    created = paid(create_checkout, hosted_page, flags={"webhook": "duplicate:3"}, sandbox=sandbox)

    hooks = webhook_receiver.wait_for(created.hosted_checkout_id, 6)

    ids = [unmarshal(webhooks_helper, hook).id for hook in hooks]
    assert len(set(ids)) == 2
    assert sorted(ids.count(event_id) for event_id in set(ids)) == [3, 3]


def test_reorder_sends_the_later_event_first(
    sandbox, webhook_receiver, webhooks_helper, create_checkout, hosted_page
):
    created = paid(create_checkout, hosted_page, flags={"webhook": "reorder"}, sandbox=sandbox)

    hooks = webhook_receiver.wait_for(created.hosted_checkout_id, 2)

    assert [unmarshal(webhooks_helper, hook).type for hook in hooks] == [
        "payment.captured",
        "payment.created",
    ]


def test_drop_sends_nothing_and_logs_it(sandbox, webhook_receiver, create_checkout, hosted_page):
    dropped = paid(create_checkout, hosted_page, flags={"webhook": "drop"}, sandbox=sandbox)
    # a checkout paid afterwards: once its webhooks are in, earlier ones would have been too
    later = paid(create_checkout, hosted_page)
    webhook_receiver.wait_for(later.hosted_checkout_id, 2)

    assert webhook_receiver.for_checkout(dropped.hosted_checkout_id) == []
    log = sandbox.events(dropped.hosted_checkout_id)
    assert [event["type"] for event in log] == ["payment.created", "payment.captured"]
    assert [d["state"] for event in log for d in event["deliveries"]] == ["dropped", "dropped"]


@pytest.mark.parametrize(
    ("flag", "exception"),
    [
        ("tamper_body", SignatureValidationException),
        ("tamper_sig", SignatureValidationException),
        ("unknown_key", SecretKeyNotAvailableException),
        ("wrong_api_version", ApiVersionMismatchException),
    ],
)
def test_broken_webhooks_are_refused_by_the_sdk(
    sandbox, webhook_receiver, webhooks_helper, create_checkout, hosted_page, flag, exception
):
    created = paid(create_checkout, hosted_page, flags={"webhook": flag}, sandbox=sandbox)

    hooks = webhook_receiver.wait_for(created.hosted_checkout_id, 2)

    for hook in hooks:
        with pytest.raises(exception):
            unmarshal(webhooks_helper, hook)
