"""Rows as JSON-ready dicts, for the apps' `personal_data.export_user` (any app may use it)."""

import datetime
import decimal
import uuid
from collections.abc import Iterable
from typing import Any

from django.db import models


def json_value(value: Any) -> Any:
    """A field's value as JSON: dates ISO 8601, decimals and UUIDs as strings, countries as
    their codes, models as their primary key."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    if isinstance(value, dict):
        return {str(key): json_value(item) for key, item in value.items()}
    code = getattr(value, "code", None)  # django-countries' Country
    if code is not None:
        return code
    return str(value)


def rows(objects: Iterable[models.Model], fields: Iterable[str]) -> list[dict]:
    """One dict per object holding `fields` (a foreign key gives its id, as `<name>_id`)."""
    fields = list(fields)
    out = []
    for obj in objects:
        row = {}
        for name in fields:
            field = obj._meta.get_field(name)
            if field.is_relation and (field.many_to_one or field.one_to_one):
                row[name] = getattr(obj, field.attname)
            else:
                row[name] = json_value(getattr(obj, name))
        out.append(row)
    return out
