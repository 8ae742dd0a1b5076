"""The sandbox's signatures, without a server: v1HMAC against the SDK's test vectors and the SDK's
own authenticator, webhook signatures against the SDK's validator."""

from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse

import pytest
from worldline.connect.sdk.authentication.v1hmac_authenticator import V1HMACAuthenticator
from worldline.connect.sdk.communication.request_header import RequestHeader
from worldline.connect.sdk.webhooks.in_memory_secret_key_store import InMemorySecretKeyStore
from worldline.connect.sdk.webhooks.signature_validation_exception import (
    SignatureValidationException,
)
from worldline.connect.sdk.webhooks.signature_validator import SignatureValidator

from payment_sandbox.signing import (
    authorization_header,
    string_to_sign,
    verify_request,
    webhook_signature,
)

NOW = datetime(2014, 6, 6, 13, 40, 0, tzinfo=UTC)
DATE = "Fri, 06 Jun 2014 13:39:43 GMT"
KEYS = {"EC36A74A98D21": "6Kj5HT0MQKC6D8eb7W3lTg71kVKVDSt1"}


def test_minimal_vector_from_the_sdk():
    # given the SDK's minimal case: a GET with only a Date
    headers = [("Date", DATE)]

    # when the sandbox computes the string to sign and the header
    text = string_to_sign("GET", "/v2/1/tokens/2", headers)
    header = authorization_header(
        "EC36A74A98D21", KEYS["EC36A74A98D21"], "GET", "/v2/1/tokens/2", headers
    )

    # then both are the SDK's expected values
    assert text == "GET\n\nFri, 06 Jun 2014 13:39:43 GMT\n/v2/1/tokens/2\n"
    assert header == "GCS v1HMAC:EC36A74A98D21:vCos01y77soPNJOW6kDCm4Bu5b2darAZ09PP7Wa+jRA="


def test_full_vector_from_the_sdk_sorts_and_lowercases_gcs_headers():
    # given the SDK's full case: three x-gcs headers in mixed case and order
    headers = [
        ("X-GCS-ServerMetaInfo", "processed header value"),
        ("X-GCS-ClientMetaInfo", "processed header value"),
        ("Date", "Wed, 01 Jan 2020 11:00:00 GMT"),
        ("X-GCS-CustomerHeader", "processed header value"),
        ("Accept", "application/json"),
    ]

    # when the sandbox signs it
    header = authorization_header("keyId", "secretApiKey", "DELETE", "/v2/1/tokens", headers)

    # then the signature is the SDK's and headers other than x-gcs* do not count
    assert header == "GCS v1HMAC:keyId:zcDsJLRYsh99pqyCFdrVLyLVi+4A+QLis14rEtV8c98="


def test_folded_header_values_collapse_to_one_space():
    headers = [("Date", DATE), ("X-GCS-Test", "  first\r\n   second\n\tthird  ")]

    assert (
        string_to_sign("GET", "/p", headers)
        == f"GET\n\n{DATE}\nx-gcs-test:first second third\n/p\n"
    )


def _sdk_signed_headers(method: str, url: str, headers: list[tuple[str, str]]):
    """Sign as the SDK does, with its own authenticator."""
    authenticator = V1HMACAuthenticator("EC36A74A98D21", KEYS["EC36A74A98D21"])
    sdk_headers = [RequestHeader(name, value) for name, value in headers]
    authorization = authenticator.get_authorization(method, urlparse(url), sdk_headers)
    return [*headers, ("Authorization", authorization)]


def test_verifier_accepts_what_the_sdk_signs_including_the_query():
    # given a POST signed by the SDK's authenticator, with a body type, gcs headers and a query
    headers = _sdk_signed_headers(
        "POST",
        "http://127.0.0.1:8001/v1/m/payments/1/refund?returnOperations=true",
        [
            ("Content-Type", "application/json"),
            ("Date", DATE),
            ("X-GCS-ServerMetaInfo", "eyJ4IjoxfQ=="),
            ("X-GCS-Idempotence-Key", "abc"),
        ],
    )

    # when the sandbox verifies it
    key_id, failure = verify_request(
        method="POST",
        path_and_query="/v1/m/payments/1/refund?returnOperations=true",
        headers=headers,
        api_keys=KEYS,
        now=NOW,
    )

    # then it is authentic
    assert (key_id, failure) == ("EC36A74A98D21", None)


@pytest.mark.parametrize(
    ("change", "error_id"),
    [
        ({"path": "/v1/m/payments/2"}, "MISSING_OR_INVALID_AUTHORIZATION"),
        ({"method": "DELETE"}, "MISSING_OR_INVALID_AUTHORIZATION"),
        ({"keys": {"EC36A74A98D21": "another-secret"}}, "MISSING_OR_INVALID_AUTHORIZATION"),
        ({"keys": {"other-key": KEYS["EC36A74A98D21"]}}, "MISSING_OR_INVALID_AUTHORIZATION"),
        ({"now": NOW + timedelta(minutes=5, seconds=30)}, "MISSING_OR_INVALID_DATE"),
        ({"now": NOW - timedelta(minutes=6)}, "MISSING_OR_INVALID_DATE"),
        ({"drop": "Date"}, "MISSING_OR_INVALID_DATE"),
        ({"drop": "Authorization"}, "MISSING_OR_INVALID_AUTHORIZATION"),
        ({"add": ("X-GCS-Extra", "not signed")}, "MISSING_OR_INVALID_AUTHORIZATION"),
    ],
)
def test_verifier_refuses_anything_changed(change, error_id):
    # given a GET signed by the SDK
    headers = _sdk_signed_headers("GET", "http://h/v1/m/payments/1", [("Date", DATE)])
    headers = [header for header in headers if header[0] != change.get("drop")]
    if "add" in change:
        headers.append(change["add"])

    # when one thing about it differs from what was signed
    key_id, failure = verify_request(
        method=change.get("method", "GET"),
        path_and_query=change.get("path", "/v1/m/payments/1"),
        headers=headers,
        api_keys=change.get("keys", KEYS),
        now=change.get("now", NOW),
    )

    # then it is refused with the reason
    assert key_id is None
    assert failure.error_id == error_id


def test_webhook_signature_is_what_the_sdk_validator_expects():
    # given a body signed by the sandbox
    body = b'{"apiVersion":"v1","id":"e1","type":"payment.captured"}'
    headers = [
        RequestHeader("X-GCS-Signature", webhook_signature("hello+world", body)),
        RequestHeader("X-GCS-KeyId", "dummy-key-id"),
    ]
    store = InMemorySecretKeyStore.instance()
    store.store_secret_key("dummy-key-id", "hello+world")
    try:
        validator = SignatureValidator(store)

        # then the SDK accepts it, and refuses one changed byte
        validator.validate(body, headers)
        with pytest.raises(SignatureValidationException):
            validator.validate(body.replace(b"e1", b"e2"), headers)
    finally:
        store.remove_secret_key("dummy-key-id")
