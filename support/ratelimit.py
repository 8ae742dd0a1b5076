"""How many inquiries one IP address and one email address may send per hour (the shared
cache holds the counters, so every web worker sees the same numbers)."""

import hashlib

from django.conf import settings
from django.core.cache import cache

WINDOW_SECONDS = 3600


def _keys(ip_address: str | None, email: str) -> list[str]:
    keys = []
    if ip_address:
        keys.append("support:rl:ip:" + hashlib.sha256(ip_address.encode()).hexdigest()[:32])
    if email:
        keys.append("support:rl:em:" + hashlib.sha256(email.lower().encode()).hexdigest()[:32])
    return keys


def inquiry_allowed(ip_address: str | None, email: str) -> bool:
    """True while neither the IP address nor the email address has used up its hour."""
    limit = settings.SUPPORT_INQUIRIES_PER_HOUR
    counts = cache.get_many(_keys(ip_address, email))
    return all(count < limit for count in counts.values())


def count_inquiry(ip_address: str | None, email: str) -> None:
    """Count one accepted inquiry against both (refused ones are not counted)."""
    for key in _keys(ip_address, email):
        if not cache.add(key, 1, timeout=WINDOW_SECONDS):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, timeout=WINDOW_SECONDS)
