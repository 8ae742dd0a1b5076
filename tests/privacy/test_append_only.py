"""Published policy versions and the access log cannot change. On PostgreSQL the triggers of
migration 0002 refuse UPDATE and DELETE, whoever asks (the ORM or raw SQL); everywhere, the
application code only ever inserts access log rows (static check). The access log's trigger is
tested with every append-only table in tests/core/test_append_only.py; here, the one change
retention may make."""

import ast
import os
from pathlib import Path

import pytest
from django.db import DatabaseError, connection, transaction

from privacy.models import AccessAction, AccessLog, PolicyVersion
from privacy.services import log_access
from tests.factories import CustomerFactory, PolicyVersionFactory, StaffFactory

ROOT = Path(__file__).resolve().parents[2]


def _policy_row(pk: int) -> dict:
    return PolicyVersion.objects.values().get(pk=pk)


def _log_row(pk: int) -> dict:
    return AccessLog.objects.values().get(pk=pk)


# --- published policy versions (PostgreSQL trigger)


def _orm_update(policy):
    PolicyVersion.objects.filter(pk=policy.pk).update(summary="Quietly changed.")


def _orm_save(policy):
    policy.body_en = "We sell your data."
    policy.save()


def _orm_queryset_delete(policy):
    PolicyVersion.objects.filter(pk=policy.pk).delete()


def _orm_instance_delete(policy):
    policy.delete()


def _sql_update(policy):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE privacy_policyversion SET body_en = %s WHERE id = %s",
            ["We sell your data.", policy.pk],
        )


def _sql_delete(policy):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM privacy_policyversion WHERE id = %s", [policy.pk])


POLICY_CHANGES = [
    (_orm_update, "UPDATE"),
    (_orm_save, "UPDATE"),
    (_orm_queryset_delete, "DELETE"),
    (_orm_instance_delete, "DELETE"),
    (_sql_update, "UPDATE"),
    (_sql_delete, "DELETE"),
]
POLICY_CHANGE_IDS = [
    "orm-update",
    "orm-save",
    "orm-qs-delete",
    "orm-delete",
    "sql-update",
    "sql-delete",
]


@pytest.mark.parametrize(("change", "operation"), POLICY_CHANGES, ids=POLICY_CHANGE_IDS)
def test_the_database_refuses_to_change_a_published_policy(postgres, change, operation):
    # given
    policy = PolicyVersionFactory(published=True)
    before = _policy_row(policy.pk)
    # when
    with pytest.raises(DatabaseError) as refused:
        with transaction.atomic():
            change(policy)
    # then
    assert f"published privacy policy {policy.version} is immutable: {operation} refused" in str(
        refused.value
    )
    assert _policy_row(policy.pk) == before


@pytest.mark.parametrize("change", [_sql_update, _sql_delete], ids=["sql-update", "sql-delete"])
def test_the_database_refuses_to_change_the_seeded_first_policy(postgres, change):
    # given
    first = PolicyVersion.objects.get(version="2026-11-24")
    before = _policy_row(first.pk)
    # when
    with pytest.raises(DatabaseError, match="published privacy policy 2026-11-24 is immutable"):
        with transaction.atomic():
            change(first)
    # then
    assert _policy_row(first.pk) == before


def test_a_draft_can_still_be_edited_through_the_orm_and_sql(postgres):
    # given
    draft = PolicyVersionFactory()
    # when
    draft.summary = "Edited draft."
    draft.save()
    _sql_update(draft)
    # then
    row = _policy_row(draft.pk)
    assert row["summary"] == "Edited draft."
    assert row["body_en"] == "We sell your data."
    assert row["published_at"] is None


def test_a_draft_can_be_deleted(postgres):
    # given
    draft = PolicyVersionFactory()
    # when
    draft.delete()
    # then
    assert not PolicyVersion.objects.filter(version=draft.version).exists()


# --- the access log (PostgreSQL trigger)


def _log_entry() -> AccessLog:
    customer = CustomerFactory()
    return log_access(
        StaffFactory(role="support agent"),
        action=AccessAction.VIEWED,
        target=customer,
        subject=customer,
        ip_address="192.0.2.10",
        detail="admin user page",
    )


def test_retention_may_blank_an_old_ip_address_and_nothing_else(postgres):
    # given
    entry = _log_entry()
    # when blanking the IP together with another column
    with pytest.raises(DatabaseError):
        with transaction.atomic():
            AccessLog.objects.filter(pk=entry.pk).update(ip_address=None, detail="x")
    # then nothing changed
    assert AccessLog.objects.get(pk=entry.pk).ip_address == "192.0.2.10"
    # when blanking the IP alone
    AccessLog.objects.filter(pk=entry.pk).update(ip_address=None)
    # then only the IP is gone
    kept = AccessLog.objects.get(pk=entry.pk)
    assert (kept.ip_address, kept.detail, kept.actor_role) == (
        None,
        "admin user page",
        entry.actor_role,
    )


def test_access_log_rows_can_still_be_added(postgres):
    # given
    first = _log_entry()
    # when
    second = _log_entry()
    # then
    assert set(AccessLog.objects.values_list("pk", flat=True)) == {first.pk, second.pk}


# --- static check: application code only inserts into the access log

SKIPPED_FOLDERS = {".venv", ".git", "tests", "var", "node_modules", "__pycache__", ".pytest_cache"}
# Queryset methods that read, plus the two that insert. Anything else (update, delete,
# update_or_create, bulk_update, raw, ...) on AccessLog.objects fails the check.
ALLOWED_ACCESS_LOG_METHODS = {
    "create",
    "bulk_create",
    "all",
    "filter",
    "exclude",
    "get",
    "first",
    "last",
    "count",
    "exists",
    "order_by",
    "select_related",
    "prefetch_related",
    "values",
    "values_list",
    "only",
    "defer",
    "none",
    "aggregate",
    "annotate",
    "iterator",
    "using",
    "distinct",
    "in_bulk",
    "reverse",
    "dates",
    "datetimes",
    "latest",
    "earliest",
}


def _application_sources():
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [name for name in subfolders if name not in SKIPPED_FOLDERS]
        for name in files:
            if name.endswith(".py"):
                path = Path(folder) / name
                yield path.relative_to(ROOT), path.read_text(encoding="utf-8")


def _chain(node: ast.AST) -> tuple[ast.AST, list[str]]:
    """`AccessLog.objects.filter(x)[:10]` → (the Name AccessLog, ["objects", "filter"])."""
    names = []
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Subscript):
            node = node.value
        elif isinstance(node, ast.Attribute):
            names.append(node.attr)
            node = node.value
        else:
            return node, names[::-1]


def _access_log_uses() -> list[tuple[Path, int, list[str]]]:
    uses = []
    for path, source in _application_sources():
        if "AccessLog" not in source:
            continue
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Attribute):
                root, names = _chain(node)
                if isinstance(root, ast.Name) and root.id == "AccessLog":
                    uses.append((path, node.lineno, names))
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                if node.func.id == "AccessLog":
                    uses.append((path, node.lineno, ["AccessLog()"]))
    return uses


# The only other writes, each where the rule allows it: log_access_many builds rows for one
# bulk insert (a list page), and retention blanks old IP addresses (the trigger allows that).
ALLOWED_ACCESS_LOG_WRITES = {
    (os.path.join("privacy", "services.py"), ("AccessLog()",)),
    (os.path.join("privacy", "services.py"), ("objects", "bulk_create")),
    (os.path.join("privacy", "retention.py"), ("objects", "filter", "update")),
    # erase_access_log_details off PostgreSQL (no trigger there; on PostgreSQL it calls the
    # SECURITY DEFINER function the trigger allows)
    (os.path.join("privacy", "services.py"), ("objects", "filter", "update")),
}


def test_application_code_only_creates_or_reads_access_log_rows():
    # when
    uses = _access_log_uses()
    # then
    offending = [
        f"{path}:{line}: AccessLog.{'.'.join(names)}"
        for path, line, names in uses
        if (names[:1] != ["objects"] or not set(names[1:]) <= ALLOWED_ACCESS_LOG_METHODS)
        and (str(path), tuple(names)) not in ALLOWED_ACCESS_LOG_WRITES
    ]
    assert offending == []
    # the check is looking at real code: the one writer is privacy.services.log_access
    writers = {str(path) for path, _, names in uses if "create" in names}
    assert writers == {os.path.join("privacy", "services.py")}
