"""Contract tests of the payment sandbox's API: the real SDK (built by orders.gateway_client)
against a real `manage.py payment_sandbox` process. Authentication, idempotence, validation,
gateway failures, status and refunds."""

import json
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests
from worldline.connect.sdk.call_context import CallContext
from worldline.connect.sdk.v1.authorization_exception import AuthorizationException
from worldline.connect.sdk.v1.domain.create_hosted_checkout_response import (
    CreateHostedCheckoutResponse,
)
from worldline.connect.sdk.v1.domain.get_hosted_checkout_response import GetHostedCheckoutResponse
from worldline.connect.sdk.v1.domain.payment_response import PaymentResponse
from worldline.connect.sdk.v1.domain.refund_request import RefundRequest
from worldline.connect.sdk.v1.domain.refund_response import RefundResponse
from worldline.connect.sdk.v1.idempotence_exception import IdempotenceException
from worldline.connect.sdk.v1.merchant.payments.get_payment_params import GetPaymentParams
from worldline.connect.sdk.v1.platform_exception import PlatformException
from worldline.connect.sdk.v1.reference_exception import ReferenceException
from worldline.connect.sdk.v1.validation_exception import ValidationException

from payment_sandbox.signing import authorization_header

from .conftest import APPROVED, checkout_request, new_reference, wait_until


def signed_request(settings, sandbox, method, path, *, body=None, sent_at=None, secret=None):
    """A request signed like the SDK's, sent with `requests` (to control the Date)."""
    sent_at = sent_at or datetime.now(UTC)
    headers = [("Date", format_datetime(sent_at, usegmt=True))]
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers.append(("Content-Type", "application/json"))
    authorization = authorization_header(
        settings.GATEWAY_API_KEY_ID,
        secret or settings.GATEWAY_SECRET_API_KEY,
        method,
        path,
        headers,
    )
    headers.append(("Authorization", authorization))
    return requests.request(
        method, sandbox.url + path, data=data, headers=dict(headers), timeout=10
    )


def assert_sdk_reads_everything(domain_class, raw: dict):
    """The SDK's domain class parses `raw` and loses nothing (it drops keys it does not know)."""
    assert domain_class().from_dictionary(raw).to_dictionary() == raw


def create_body(**overrides) -> dict:
    return checkout_request(**overrides).to_dictionary()


def pay_approved(create_checkout, hosted_page):
    created = create_checkout()
    response = hosted_page(created).pay(APPROVED)
    assert response.status_code == 302
    return created


def payment_of(gateway, checkout_id: str):
    return gateway.hostedcheckouts().get(checkout_id).created_payment_output.payment


# --- create -------------------------------------------------------------------------------


def test_create_answers_201_with_the_checkout(settings, sandbox, gateway):
    # given a create request as the store sends it
    reference = new_reference()
    path = f"/v1/{settings.GATEWAY_MERCHANT_ID}/hostedcheckouts"

    # when it is sent
    response = signed_request(
        settings, sandbox, "POST", path, body=create_body(reference=reference)
    )

    # then the answer is 201 with the four fields, all read by the SDK
    assert response.status_code == 201
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"RETURNMAC", "hostedCheckoutId", "merchantReference", "partialRedirectUrl"}
    assert body["merchantReference"] == reference
    assert body["partialRedirectUrl"].startswith(
        f"127.0.0.1:{sandbox.port}/hostedcheckout/{body['hostedCheckoutId']}?t="
    )
    assert len(body["partialRedirectUrl"].split("?t=", 1)[1]) >= 32
    assert_sdk_reads_everything(CreateHostedCheckoutResponse, body)
    # and the new checkout is in progress, with no payment yet
    status = gateway.hostedcheckouts().get(body["hostedCheckoutId"])
    assert status.to_dictionary() == {"status": "IN_PROGRESS"}


def test_create_through_the_sdk(sandbox, gateway):
    reference = new_reference()

    created = gateway.hostedcheckouts().create(checkout_request(reference=reference))

    assert created.merchant_reference == reference
    assert len(created.returnmac) == 36
    assert created.hosted_checkout_id.startswith("1001-")
    assert created.partial_redirect_url.startswith(f"127.0.0.1:{sandbox.port}/hostedcheckout/")
    assert "://" not in created.partial_redirect_url


def test_each_checkout_gets_its_own_ids_and_tokens(gateway):
    first = gateway.hostedcheckouts().create(checkout_request())
    second = gateway.hostedcheckouts().create(checkout_request())

    assert first.hosted_checkout_id != second.hosted_checkout_id
    assert first.returnmac != second.returnmac
    assert first.partial_redirect_url.split("?t=")[1] != second.partial_redirect_url.split("?t=")[1]


# --- authentication -------------------------------------------------------------------------


def test_wrong_secret_is_refused_and_creates_nothing(settings, gateway):
    # given a client whose secret is wrong
    settings.GATEWAY_SECRET_API_KEY = "not-the-secret"
    from orders.gateway_client import merchant

    # when it creates a checkout with an idempotence key
    with pytest.raises(AuthorizationException) as refused:
        merchant().hostedcheckouts().create(
            checkout_request(), CallContext(idempotence_key="wrong-secret-key")
        )

    # then the gateway answers 403 with an ErrorResponse the SDK read
    assert refused.value.status_code == 403
    assert [error.id for error in refused.value.errors] == ["MISSING_OR_INVALID_AUTHORIZATION"]
    assert refused.value.error_id
    # and nothing was recorded: the same key with the right secret is a first request
    context = CallContext(idempotence_key="wrong-secret-key")
    gateway.hostedcheckouts().create(checkout_request(), context)
    assert context.idempotence_request_timestamp is None


def test_unknown_api_key_id_is_refused(settings, sandbox):
    settings.GATEWAY_ENDPOINT = sandbox.url
    settings.GATEWAY_API_KEY_ID = "someone-elses-key"
    from orders.gateway_client import merchant

    with pytest.raises(AuthorizationException) as refused:
        merchant().hostedcheckouts().create(checkout_request())

    assert refused.value.status_code == 403
    assert "unknown API key id" in refused.value.errors[0].message


def test_another_merchants_path_is_refused(settings, sandbox):
    settings.GATEWAY_ENDPOINT = sandbox.url
    settings.GATEWAY_MERCHANT_ID = "another-merchant"
    from orders.gateway_client import merchant

    with pytest.raises(AuthorizationException) as refused:
        merchant().hostedcheckouts().create(checkout_request())

    assert refused.value.status_code == 403
    assert [error.id for error in refused.value.errors] == ["MERCHANT_NOT_ALLOWED"]


@pytest.mark.parametrize("skew", [timedelta(minutes=10), timedelta(minutes=-10)])
def test_a_date_ten_minutes_off_is_refused_though_correctly_signed(settings, sandbox, skew):
    # given a correctly signed create whose Date is ten minutes off
    path = f"/v1/{settings.GATEWAY_MERCHANT_ID}/hostedcheckouts"
    sent_at = datetime.now(UTC) + skew

    # when it is sent
    response = signed_request(settings, sandbox, "POST", path, body=create_body(), sent_at=sent_at)

    # then it is refused with 403 for its Date
    assert response.status_code == 403
    assert [error["id"] for error in response.json()["errors"]] == ["MISSING_OR_INVALID_DATE"]
    # while the same request with the current Date is accepted
    assert signed_request(settings, sandbox, "POST", path, body=create_body()).status_code == 201


def test_a_request_without_date_or_authorization_is_refused(settings, sandbox):
    path = f"/v1/{settings.GATEWAY_MERCHANT_ID}/hostedcheckouts"

    no_authorization = requests.post(sandbox.url + path, json=create_body(), timeout=10)
    no_date = requests.post(
        sandbox.url + path,
        json=create_body(),
        headers={"Authorization": f"GCS v1HMAC:{settings.GATEWAY_API_KEY_ID}:AAAA"},
        timeout=10,
    )

    assert no_authorization.status_code == 403
    assert no_authorization.json()["errors"][0]["id"] == "MISSING_OR_INVALID_AUTHORIZATION"
    assert no_date.status_code == 403
    assert no_date.json()["errors"][0]["id"] == "MISSING_OR_INVALID_DATE"


# --- idempotence --------------------------------------------------------------------------


def test_a_repeated_idempotence_key_replays_the_first_answer(settings, sandbox, gateway):
    # given a checkout created with an idempotence key
    body = checkout_request()
    first_context = CallContext(idempotence_key="replay-key-1")
    first = gateway.hostedcheckouts().create(body, first_context)

    # when the same request is sent again with the same key
    second_context = CallContext(idempotence_key="replay-key-1")
    second = gateway.hostedcheckouts().create(body, second_context)

    # then the first answer comes back, marked with the first request's time
    assert second.to_dictionary() == first.to_dictionary()
    assert first_context.idempotence_request_timestamp is None
    assert isinstance(second_context.idempotence_request_timestamp, int)
    assert second_context.idempotence_request_timestamp > 1_600_000_000_000


def test_a_replay_has_the_same_status_and_bytes(settings, sandbox):
    path = f"/v1/{settings.GATEWAY_MERCHANT_ID}/hostedcheckouts"
    body = create_body()

    def send():
        sent_at = datetime.now(UTC)
        headers = [
            ("Date", format_datetime(sent_at, usegmt=True)),
            ("Content-Type", "application/json"),
            ("X-GCS-Idempotence-Key", "replay-bytes"),
        ]
        authorization = authorization_header(
            settings.GATEWAY_API_KEY_ID, settings.GATEWAY_SECRET_API_KEY, "POST", path, headers
        )
        return requests.post(
            sandbox.url + path,
            data=json.dumps(body),
            headers=dict([*headers, ("Authorization", authorization)]),
            timeout=10,
        )

    first, second = send(), send()

    assert (first.status_code, second.status_code) == (201, 201)
    assert second.content == first.content
    assert "X-GCS-Idempotence-Request-Timestamp" not in first.headers
    assert second.headers["X-GCS-Idempotence-Request-Timestamp"].isdigit()


def test_a_concurrent_duplicate_gets_409_idempotence_exception(sandbox, gateway):
    # given a create that the gateway is still processing
    assert sandbox.control("POST", "hold-creates", {"hold": True}).status_code == 200
    body = checkout_request()
    results = {}

    def first_request():
        try:
            results["first"] = gateway.hostedcheckouts().create(
                body, CallContext(idempotence_key="concurrent-key")
            )
        except Exception as error:  # reported by the assertions below
            results["first"] = error

    thread = threading.Thread(target=first_request)
    thread.start()
    try:
        wait_until(
            lambda: sandbox.control("GET", "hold-creates").json()["waiting"] == 1,
            what="the first create to be held",
        )

        # when a duplicate with the same key arrives
        with pytest.raises(IdempotenceException) as conflict:
            gateway.hostedcheckouts().create(body, CallContext(idempotence_key="concurrent-key"))
    finally:
        sandbox.control("POST", "hold-creates", {"hold": False})
        thread.join(15)

    # then it is told the first is in progress, and the first one completes
    assert conflict.value.status_code == 409
    assert conflict.value.idempotence_key == "concurrent-key"
    assert [error.code for error in conflict.value.errors] == ["1409"]
    created = results["first"]
    assert isinstance(created, CreateHostedCheckoutResponse), created
    # and a later repeat replays that one checkout
    again = gateway.hostedcheckouts().create(body, CallContext(idempotence_key="concurrent-key"))
    assert again.hosted_checkout_id == created.hosted_checkout_id


def test_a_reused_key_with_a_different_body_is_a_conflict(gateway):
    gateway.hostedcheckouts().create(checkout_request(), CallContext(idempotence_key="reused-key"))

    with pytest.raises(IdempotenceException) as conflict:
        gateway.hostedcheckouts().create(
            checkout_request(), CallContext(idempotence_key="reused-key")
        )

    assert "body mismatch" in conflict.value.errors[0].message


# --- gateway failure -------------------------------------------------------------------------


def test_503_then_a_retry_with_the_same_key_succeeds_exactly_once(sandbox, gateway):
    # given the gateway fails the next create
    assert sandbox.control("POST", "fail-next-create", {"count": 1}).json() == {
        "failNextCreates": 1
    }
    body = checkout_request()

    # when the store creates, fails, and retries with the same key
    with pytest.raises(PlatformException) as failed:
        gateway.hostedcheckouts().create(body, CallContext(idempotence_key="retry-key"))
    retry_context = CallContext(idempotence_key="retry-key")
    created = gateway.hostedcheckouts().create(body, retry_context)

    # then the failure was a 503 and the retry was processed afresh, once
    assert failed.value.status_code == 503
    assert retry_context.idempotence_request_timestamp is None
    again_context = CallContext(idempotence_key="retry-key")
    again = gateway.hostedcheckouts().create(body, again_context)
    assert again.hosted_checkout_id == created.hosted_checkout_id
    assert again_context.idempotence_request_timestamp is not None


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "property_name"),
    [
        ({"amount": 0}, "order.amountOfMoney.amount"),
        ({"amount": -5}, "order.amountOfMoney.amount"),
        ({"amount": "12345"}, "order.amountOfMoney.amount"),
        ({"currency": "MY"}, "order.amountOfMoney.currencyCode"),
        ({"currency": "myr"}, "order.amountOfMoney.currencyCode"),
        ({"return_url": "/payments/return/"}, "hostedCheckoutSpecificInput.returnUrl"),
        ({"return_url": "ftp://shop.example/return"}, "hostedCheckoutSpecificInput.returnUrl"),
        ({"reference": "R" * 31}, "order.references.merchantReference"),
    ],
)
def test_an_invalid_create_is_a_validation_exception(gateway, change, property_name):
    with pytest.raises(ValidationException) as invalid:
        gateway.hostedcheckouts().create(checkout_request(**change))

    assert invalid.value.status_code == 400
    assert [error.property_name for error in invalid.value.errors] == [property_name]
    assert invalid.value.errors[0].http_status_code == 400


@pytest.mark.parametrize(
    ("body", "property_name"),
    [
        ({}, "order.amountOfMoney"),
        ({"order": {"amountOfMoney": {"amount": 100, "currencyCode": "MYR"}}}, "order.references"),
        (
            {
                "order": {
                    "amountOfMoney": {"amount": 100, "currencyCode": "MYR"},
                    "references": {"merchantReference": ""},
                },
                "hostedCheckoutSpecificInput": {"returnUrl": "https://shop.example/r"},
            },
            "order.references.merchantReference",
        ),
        (
            {
                "order": {
                    "amountOfMoney": {"amount": 100, "currencyCode": "MYR"},
                    "references": {"merchantReference": "R1"},
                },
            },
            "hostedCheckoutSpecificInput",
        ),
    ],
)
def test_missing_fields_name_the_property(settings, sandbox, body, property_name):
    path = f"/v1/{settings.GATEWAY_MERCHANT_ID}/hostedcheckouts"

    response = signed_request(settings, sandbox, "POST", path, body=body)

    assert response.status_code == 400
    assert [error["propertyName"] for error in response.json()["errors"]] == [property_name]


def test_a_body_that_is_not_json_is_a_400(settings, sandbox):
    path = f"/v1/{settings.GATEWAY_MERCHANT_ID}/hostedcheckouts"
    sent_at = format_datetime(datetime.now(UTC), usegmt=True)
    headers = [("Date", sent_at), ("Content-Type", "application/json")]
    authorization = authorization_header(
        settings.GATEWAY_API_KEY_ID, settings.GATEWAY_SECRET_API_KEY, "POST", path, headers
    )

    response = requests.post(
        sandbox.url + path,
        data=b"{not json",
        headers=dict([*headers, ("Authorization", authorization)]),
        timeout=10,
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["id"] == "REQUEST_NOT_VALID"


# --- reading status -----------------------------------------------------------------------


def test_unknown_checkout_and_payment_are_reference_exceptions(gateway):
    with pytest.raises(ReferenceException) as checkout:
        gateway.hostedcheckouts().get("1001-00000000000000000000000000000000")
    with pytest.raises(ReferenceException) as payment:
        gateway.payments().get("00000000000000000001", GetPaymentParams())

    assert (checkout.value.status_code, payment.value.status_code) == (404, 404)


def test_status_and_payment_are_read_whole_by_the_sdk(
    settings, sandbox, gateway, create_checkout, hosted_page
):
    # given a paid checkout
    created = pay_approved(create_checkout, hosted_page)
    merchant_id = settings.GATEWAY_MERCHANT_ID

    # when its status and its payment are read raw
    status = signed_request(
        settings, sandbox, "GET", f"/v1/{merchant_id}/hostedcheckouts/{created.hosted_checkout_id}"
    ).json()
    payment_id = status["createdPaymentOutput"]["payment"]["id"]
    payment = signed_request(settings, sandbox, "GET", f"/v1/{merchant_id}/payments/{payment_id}")

    # then the SDK's classes know every field of both
    assert_sdk_reads_everything(GetHostedCheckoutResponse, status)
    assert payment.status_code == 200
    assert_sdk_reads_everything(PaymentResponse, payment.json())
    assert payment.json() == status["createdPaymentOutput"]["payment"]


def test_get_payment_through_the_sdk(gateway, create_checkout, hosted_page):
    created = pay_approved(create_checkout, hosted_page)
    payment_id = payment_of(gateway, created.hosted_checkout_id).id

    payment = gateway.payments().get(payment_id, GetPaymentParams())

    assert payment.id == payment_id
    assert payment.status == "CAPTURED"
    assert payment.status_output.status_category == "COMPLETED"
    assert payment.payment_output.amount_of_money.amount == 12345
    assert payment.hosted_checkout_specific_output.hosted_checkout_id == created.hosted_checkout_id


# --- refunds ------------------------------------------------------------------------------


def refund_request(amount: int, currency: str = "MYR", reference: str = "REF-1") -> RefundRequest:
    return RefundRequest().from_dictionary(
        {
            "amountOfMoney": {"amount": amount, "currencyCode": currency},
            "refundReferences": {"merchantReference": reference},
        }
    )


def test_a_full_refund_makes_the_payment_refunded(
    settings, sandbox, gateway, create_checkout, hosted_page
):
    # given a captured payment
    created = pay_approved(create_checkout, hosted_page)
    payment_id = payment_of(gateway, created.hosted_checkout_id).id

    # when it is refunded in full
    refund = gateway.payments().refund(payment_id, refund_request(12345))

    # then the refund is done and the payment is REFUNDED
    assert refund.status == "REFUNDED"
    assert refund.id.startswith(payment_id)
    assert refund.refund_output.amount_of_money.amount == 12345
    assert refund.refund_output.references.merchant_reference == "REF-1"
    payment = gateway.payments().get(payment_id, GetPaymentParams())
    assert payment.status == "REFUNDED"
    assert payment.status_output.status_category == "REFUNDED"
    assert payment.status_output.is_refundable is False
    assert payment.payment_output.amount_refunded == 12345
    assert gateway.hostedcheckouts().get(created.hosted_checkout_id).status == "PAYMENT_CREATED"


def test_refund_answer_is_201_and_read_whole_by_the_sdk(
    settings, sandbox, gateway, create_checkout, hosted_page
):
    created = pay_approved(create_checkout, hosted_page)
    payment_id = payment_of(gateway, created.hosted_checkout_id).id
    path = f"/v1/{settings.GATEWAY_MERCHANT_ID}/payments/{payment_id}/refund"

    response = signed_request(
        settings, sandbox, "POST", path, body=refund_request(12345).to_dictionary()
    )

    assert response.status_code == 201
    assert_sdk_reads_everything(RefundResponse, response.json())


def test_partial_refunds_refund_the_payment_when_they_add_up(gateway, create_checkout, hosted_page):
    created = pay_approved(create_checkout, hosted_page)
    payment_id = payment_of(gateway, created.hosted_checkout_id).id

    gateway.payments().refund(payment_id, refund_request(12000))
    part = gateway.payments().get(payment_id, GetPaymentParams())
    gateway.payments().refund(payment_id, refund_request(345))
    whole = gateway.payments().get(payment_id, GetPaymentParams())

    assert (part.status, part.payment_output.amount_refunded) == ("CAPTURED", 12000)
    assert part.status_output.is_refundable is True
    assert (whole.status, whole.payment_output.amount_refunded) == ("REFUNDED", 12345)


@pytest.mark.parametrize(
    ("request_", "property_name"),
    [
        (refund_request(12346), "amountOfMoney.amount"),
        (refund_request(100, currency="USD"), "amountOfMoney.currencyCode"),
        (refund_request(0), "amountOfMoney.amount"),
    ],
)
def test_a_refund_that_does_not_fit_is_refused_and_changes_nothing(
    gateway, create_checkout, hosted_page, request_, property_name
):
    created = pay_approved(create_checkout, hosted_page)
    payment_id = payment_of(gateway, created.hosted_checkout_id).id

    with pytest.raises(ValidationException) as refused:
        gateway.payments().refund(payment_id, request_)

    assert [error.property_name for error in refused.value.errors] == [property_name]
    payment = gateway.payments().get(payment_id, GetPaymentParams())
    assert (payment.status, payment.payment_output.amount_refunded) == ("CAPTURED", 0)


def test_a_refunded_payment_cannot_be_refunded_again(gateway, create_checkout, hosted_page):
    created = pay_approved(create_checkout, hosted_page)
    payment_id = payment_of(gateway, created.hosted_checkout_id).id
    gateway.payments().refund(payment_id, refund_request(12345))

    with pytest.raises(ValidationException) as refused:
        gateway.payments().refund(payment_id, refund_request(1))

    assert refused.value.errors[0].id == "REFUND_NOT_ALLOWED"
    assert (
        gateway.payments().get(payment_id, GetPaymentParams()).payment_output.amount_refunded
        == 12345
    )
