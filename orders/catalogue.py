"""The catalogue's cache version. Listing fragments are cached under a key that includes this
number; anything that changes what a listing shows (a product saved, stock or keys reserved,
released or imported) bumps it after commit, so a cached page never shows a stale price or
availability for longer than the commit takes."""

import threading
import time
from collections import OrderedDict

from django.core.cache import cache
from django.db import transaction

VERSION_KEY = "orders:catalogue-version"


def catalogue_version() -> int:
    version = cache.get(VERSION_KEY)
    if version is None:
        # Start from the clock, not 1: after the shared cache is flushed, a new version must
        # never equal one whose fragments a process still holds in memory.
        cache.add(VERSION_KEY, time.time_ns() // 1000, timeout=None)
        version = cache.get(VERSION_KEY)
    return version


def _bump() -> None:
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # evicted meanwhile: start again from the clock
        cache.add(VERSION_KEY, time.time_ns() // 1000, timeout=None)


def bump_catalogue_version() -> None:
    """Invalidate cached listings once the current transaction commits."""
    transaction.on_commit(_bump)


def tax_rates(version: int | None = None) -> dict:
    """{product kind: rate %} for showing cart totals, cached per catalogue version (a rate
    changed in admin bumps it). Placing an order reads the table itself. `version`: the
    catalogue version the caller already read for this request (one shared-cache read)."""
    from .models import TaxRate

    if version is None:
        version = catalogue_version()
    return cached_fragment(
        f"orders:tax-rates:{version}",
        lambda: {rate.kind: rate.rate_percent for rate in TaxRate.objects.all()},
    )


def displayed_availability(products: list, version: int | None = None) -> dict[int, int]:
    """Units left of each product, for showing a cart: cached per catalogue version, which every
    reservation, release and key import bumps. Adding to the cart and placing an order check
    the database itself. `version` as for tax_rates()."""
    from .services.availability import available_units

    if version is None:
        version = catalogue_version()
    ids = ",".join(str(pk) for pk in sorted(p.pk for p in products))
    return cached_fragment(
        f"orders:availability:{version}:{ids}", lambda: available_units(products)
    )


_local_fragments: OrderedDict[str, object] = OrderedDict()
_local_lock = threading.Lock()
LOCAL_FRAGMENTS = 256
FRAGMENT_SECONDS = 600


def cached_fragment(key: str, build):
    """A rendered listing fragment: from this process's memory, else the shared cache, else
    `build()`. `key` must contain the catalogue version, which is read from the shared cache
    on every request, so no level can serve a fragment older than the last bump."""
    with _local_lock:  # gunicorn threads share the memo
        value = _local_fragments.get(key)
        if value is not None:
            _local_fragments.move_to_end(key)
            return value
    value = cache.get(key)
    if value is None:
        value = build()
        cache.set(key, value, FRAGMENT_SECONDS)
    with _local_lock:
        _local_fragments[key] = value
        while len(_local_fragments) > LOCAL_FRAGMENTS:
            _local_fragments.popitem(last=False)
    return value
