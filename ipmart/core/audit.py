"""The audit trail of staff changes: one writer, `record_staff_change`, called by services.

Why our own append-only table and not django-simple-history: simple-history copies every
column of every tracked model on every save, whoever saves it (checkout's stock updates, key
claims, a customer's own profile), into one shadow table per model; the user's shadow would
keep password hashes and personal data beyond the privacy rules, and nothing in it says which
staff member acted or what the change meant. Here a service that acts for a staff member
writes one row naming who, when, the record and each changed field as old → new, in the
same transaction as the change; one table serves the per-object and per-staff-member views."""

from collections.abc import Iterable

from django.contrib.contenttypes.models import ContentType
from django.db import models

from .models import StaffChange


def display_value(value) -> str:
    """How a value reads in the trail (JSON-safe text)."""
    if value is None:
        return ""
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(sorted(str(item) for item in value))
    return str(value)


def snapshot(obj: models.Model, fields: Iterable[str], formatters: dict | None = None) -> dict:
    """Field name → text of `obj`'s current values (formatters: field → callable)."""
    formatters = formatters or {}
    values = {}
    for name in fields:
        value = getattr(obj, name)
        values[name] = formatters[name](value) if name in formatters else display_value(value)
    return values


def diff(before: dict, after: dict) -> dict:
    """{field: [old, new]} for every field whose text changed."""
    return {
        name: [before.get(name, ""), after.get(name, "")]
        for name in sorted(set(before) | set(after))
        if before.get(name, "") != after.get(name, "")
    }


def record_staff_change(
    actor,
    target: models.Model,
    *,
    action: str,
    changes: dict | None = None,
    detail: str = "",
) -> StaffChange | None:
    """Write one audit row. Call inside the service's transaction, after the change is saved.
    `actor` is the staff member (None: the system). An "update" with no changes writes nothing
    and returns None. The record is named by `target.audit_repr` when the model has one (a
    person's account is named by its id, not its email: the trail is append-only and outlives
    an account closure)."""
    # Plain text (lazy translations and numbers included), JSON-safe.
    changes = {str(name): [str(old), str(new)] for name, (old, new) in (changes or {}).items()}
    if action == "update" and not changes and not detail:
        return None
    return StaffChange.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        content_type=ContentType.objects.get_for_model(target, for_concrete_model=False),
        object_id=str(target.pk),
        object_repr=str(getattr(target, "audit_repr", None) or target)[:200],
        action=action,
        changes=changes,
        detail=detail[:300],
    )


def changes_for(target: models.Model):
    """The trail of one record, newest first."""
    return StaffChange.objects.filter(
        content_type=ContentType.objects.get_for_model(target, for_concrete_model=False),
        object_id=str(target.pk),
    ).select_related("actor")


def save_with_trail(
    obj: models.Model,
    *,
    acting_user,
    fields: Iterable[str],
    formatters: dict | None = None,
) -> StaffChange | None:
    """Save `obj` (already changed in memory, as admin forms leave it) and record old → new of
    `fields` against the row as it was in the database. Call inside the service's transaction."""
    model = type(obj)
    before = model._default_manager.filter(pk=obj.pk).first() if obj.pk else None
    old = snapshot(before, fields, formatters) if before is not None else {}
    obj.save()
    new = snapshot(obj, fields, formatters)
    return record_staff_change(
        acting_user,
        obj,
        action="update" if before is not None else "create",
        changes=diff(old, new),
    )


# --- Erasing personal values from the trail (account closure)
#
# The trail stays append-only. The one change PostgreSQL lets through is erasure: a value of
# `changes` (old or new), `detail` or `object_repr` replaced by the fixed marker ERASED, and only
# through the SECURITY DEFINER function `core_staffchange_erase_values` (migration
# core.0005_erasable_trail). The trigger checks that the update comes from that
# function (the table owner as current_user, with its transaction-local flag set), that no other
# column changed, that `changes` keeps its fields and that every value that changed is now the
# marker. The application's role owns nothing, so it can neither update a row directly nor
# write anything but the marker: who changed which field of which record, and when, survives.

ERASED = "[erased]"


def erase_personal_values(changes: Iterable[StaffChange], identifiers) -> int:
    """Replace with ERASED every value of `changes` (rows of the trail) in which one of
    `identifiers` (an `ipmart.core.erasure.Identifiers`) is found. Returns the rows changed."""
    import json

    from django.db import connection

    changed = 0
    for change in changes:
        new_changes = {
            name: [ERASED if identifiers.found_in(str(value)) else value for value in pair]
            if isinstance(pair, list)
            else (ERASED if identifiers.found_in(str(pair)) else pair)
            for name, pair in (change.changes or {}).items()
        }
        erase_detail = identifiers.found_in(change.detail)
        erase_repr = identifiers.found_in(change.object_repr)
        if new_changes == change.changes and not erase_detail and not erase_repr:
            continue
        changed += 1
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT core_staffchange_erase_values(%s, %s::jsonb, %s, %s)",
                    [change.pk, json.dumps(new_changes), erase_detail, erase_repr],
                )
        else:  # SQLite (make run): no trigger to satisfy
            StaffChange.objects.filter(pk=change.pk).update(
                changes=new_changes,
                detail=ERASED if erase_detail else change.detail,
                object_repr=ERASED if erase_repr else change.object_repr,
            )
    return changed
