"""No query string makes a page fail: every page of the store (every named URL, the admin's
included) is requested with huge, negative, zero, non-numeric, fractional, overlong and NUL
values in every query parameter the store or Django's admin reads, as an anonymous visitor, a
customer and a superuser. A 500 anywhere fails the test (`GET /orders/?page=99999999999999999999`
was one: "bigint out of range" on PostgreSQL)."""

import pytest
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

from tests.factories import (
    AddressFactory,
    LicenceKeyFactory,
    OrderFactory,
    OrderLineFactory,
    PolicyVersionFactory,
    ProductFactory,
    UserFactory,
    enrolled_in_mfa,
)

pytestmark = pytest.mark.django_db

VALUES = ["99999999999999999999", "9" * 400, "-1", "1e9", "", "\x00"]
PAGE_PARAMS = ("page", "p")
OTHER_PARAMS = (
    "q",
    "e",
    "category",
    "next",
    "lang",
    "id",
    "all",
    "_popup",
    "_to_field",
    "hostedCheckoutId",
    "RETURNMAC",
    "placed_at__year",
    "placed_at__month",
)


def named_urls(resolver=None, namespace=""):
    """(full name, parameter names) of every named URL pattern."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from named_urls(entry, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            converters = getattr(entry.pattern, "converters", {})
            names = list(converters) or list(entry.pattern.regex.groupindex)
            yield f"{namespace}{entry.name}", names


@pytest.fixture
def world():
    customer = UserFactory()
    address = AddressFactory(user=customer)
    product = ProductFactory(licence=True, slug="fuzz-licence")
    order = OrderFactory(user=customer)
    line = OrderLineFactory(order=order, product=product)
    LicenceKeyFactory(product=product, status="reserved", order_line=line)
    policy = PolicyVersionFactory() if not _has_policy() else None
    superuser = enrolled_in_mfa(UserFactory(is_staff=True, is_superuser=True))
    samples = {
        "product_id": product.pk,
        "address_id": address.pk,
        "slug": product.slug,
        "number": order.number,
        "version": policy.version if policy else _first_policy_version(),
        "object_id": order.pk,
        "app_label": "orders",
        "content_type_id": 1,
    }
    return {"customer": customer, "superuser": superuser, "samples": samples}


def _has_policy() -> bool:
    from privacy.models import PolicyVersion

    return PolicyVersion.objects.exists()


def _first_policy_version() -> str:
    from privacy.models import PolicyVersion

    return PolicyVersion.objects.order_by("pk").first().version


def urls_to_try(samples) -> tuple[list[str], list[str]]:
    reached, skipped = [], []
    for name, params in named_urls():
        kwargs = {param: samples.get(param, "x") for param in params}
        try:
            reached.append(reverse(name, kwargs=kwargs))
        except NoReverseMatch:
            try:
                reached.append(reverse(name, kwargs={p: 1 for p in params}))
            except NoReverseMatch:
                skipped.append(name)
    return sorted(set(reached)), skipped


def fuzz(client, urls) -> list[str]:
    failures = []
    for url in urls:
        for value in VALUES:
            # the page numbers and the admin's ordering apart (each can end a request early),
            # everything else together
            sets = (
                (PAGE_PARAMS, ("o",), OTHER_PARAMS)
                if url.startswith("/admin/")
                else (
                    PAGE_PARAMS,
                    OTHER_PARAMS,
                )
            )
            for params in sets:
                response = client.get(url, {name: value for name in params})
                if response.status_code >= 500:
                    failures.append(f"{response.status_code} GET {url} {params} = {value[:20]!r}")
    return failures


def test_the_walk_covers_the_pages_that_read_numbers(world):
    urls, skipped = urls_to_try(world["samples"])
    assert {"/shop/", "/orders/", "/admin/orders/order/", "/admin/orders/licencekey/"} <= set(urls)
    assert len(urls) > 60, skipped


@pytest.mark.parametrize("who", ["anonymous", "customer", "superuser"])
def test_no_query_value_makes_any_page_fail(client, world, who):
    if who != "anonymous":
        client.force_login(world[who])
    client.raise_request_exception = False
    urls, _ = urls_to_try(world["samples"])
    if who != "superuser":
        urls = [url for url in urls if not url.startswith("/admin/")]
    assert fuzz(client, urls) == []
