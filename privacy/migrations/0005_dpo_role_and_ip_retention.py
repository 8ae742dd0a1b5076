"""The data protection officer role gets its permissions (accounts.roles), and the access log's
append-only trigger allows exactly one change: blanking an old IP address (retention)."""

from django.db import migrations

from ipmart.core.append_only import postgres_only

TRIGGER = """
CREATE OR REPLACE FUNCTION privacy_refuse_change() RETURNS trigger AS $$
BEGIN
    -- Retention may blank the IP address of an old row; nothing else may change.
    IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'privacy_accesslog' AND NEW.ip_address IS NULL
       AND (NEW.id, NEW.at, NEW.actor_id, NEW.actor_role, NEW.action, NEW.target_type,
            NEW.target_id, NEW.subject_id, NEW.detail)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.at, OLD.actor_id, OLD.actor_role, OLD.action, OLD.target_type,
            OLD.target_id, OLD.subject_id, OLD.detail) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""

STRICT = """
CREATE OR REPLACE FUNCTION privacy_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def roles(apps, schema_editor):
    from accounts.roles import sync_roles

    sync_roles(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("privacy", "0004_data_rights"),
        ("orders", "0002_tax_rates_and_roles"),
    ]

    operations = [
        postgres_only(TRIGGER, STRICT),
        migrations.RunPython(roles, migrations.RunPython.noop),
    ]
