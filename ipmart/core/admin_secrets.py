"""Secret fields are never searchable, filterable or orderable in any admin.

A model lists the fields whose value must never be guessable through admin in a class
attribute, `SECRET_FIELDS = ("key",)` (licence keys; later tokens, storage and document names).
A changelist answers "1 result" or "0 results" to `?key__startswith=B`, so a masked column is
not enough: a manager recovered a whole sold key in about 300 requests. This module, installed
once by `ipmart.core.apps.CoreConfig.ready()` (before any admin module is imported), enforces
the rule for every ModelAdmin of every app, including admins added later that import nothing
from here:

- a URL lookup whose path reaches a secret field, directly or across relations
  (`key__startswith`, `licence_keys__key__regex`), is refused with 400, as Django refuses
  lookups on a user's password;
- `?o=` never orders by a column whose ordering reaches a secret field;
- search never looks into a secret field, whatever `search_fields` says;
- `manage.py check` fails (admin.E9xx) for an admin that names a secret field in
  `search_fields`, `list_filter`, `ordering`, `date_hierarchy` or a sortable column.

Patching Django's admin classes is deliberate: the rule must hold for admins other apps write,
without each of them remembering a mixin.
"""

from __future__ import annotations

import logging

from django.contrib.admin import ModelAdmin
from django.contrib.admin.exceptions import DisallowedModelAdminLookup
from django.contrib.admin.options import BaseModelAdmin
from django.contrib.admin.views.main import ChangeList
from django.core import checks
from django.core.exceptions import FieldDoesNotExist
from django.db.models.constants import LOOKUP_SEP

logger = logging.getLogger("ipmart.security")

MAX_DEPTH = 8


def secret_fields(model) -> tuple[str, ...]:
    return tuple(getattr(model, "SECRET_FIELDS", ()) or ())


def reaches_secret(model, path: str) -> str | None:
    """The secret field `path` (a lookup or ordering path from `model`) touches, as
    "app_label.Model.field", or None."""
    if not isinstance(path, str):
        return None
    current = model
    for part in path.lstrip("-").lstrip("^=@").split(LOOKUP_SEP)[:MAX_DEPTH]:
        if part in secret_fields(current):
            return f"{current._meta.label}.{part}"
        try:
            field = current._meta.get_field(part)
        except FieldDoesNotExist:
            return None  # a lookup or transform name (startswith, lower): the path ended
        if not field.is_relation or field.related_model is None:
            return None
        current = field.related_model
    return None


# --- runtime guards ------------------------------------------------------------------------

_original_lookup_allowed = BaseModelAdmin.lookup_allowed
_original_get_filters = ChangeList.get_filters
_original_get_ordering_field = ChangeList.get_ordering_field
_original_get_search_fields = ModelAdmin.get_search_fields
_original_get_object = ModelAdmin.get_object


def _refuse(model, lookup: str, secret: str):
    logger.warning(
        "admin lookup on secret field refused: %s %s (%s)", model._meta.label, lookup, secret
    )
    raise DisallowedModelAdminLookup(f"Filtering by {lookup} not allowed")


def lookup_allowed(self, lookup, value, request=None):
    if reaches_secret(self.model, lookup):
        return False
    return _original_lookup_allowed(self, lookup, value, request)


def get_filters(self, request):
    # Checked here too, so an admin that overrides lookup_allowed without super() is covered.
    for key in self.get_filters_params():
        secret = reaches_secret(self.model, key)
        if secret:
            _refuse(self.model, key, secret)
    return _original_get_filters(self, request)


def get_ordering_field(self, field_name):
    order_field = _original_get_ordering_field(self, field_name)
    if isinstance(order_field, str) and reaches_secret(self.model, order_field):
        return None  # not sortable by this column
    if isinstance(field_name, str) and reaches_secret(self.model, field_name):
        return None
    return order_field


def get_search_fields(self, request):
    fields = _original_get_search_fields(self, request)
    return [field for field in fields if not reaches_secret(self.model, field)]


def get_object(self, request, object_id, from_field=None):
    # Not about secrets, but the same kind of hole in every admin: `?_to_field=` (empty) on a
    # change or delete page made Django look up the field "" and answer 500 (the query fuzz
    # test found it). An empty value means the primary key.
    return _original_get_object(self, request, object_id, from_field or None)


def install() -> None:
    ModelAdmin.get_object = get_object
    BaseModelAdmin.lookup_allowed = lookup_allowed
    ChangeList.get_filters = get_filters
    ChangeList.get_ordering_field = get_ordering_field
    ModelAdmin.get_search_fields = get_search_fields
    checks.register(check_admins_hide_secret_fields, checks.Tags.admin)


# --- the system check ----------------------------------------------------------------------


def _declared_paths(model_admin) -> list[tuple[str, str]]:
    """(option, path) pairs a ModelAdmin declares statically."""
    paths = [("search_fields", f) for f in model_admin.search_fields or ()]
    for item in model_admin.list_filter or ():
        if isinstance(item, str):
            paths.append(("list_filter", item))
        elif isinstance(item, (list, tuple)) and item and isinstance(item[0], str):
            paths.append(("list_filter", item[0]))
    paths += [("ordering", f) for f in model_admin.ordering or () if isinstance(f, str)]
    if model_admin.date_hierarchy:
        paths.append(("date_hierarchy", model_admin.date_hierarchy))
    for item in model_admin.list_display or ():
        if isinstance(item, str):
            paths.append(("list_display", item))
            attr = getattr(model_admin, item, None) or getattr(model_admin.model, item, None)
            order = getattr(attr, "admin_order_field", None)
            if isinstance(order, str):
                paths.append(("list_display ordering", order))
    return paths


def check_admins_hide_secret_fields(app_configs=None, **kwargs):
    from django.contrib import admin

    errors = []
    for model, model_admin in admin.site._registry.items():
        for option, path in _declared_paths(model_admin):
            secret = reaches_secret(model, path)
            if secret and option != "list_display":
                errors.append(
                    checks.Error(
                        f"{type(model_admin).__name__}.{option} names {path!r}, which reaches "
                        f"the secret field {secret}.",
                        hint="Secret fields (SECRET_FIELDS) are never searched, filtered or "
                        "ordered in admin; show a masked value instead.",
                        obj=type(model_admin),
                        id="admin.E901",
                    )
                )
            elif secret:
                errors.append(
                    checks.Error(
                        f"{type(model_admin).__name__}.list_display shows {path!r}, the secret "
                        f"field {secret}, in clear.",
                        hint="Show a masked value (a method) instead.",
                        obj=type(model_admin),
                        id="admin.E902",
                    )
                )
    return errors
