"""Whole-page cache for anonymous visitors (home, shop, categories, searches, products, policy).

    @anonymous_page_cache(version=catalogue_version, query=shop_query)
    def shop(request): ...

A page is served from the cache only to a GET without a session cookie and without a messages
cookie (nothing on the page can be about that visitor), for a query string the view declares
canonical and bounded (`query(request)` returns it, or None: not cached). The key holds the
path, that query string, the active language and `version()` (the catalogue version: a price
change shows on the next request). Entries live in this process's memory (bounded LRU) and,
unless the query holds free text (`shared=False`), in the shared cache.

CSRF: a cached page must not carry one visitor's token to another. While a page is rendered
for the cache, `{% csrf_token %}` writes a placeholder (context processor `csrf_placeholder`);
every response, fresh or cached, gets the placeholder replaced by this request's own masked
token (`get_token`, which also makes CsrfViewMiddleware set the visitor's csrftoken cookie), so
forms on cached pages (add to cart, the language switcher) work, each with its visitor's token.

Headers: the view's own headers are stored with the page; middleware headers (CSP, X-Frame-
Options, Vary, cookies) are added on every response as for any page. CSP here has no nonce; a
page whose render asked for one (`request.csp_nonce`) is never stored, since its body would not
match the next response's header."""

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language

PLACEHOLDER = "__page_cache_csrf_token__"
SHARED_SECONDS = 600
LOCAL_PAGES = 128
# Headers Django's middleware adds on the way out: never stored with a page.
_MIDDLEWARE_HEADERS = {
    "vary",
    "content-language",
    "content-length",
    "x-frame-options",
    "content-security-policy",
    "content-security-policy-report-only",
    "permissions-policy",
    "x-content-type-options",
    "referrer-policy",
    "cross-origin-opener-policy",
    "strict-transport-security",
    "x-request-id",
    "set-cookie",
}

_local: OrderedDict[str, tuple[int, bytes, list[tuple[str, str]]]] = OrderedDict()
_local_lock = threading.Lock()


GENERATION_KEY = "pagecache:generation"


def page_generation() -> int:
    """A number kept in the shared cache, for pages whose content has no version of its own
    (the policy: its id is part of its key, this covers everything else): a flushed cache
    starts a new generation from the clock, so no process serves its old copies."""
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        cache.add(GENERATION_KEY, time.time_ns() // 1000, timeout=None)
        generation = cache.get(GENERATION_KEY)
    return generation


def csrf_placeholder(request) -> dict:
    """Context processor: the placeholder instead of a token while a page renders for the
    cache (listed after Django's own csrf processor, so it wins only then)."""
    if getattr(request, "_page_cache_rendering", False):
        return {"csrf_token": PLACEHOLDER}
    return {}


def no_query(request) -> str | None:
    """For pages without parameters: cached only without a query string."""
    return "" if not request.META.get("QUERY_STRING") else None


def _anonymous_get(request) -> bool:
    cookies = request.COOKIES
    return (
        request.method == "GET"
        and settings.SESSION_COOKIE_NAME not in cookies
        and "messages" not in cookies
    )


def _key(request, query: str, version) -> str:
    raw = "|".join([request.path, query, get_language() or "", str(version)])
    return "pagecache:" + hashlib.sha256(raw.encode()).hexdigest()[:40]


def _lookup(key: str, shared: bool):
    with _local_lock:
        entry = _local.get(key)
        if entry is not None:
            _local.move_to_end(key)
            return entry
    if shared:
        entry = cache.get(key)
        if entry is not None:
            _remember(key, entry)
        return entry
    return None


def _remember(key: str, entry) -> None:
    with _local_lock:
        _local[key] = entry
        while len(_local) > LOCAL_PAGES:
            _local.popitem(last=False)


def forget_local_pages() -> None:
    """Empty this process's copies (tests)."""
    with _local_lock:
        _local.clear()


def _storable(request, response) -> bool:
    session = getattr(request, "session", None)
    return (
        response.status_code == 200
        and not response.streaming
        and not response.cookies
        and not (session is not None and session.modified)
        and not isinstance(getattr(request, "_csp_nonce", None), str)
        and "no-store" not in response.get("Cache-Control", "")
    )


def _respond(request, status: int, body: bytes, headers, state: str) -> HttpResponse:
    if PLACEHOLDER.encode() in body:
        body = body.replace(PLACEHOLDER.encode(), get_token(request).encode())
    response = HttpResponse(body, status=status)
    for name, value in headers:
        response[name] = value
    patch_vary_headers(response, ("Cookie",))
    response["X-Page-Cache"] = state
    return response


def anonymous_page_cache(
    *,
    version: Callable[[], object],
    query: Callable[..., str | None] = no_query,
    shared: Callable[..., bool] | bool = True,
):
    """Cache the decorated view's page for anonymous GETs (see the module docstring).
    `query(request)`: the canonical, bounded query string, or None to render uncached.
    `shared`: False (or a function of the request returning False) keeps the page out of the
    shared cache, for free-text keys that must not fill it."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            canonical = query(request) if _anonymous_get(request) else None
            if canonical is None:
                return view(request, *args, **kwargs)
            use_shared = shared(request) if callable(shared) else shared
            key = _key(request, canonical, version())
            entry = _lookup(key, use_shared)
            if entry is not None:
                return _respond(request, *entry, state="hit")
            request._page_cache_rendering = True
            try:
                response = view(request, *args, **kwargs)
                if hasattr(response, "render") and callable(response.render):
                    response = response.render()
            finally:
                request._page_cache_rendering = False
            headers = [
                (name, value)
                for name, value in response.items()
                if name.lower() not in _MIDDLEWARE_HEADERS
            ]
            if response.streaming:
                return response
            entry = (response.status_code, response.content, headers)
            if _storable(request, response):
                _remember(key, entry)
                if use_shared:
                    cache.set(key, entry, SHARED_SECONDS)
                return _respond(request, *entry, state="miss")
            if PLACEHOLDER.encode() in response.content:
                response.content = response.content.replace(
                    PLACEHOLDER.encode(), get_token(request).encode()
                )
            return response

        return wrapped

    return decorator
