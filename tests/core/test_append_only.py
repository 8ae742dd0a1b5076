"""Every append-only table (`ipmart.core.append_only.APPEND_ONLY_TABLES`: the access log, the
consent ledger, the staff audit trail) refuses UPDATE and DELETE on PostgreSQL, through the ORM
and raw SQL alike, and still takes new rows; and no table has such a trigger unlisted."""

import pytest
from django.apps import apps
from django.db import DatabaseError, connection, transaction

from ipmart.core.append_only import (
    APPEND_ONLY_TABLES,
    create_sql,
    drop_sql,
    postgres_only,
    trigger_name,
)
from tests.factories import CustomerFactory, ProductFactory, StaffFactory, SubscriptionFactory


def _access_log_row():
    from privacy.models import AccessAction
    from privacy.services import log_access

    customer = CustomerFactory()
    return log_access(
        StaffFactory(role="support agent"),
        action=AccessAction.VIEWED,
        target=customer,
        subject=customer,
        ip_address="192.0.2.10",
        detail="admin user page",
    )


def _consent_row():
    from marketing import services
    from marketing.models import ConsentMethod, ConsentRecord
    from tests.factories.marketing import topic

    subscription = SubscriptionFactory()
    services.unsubscribe_topic(
        subscription.subscriber, topic=topic(), method=ConsentMethod.ONE_CLICK
    )
    return ConsentRecord.objects.get(subscriber=subscription.subscriber)


def _staff_change_row():
    from ipmart.core.audit import record_staff_change

    return record_staff_change(
        StaffFactory(role="store manager"),
        ProductFactory(),
        action="update",
        changes={"price": ["RM 1.00", "RM 2.00"]},
    )


# table -> (row maker, a text column an UPDATE would change)
ROW_MAKERS = {
    "privacy_accesslog": (_access_log_row, "detail"),
    "marketing_consentrecord": (_consent_row, "method"),
    "core_staffchange": (_staff_change_row, "detail"),
}


def _model(table):
    return next(m for m in apps.get_models() if m._meta.db_table == table)


def _orm_update(row, column):
    type(row).objects.filter(pk=row.pk).update(**{column: "quietly changed"})


def _orm_save(row, column):
    setattr(row, column, "quietly changed")
    row.save()


def _orm_delete(row, column):
    row.delete()


def _orm_queryset_delete(row, column):
    type(row).objects.filter(pk=row.pk).delete()


def _sql_update(row, column):
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {row._meta.db_table} SET {column} = %s WHERE id = %s",
            ["quietly changed", row.pk],
        )


def _sql_delete(row, column):
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {row._meta.db_table} WHERE id = %s", [row.pk])


CHANGES = [
    (_orm_update, "UPDATE"),
    (_orm_save, "UPDATE"),
    (_orm_delete, "DELETE"),
    (_orm_queryset_delete, "DELETE"),
    (_sql_update, "UPDATE"),
    (_sql_delete, "DELETE"),
]


def test_every_listed_table_has_a_row_maker_here():
    assert set(ROW_MAKERS) == set(APPEND_ONLY_TABLES)


@pytest.mark.parametrize("table", sorted(APPEND_ONLY_TABLES))
@pytest.mark.parametrize(("change", "operation"), CHANGES, ids=[c.__name__ for c, _ in CHANGES])
def test_the_database_refuses_to_change_a_row(postgres, table, change, operation):
    # given a row
    make_row, column = ROW_MAKERS[table]
    row = make_row()
    model = _model(table)
    assert row._meta.db_table == table
    before = list(model.objects.values().order_by("pk"))
    assert len(before) == 1
    # when anything tries to change or delete it
    with pytest.raises(DatabaseError) as refused:
        with transaction.atomic():
            change(row, column)
    # then the trigger refused it, naming the table and the operation, and nothing changed
    assert f"{table} is append-only: {operation} refused" in str(refused.value)
    assert list(model.objects.values().order_by("pk")) == before


@pytest.mark.parametrize("table", sorted(APPEND_ONLY_TABLES))
def test_rows_can_still_be_added(postgres, table):
    make_row, _ = ROW_MAKERS[table]
    first = make_row()
    second = make_row()
    assert set(_model(table).objects.values_list("pk", flat=True)) == {first.pk, second.pk}


def test_the_triggers_in_the_database_are_the_listed_ones(postgres):
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, p.proname
            FROM pg_trigger t
            JOIN pg_class c ON c.oid = t.tgrelid
            JOIN pg_proc p ON p.oid = t.tgfoid
            WHERE NOT t.tgisinternal AND t.tgname LIKE '%%\\_append\\_only'
            """
        )
        found = dict(cursor.fetchall())
    assert found == APPEND_ONLY_TABLES
    assert all(trigger_name(table) == f"{table}_append_only" for table in found)


def test_the_helper_writes_the_sql_the_migrations_always_had():
    # the SQL the three migrations held before the helper (core's, kept here word for word)
    assert (
        create_sql("core_staffchange", function="core_staffchange_refuse_change")
        == """
CREATE OR REPLACE FUNCTION core_staffchange_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER core_staffchange_append_only
    BEFORE UPDATE OR DELETE ON core_staffchange
    FOR EACH ROW EXECUTE FUNCTION core_staffchange_refuse_change();
"""
    )
    assert (
        drop_sql("core_staffchange", function="core_staffchange_refuse_change")
        == """
DROP TRIGGER IF EXISTS core_staffchange_append_only ON core_staffchange;
DROP FUNCTION IF EXISTS core_staffchange_refuse_change();
"""
    )


def _function_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_proc WHERE proname = %s", [name])
        return cursor.fetchone()[0] == 1


@pytest.mark.django_db(transaction=True)
def test_postgres_only_runs_its_sql_forward_and_backward_on_postgresql_and_nothing_elsewhere():
    # given an operation whose SQL (plpgsql, a literal %) only PostgreSQL understands
    operation = postgres_only(
        """CREATE FUNCTION cleanup_probe() RETURNS text AS $$
        BEGIN RETURN format('%s', 'probe'); END; $$ LANGUAGE plpgsql;""",
        "DROP FUNCTION cleanup_probe();",
    )
    postgresql = connection.vendor == "postgresql"
    # when it runs forward, then backward (on SQLite the SQL would raise if it ran)
    with connection.schema_editor() as editor:
        operation.code(apps, editor)
    created = postgresql and _function_exists("cleanup_probe")
    with connection.schema_editor() as editor:
        operation.reverse_code(apps, editor)
    # then
    assert created is postgresql
    assert not (postgresql and _function_exists("cleanup_probe"))
