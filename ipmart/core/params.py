"""Numbers read from a query string, validated before they reach a query or a cache key.

`?page=99999999999999999999` made PostgreSQL fail ("bigint out of range") with a 500, and raw
page numbers in cache keys let anonymous requests fill the shared Redis. Every numeric query
parameter goes through here: garbage becomes the default, and values are clamped to a range."""

from django.conf import settings


def bounded_int(value, *, default: int, minimum: int, maximum: int) -> int:
    """`value` (a query-string string or None) as an int in [minimum, maximum]; `default`
    when it is missing or not a plain decimal number (signs, spaces, exponents, huge
    strings)."""
    if value is None:
        return default
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()):
        return default  # "", "-1", "1e9", "abc", "１" (non-ASCII digits)
    digits = text.lstrip("0") or "0"
    if len(digits) > 18:  # beyond any bigint: no int() of a 10,000-digit string either
        return maximum
    return min(max(int(digits), minimum), maximum)


def page_number(request, name: str = "page") -> int:
    """The page asked for in `request.GET[name]`: 1 for anything that is not a positive
    number, at most MAX_PAGE_NUMBER (deeper pages show as the last allowed one)."""
    return bounded_int(
        request.GET.get(name), default=1, minimum=1, maximum=settings.MAX_PAGE_NUMBER
    )
