"""`|day_month_time` (ipmart/core/templatetags/dates.py) shows exactly what
`|date:"j M Y, H:i"` shows, in both languages and the store's time zone."""

import datetime

import pytest
from django.template import Context, Template
from django.utils import translation

MOMENTS = [
    datetime.datetime(2026, 1, 3, 16, 5, tzinfo=datetime.UTC),  # 4 Jan in Kuala Lumpur
    datetime.datetime(2026, 5, 31, 23, 59, tzinfo=datetime.UTC),
    datetime.datetime(2026, 8, 9, 0, 0, tzinfo=datetime.UTC),
    datetime.datetime(2026, 12, 25, 9, 30, tzinfo=datetime.UTC),
]
BOTH = Template('{% load dates %}{{ moment|day_month_time }}|{{ moment|date:"j M Y, H:i" }}')


@pytest.mark.parametrize("language", ["en", "ms"])
@pytest.mark.parametrize("moment", MOMENTS)
def test_it_shows_what_the_date_filter_shows(language, moment):
    with translation.override(language):
        ours, django = BOTH.render(Context({"moment": moment})).split("|")
    assert ours == django


def test_the_store_time_zone_and_malay_month_names_are_used():
    with translation.override("ms"):
        shown = BOTH.render(Context({"moment": MOMENTS[0]})).split("|")[0]
        may = BOTH.render(
            Context({"moment": datetime.datetime(2026, 5, 10, 2, 0, tzinfo=datetime.UTC)})
        ).split("|")[0]
    assert shown == "4 Jan 2026, 00:05"
    assert may == "10 Mei 2026, 10:00"


def test_no_date_shows_nothing():
    assert BOTH.render(Context({"moment": None})) == "|"
