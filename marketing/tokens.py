"""Signed links in marketing email. One salt per purpose, so a token made for one purpose is
refused by the others; a dedicated key (MARKETING_SIGNING_KEY, falling back to SECRET_KEY) with
MARKETING_SIGNING_FALLBACKS (and SECRET_KEY_FALLBACKS) so keys rotate without breaking links
already in inboxes. Payloads hold the subscriber's public id and topic codes, never an email
address or a primary key (signed, not encrypted: anyone can read them)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core import signing

UNSUBSCRIBE_SALT = "marketing.unsubscribe.v1"
PREFERENCES_SALT = "marketing.preferences.v1"
CONFIRM_SALT = "marketing.confirm.v1"


class BadToken(Exception):
    """The token is tampered with, expired, or made for another purpose."""


def _keys() -> tuple[str, list[str]]:
    key = settings.MARKETING_SIGNING_KEY or settings.SECRET_KEY
    fallbacks = [*settings.MARKETING_SIGNING_FALLBACKS, *settings.SECRET_KEY_FALLBACKS]
    if settings.MARKETING_SIGNING_KEY:
        fallbacks.append(settings.SECRET_KEY)
    return key, fallbacks


def _signer(salt: str) -> signing.Signer:
    key, fallbacks = _keys()
    return signing.Signer(key=key, fallback_keys=fallbacks, salt=salt)


def _timestamp_signer(salt: str) -> signing.TimestampSigner:
    key, fallbacks = _keys()
    return signing.TimestampSigner(key=key, fallback_keys=fallbacks, salt=salt)


@dataclass(frozen=True)
class UnsubscribeClaim:
    public_id: uuid.UUID
    topic_code: str


def make_unsubscribe_token(public_id: uuid.UUID, topic_code: str) -> str:
    """For the List-Unsubscribe header and the footer link. Never expires (RFC 8058 links must
    keep working; the worst a leaked one does is unsubscribe its owner, which is logged)."""
    return _signer(UNSUBSCRIBE_SALT).sign_object({"s": public_id.hex, "t": topic_code})


def read_unsubscribe_token(token: str) -> UnsubscribeClaim:
    try:
        data = _signer(UNSUBSCRIBE_SALT).unsign_object(token)
        return UnsubscribeClaim(uuid.UUID(hex=data["s"]), str(data["t"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError) as error:
        raise BadToken(str(error)) from error


def make_preferences_token(public_id: uuid.UUID) -> str:
    return _timestamp_signer(PREFERENCES_SALT).sign_object({"s": public_id.hex})


def read_preferences_token(token: str) -> uuid.UUID:
    max_age = settings.MARKETING_PREFERENCES_LINK_DAYS * 86400
    try:
        data = _timestamp_signer(PREFERENCES_SALT).unsign_object(token, max_age=max_age)
        return uuid.UUID(hex=data["s"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as error:
        raise BadToken(str(error)) from error


def make_confirm_token(public_id: uuid.UUID, topic_codes: list[str]) -> str:
    return _timestamp_signer(CONFIRM_SALT).sign_object({"s": public_id.hex, "t": topic_codes})


def read_confirm_token(token: str) -> tuple[uuid.UUID, list[str]]:
    max_age = settings.MARKETING_CONFIRM_LINK_DAYS * 86400
    try:
        data = _timestamp_signer(CONFIRM_SALT).unsign_object(token, max_age=max_age)
        codes = data["t"]
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            raise ValueError("bad topics")
        return uuid.UUID(hex=data["s"]), codes
    except (signing.BadSignature, KeyError, TypeError, ValueError) as error:
        raise BadToken(str(error)) from error
