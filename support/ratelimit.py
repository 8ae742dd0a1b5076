"""How many inquiries one IP address and one email address may send per hour, and how many
replies a thread, an IP address and an email address may add per hour (the shared cache holds
the counters, so every web worker sees the same numbers)."""

import hashlib

from django.conf import settings
from django.core.cache import cache

WINDOW_SECONDS = 3600


def _hashed(kind: str, value: str) -> str:
    return f"support:rl:{kind}:" + hashlib.sha256(value.encode()).hexdigest()[:32]


def _keys(ip_address: str | None, email: str, *, prefix: str = "") -> list[str]:
    keys = []
    if ip_address:
        keys.append(_hashed(prefix + "ip", ip_address))
    if email:
        keys.append(_hashed(prefix + "em", email.lower()))
    return keys


def _allowed(keys: list[str], limit: int) -> bool:
    if limit <= 0:
        return False
    counts = cache.get_many(keys)
    return all(count < limit for count in counts.values())


def _count(keys: list[str]) -> None:
    for key in keys:
        if not cache.add(key, 1, timeout=WINDOW_SECONDS):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, timeout=WINDOW_SECONDS)


def inquiry_allowed(ip_address: str | None, email: str) -> bool:
    """True while neither the IP address nor the email address has used up its hour."""
    return _allowed(_keys(ip_address, email), settings.SUPPORT_INQUIRIES_PER_HOUR)


def count_inquiry(ip_address: str | None, email: str) -> None:
    """Count one accepted inquiry against both (refused ones are not counted)."""
    _count(_keys(ip_address, email))


def _reply_keys(inquiry_id: int, ip_address: str | None, email: str) -> list[str]:
    return [f"support:rl:thread:{inquiry_id}", *_keys(ip_address, email, prefix="reply-")]


def reply_allowed(inquiry_id: int, ip_address: str | None, email: str) -> bool:
    """True while the thread, the IP address and the email address (the customer's or the
    guest's) are all under SUPPORT_REPLIES_PER_HOUR replies this hour."""
    return _allowed(_reply_keys(inquiry_id, ip_address, email), settings.SUPPORT_REPLIES_PER_HOUR)


def count_reply(inquiry_id: int, ip_address: str | None, email: str) -> None:
    """Count one accepted reply against the thread, the IP address and the email address."""
    _count(_reply_keys(inquiry_id, ip_address, email))
