"""Response targets per category, read from SUPPORT_FIRST_RESPONSE_HOURS and
SUPPORT_RESOLUTION_HOURS ("category=hours,…"; a category not listed uses "other")."""

import datetime

from django.conf import settings

from .models import RESTRICTED_CATEGORIES, Category

# Privacy requests and complaints are answered within the statutory 21 days whatever the
# settings say (PDPA 2010 s. 31: a data access request is complied with within 21 days).
STATUTORY_DAYS = 21


def _hours(spec: str, category: str) -> float:
    table = {}
    for item in spec.split(","):
        name, _, hours = item.partition("=")
        if name.strip() and hours.strip():
            table[name.strip()] = float(hours)
    return table.get(category, table.get(Category.OTHER, 24.0))


def due_times(
    category: str, start: datetime.datetime
) -> tuple[datetime.datetime, datetime.datetime]:
    """(first response due, resolution due) of an inquiry of `category` received at `start`."""
    first = start + datetime.timedelta(
        hours=_hours(settings.SUPPORT_FIRST_RESPONSE_HOURS, category)
    )
    resolution = start + datetime.timedelta(
        hours=_hours(settings.SUPPORT_RESOLUTION_HOURS, category)
    )
    if category in RESTRICTED_CATEGORIES:
        statutory = start + datetime.timedelta(days=STATUTORY_DAYS)
        resolution = min(resolution, statutory)
        first = min(first, resolution)
    return first, resolution
