"""Append-only tables: on PostgreSQL a trigger refuses every UPDATE and DELETE of a row, whoever
asks (the ORM, raw SQL, a psql session of the application's role). One helper writes the
trigger for every such table, so the SQL (and its error message, `<table> is append-only:
<operation> refused`) is the same everywhere:

    from ipmart.core.append_only import AppendOnly

    operations = [AppendOnly("core_staffchange", function="core_staffchange_refuse_change")]

`function` names the plpgsql function the trigger calls (the existing migrations chose one name
per app; a new table can leave it out: `<table>_refuse_change`). On other databases (SQLite in
local runs) the operation does nothing. `APPEND_ONLY_TABLES` lists every table protected this
way; `tests/core/test_append_only.py` checks each one and that no other table has such a
trigger unlisted.

A table whose rules later allow one narrow change (the access log's retention blanking its IP
addresses, `privacy/migrations/0005_…`) replaces its function in its own migration, with
`postgres_only(forward_sql, backward_sql)`: the one way a migration runs SQL that only
PostgreSQL has (plpgsql functions, triggers)."""

from __future__ import annotations

from django.db import migrations

# Every table with the trigger, and the function it calls (as created by the migrations).
APPEND_ONLY_TABLES = {
    "privacy_accesslog": "privacy_refuse_change",
    "marketing_consentrecord": "marketing_refuse_change",
    "core_staffchange": "core_staffchange_refuse_change",
}


def trigger_name(table: str) -> str:
    return f"{table}_append_only"


def create_sql(table: str, *, function: str | None = None) -> str:
    """The SQL that makes `table` append-only (a function raising, and the trigger calling it
    before every UPDATE or DELETE of a row)."""
    function = function or f"{table}_refuse_change"
    return f"""
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER {trigger_name(table)}
    BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {function}();
"""


def drop_sql(table: str, *, function: str | None = None) -> str:
    function = function or f"{table}_refuse_change"
    return f"""
DROP TRIGGER IF EXISTS {trigger_name(table)} ON {table};
DROP FUNCTION IF EXISTS {function}();
"""


def postgres_only(forward_sql: str, backward_sql: str) -> migrations.RunPython:
    """A migration operation that runs `forward_sql` (and `backward_sql` when migrated
    backwards) on PostgreSQL only; on other databases (SQLite in local runs) it does nothing.
    The SQL is executed as written (`params=None`: plpgsql's `%` placeholders stay as they are)."""

    def forwards(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(forward_sql, params=None)

    def backwards(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(backward_sql, params=None)

    return migrations.RunPython(forwards, backwards)


def AppendOnly(table: str, *, function: str | None = None) -> migrations.RunPython:  # noqa: N802
    """A migration operation that adds the trigger (and drops it when migrated backwards), on
    PostgreSQL only."""
    return postgres_only(create_sql(table, function=function), drop_sql(table, function=function))
