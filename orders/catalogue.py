"""The catalogue's cache version. Listing fragments are cached under a key that includes this
number; anything that changes what a listing shows (a product saved, stock or keys reserved,
released or imported) bumps it after commit, so a cached page never shows a stale price or
availability for longer than the commit takes."""

from django.core.cache import cache
from django.db import transaction

VERSION_KEY = "orders:catalogue-version"


def catalogue_version() -> int:
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, 1, timeout=None)
        version = cache.get(VERSION_KEY, 1)
    return version


def _bump() -> None:
    try:
        cache.incr(VERSION_KEY)
    except ValueError:
        cache.set(VERSION_KEY, 2, timeout=None)


def bump_catalogue_version() -> None:
    """Invalidate cached listings once the current transaction commits."""
    transaction.on_commit(_bump)
