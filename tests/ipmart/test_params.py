"""Numeric query parameters are validated before they reach a query or a cache key."""

import pytest
from django.test import RequestFactory

from ipmart.core.params import bounded_int, page_number


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, 1),
        ("", 1),
        ("3", 3),
        (" 7 ", 7),
        ("007", 7),
        ("0", 1),
        ("-1", 1),
        ("1e9", 1),
        ("1.5", 1),
        ("abc", 1),
        ("٣", 1),  # an Arabic-Indic digit: isdigit() but not a page number
        ("99999999999999999999", 200),
        ("9" * 5000, 200),
    ],
)
def test_page_numbers_are_clamped_or_defaulted(raw, expected, settings):
    settings.MAX_PAGE_NUMBER = 200
    request = RequestFactory().get("/", {} if raw is None else {"page": raw})
    assert page_number(request) == expected


def test_bounded_int_keeps_values_in_range():
    assert bounded_int("50", default=5, minimum=10, maximum=40) == 40
    assert bounded_int("2", default=5, minimum=10, maximum=40) == 10


@pytest.mark.django_db
def test_order_history_far_past_the_end_is_an_empty_page(client, settings):
    from tests.factories import UserFactory

    settings.MAX_PAGE_NUMBER = 200
    client.force_login(UserFactory())
    response = client.get("/orders/", {"page": "99999999999999999999"})
    assert response.status_code == 200
    assert response.context["page"].number == 200
    assert response.context["page"].object_list == []


@pytest.mark.django_db
def test_random_pages_and_searches_do_not_grow_the_cache(client):
    """3,000 anonymous requests with random page numbers once stored 22 MB in the shared Redis:
    now deep pages share one key and searches are not cached at all."""
    from orders.catalogue import _local_fragments
    from tests.factories import ProductFactory

    ProductFactory()
    client.get("/shop/")
    keys_before = set(_local_fragments)
    for n in range(1000, 1040):
        assert client.get("/shop/", {"page": str(n * 7919)}).status_code == 200
        assert client.get("/shop/", {"q": f"random {n}"}).status_code == 200
    new = set(_local_fragments) - keys_before
    assert len(new) <= 1  # the one page every deep page number is clamped to
