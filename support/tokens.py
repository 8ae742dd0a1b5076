"""Signed links and reply addresses of an inquiry.

Every token carries the inquiry's `access_key`, so replacing the key revokes every link and reply
address given out before. Each purpose has its own salt: a guest link is not a rating link.
- guest link: `TimestampSigner`, valid SUPPORT_GUEST_LINK_DAYS after it was signed; every email
  about the thread carries a freshly signed one, so each reply renews it.
- rating link: `TimestampSigner`, valid SUPPORT_RATING_LINK_DAYS.
- reply address: `support+<pk>-<hmac>@domain`, lower-case hex so that mail servers that fold the
  local part's case still deliver it; it never expires (a late reply is still a reply).
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac

from .models import Inquiry

GUEST_SALT = "support.guest-link"
RATING_SALT = "support.rating-link"
REPLY_SALT = "support.reply-address"
REPLY_MAC_LENGTH = 24


class InvalidToken(Exception):
    """The token is tampered, expired, or names an inquiry that no longer accepts it."""


class ExpiredToken(InvalidToken):
    pass


def _sign(inquiry: Inquiry, salt: str) -> str:
    return signing.TimestampSigner(salt=salt).sign_object(
        {"i": inquiry.pk, "k": inquiry.access_key}, compress=False
    )


def _read(token: str, salt: str, days: int) -> Inquiry:
    signer = signing.TimestampSigner(salt=salt)
    try:
        data = signer.unsign_object(token, max_age=datetime.timedelta(days=days))
    except signing.SignatureExpired as error:
        raise ExpiredToken(str(error)) from error
    except (signing.BadSignature, ValueError) as error:
        raise InvalidToken(str(error)) from error
    if not isinstance(data, dict):
        raise InvalidToken("malformed")
    inquiry = Inquiry.objects.filter(pk=data.get("i")).first()
    if inquiry is None or not constant_time_compare(str(data.get("k")), inquiry.access_key):
        raise InvalidToken("revoked")
    return inquiry


def guest_token(inquiry: Inquiry) -> str:
    return _sign(inquiry, GUEST_SALT)


def inquiry_from_guest_token(token: str) -> Inquiry:
    """The inquiry a guest link opens. Raises ExpiredToken or InvalidToken."""
    inquiry = _read(token, GUEST_SALT, settings.SUPPORT_GUEST_LINK_DAYS)
    if inquiry.user_id is not None:
        raise InvalidToken("a customer's inquiry opens after signing in")
    return inquiry


def rating_token(inquiry: Inquiry) -> str:
    return _sign(inquiry, RATING_SALT)


def inquiry_from_rating_token(token: str) -> Inquiry:
    return _read(token, RATING_SALT, settings.SUPPORT_RATING_LINK_DAYS)


def _reply_mac(pk: int, access_key: str, secret: str) -> str:
    digest = salted_hmac(REPLY_SALT, f"{pk}:{access_key}", secret=secret, algorithm="sha256")
    return digest.hexdigest()[:REPLY_MAC_LENGTH]


def reply_address(inquiry: Inquiry) -> str:
    """The per-thread address every notification is sent from: support+<token>@domain."""
    local, _, domain = settings.SUPPORT_EMAIL.partition("@")
    mac = _reply_mac(inquiry.pk, inquiry.access_key, settings.SECRET_KEY)
    return f"{local}+{inquiry.pk}-{mac}@{domain}"


def inquiry_from_reply_address(address: str) -> Inquiry | None:
    """The inquiry whose reply address this is, or None for any other address (tampered,
    revoked, another mailbox). Keys in SECRET_KEY_FALLBACKS are still accepted."""
    local, _, domain = settings.SUPPORT_EMAIL.partition("@")
    address = address.strip().lower()
    prefix, suffix = f"{local.lower()}+", f"@{domain.lower()}"
    if not (address.startswith(prefix) and address.endswith(suffix)):
        return None
    tag = address[len(prefix) : -len(suffix)]
    pk_text, _, mac = tag.partition("-")
    if not pk_text.isdigit() or len(mac) != REPLY_MAC_LENGTH:
        return None
    inquiry = Inquiry.objects.filter(pk=int(pk_text)).first()
    if inquiry is None:
        return None
    for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]:
        if constant_time_compare(mac, _reply_mac(inquiry.pk, inquiry.access_key, secret)):
            return inquiry
    return None
