"""The two signatures the sandbox deals in.

- v1HMAC, which authenticates every server-to-server call (Connect's "GCS v1HMAC" scheme): the
  sandbox recomputes the string to sign from the request it received and compares in constant time.
- The webhook signature: base64 HMAC-SHA256 of the raw body with the webhook secret.

Both follow the gateway's published algorithm (shared/reference/gateway.md §2.7 and §3.1); the
unit tests reproduce the SDK's own test vectors.
"""

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

# A line break followed by folding whitespace collapses to one space (RFC 2616 header folding).
_FOLDING = re.compile(r"\r?\n(?:(?![\r\n])\s)*")
_AUTHORIZATION = re.compile(r"^GCS v1HMAC:(?P<key_id>[^:]+):(?P<signature>[A-Za-z0-9+/=]+)$")

ALLOWED_CLOCK_SKEW = timedelta(minutes=5)


def canonical_header_value(value: str | None) -> str:
    return _FOLDING.sub(" ", value or "").strip()


def string_to_sign(method: str, path_and_query: str, headers: Iterable[tuple[str, str]]) -> str:
    """Method, Content-Type, Date, the x-gcs* headers sorted by lower-cased name, and the path
    with its raw query, each followed by a line feed."""
    content_type = ""
    date = ""
    gcs_headers = []
    for name, value in headers:
        lowered = name.lower()
        if lowered == "content-type":
            content_type = value
        elif lowered == "date":
            date = value
        elif lowered.startswith("x-gcs"):
            gcs_headers.append((lowered, canonical_header_value(value)))
    gcs_headers.sort(key=lambda header: header[0])
    canonical_headers = "".join(f"{name}:{value}\n" for name, value in gcs_headers)
    return f"{method.upper()}\n{content_type}\n{date}\n{canonical_headers}{path_and_query}\n"


def hmac_sha256_base64(secret: str, message: bytes) -> str:
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def authorization_header(
    key_id: str, secret: str, method: str, path_and_query: str, headers: Iterable[tuple[str, str]]
) -> str:
    """What a client sends as `Authorization` (used by tests that talk to the sandbox raw)."""
    signature = hmac_sha256_base64(secret, string_to_sign(method, path_and_query, headers).encode())
    return f"GCS v1HMAC:{key_id}:{signature}"


def webhook_signature(secret: str, body: bytes) -> str:
    """X-GCS-Signature for a webhook body."""
    return hmac_sha256_base64(secret, body)


@dataclass(frozen=True)
class AuthFailure:
    """Why a request was refused: an ErrorResponse id and a message for the caller."""

    error_id: str
    message: str


def verify_request(
    *,
    method: str,
    path_and_query: str,
    headers: list[tuple[str, str]],
    api_keys: dict[str, str],
    now: datetime | None = None,
) -> tuple[str | None, AuthFailure | None]:
    """Check a request's Date and v1HMAC Authorization against `api_keys` ({key id: secret}).
    Returns (key id, None) when it is authentic, (None, AuthFailure) otherwise."""
    values = {}
    for name, value in headers:
        values.setdefault(name.lower(), []).append(value)
    authorizations = values.get("authorization", [])
    if len(authorizations) != 1:
        return None, AuthFailure("MISSING_OR_INVALID_AUTHORIZATION", "Authorization header missing")
    match = _AUTHORIZATION.match(authorizations[0].strip())
    if match is None:
        return None, AuthFailure(
            "MISSING_OR_INVALID_AUTHORIZATION",
            "Authorization is not 'GCS v1HMAC:<keyId>:<signature>'",
        )
    dates = values.get("date", [])
    if len(dates) != 1:
        return None, AuthFailure("MISSING_OR_INVALID_DATE", "Date header missing")
    try:
        sent_at = parsedate_to_datetime(dates[0])
    except (TypeError, ValueError):
        sent_at = None
    if sent_at is None or sent_at.tzinfo is None:
        return None, AuthFailure("MISSING_OR_INVALID_DATE", "Date is not an RFC 1123 date in GMT")
    now = now or datetime.now(UTC)
    if abs(now - sent_at) > ALLOWED_CLOCK_SKEW:
        return None, AuthFailure(
            "MISSING_OR_INVALID_DATE",
            "Date differs from the gateway's clock by more than 5 minutes",
        )
    key_id = match["key_id"]
    secret = api_keys.get(key_id)
    if secret is None:
        return None, AuthFailure(
            "MISSING_OR_INVALID_AUTHORIZATION", f"unknown API key id {key_id!r}"
        )
    expected = hmac_sha256_base64(secret, string_to_sign(method, path_and_query, headers).encode())
    if not hmac.compare_digest(expected.encode(), match["signature"].encode()):
        return None, AuthFailure("MISSING_OR_INVALID_AUTHORIZATION", "signature does not match")
    return key_id, None
