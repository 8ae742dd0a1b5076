"""The staff audit trail stays append-only, with one narrow exception: erasing a person's values
at account closure (ipmart.core.audit.erase_personal_values). See audit.py for the design.

`ipmart_erasing_personal_values(table)` is true only inside an erasing SECURITY DEFINER function:
its transaction-local flag is set and the current user is the table's owner (the function's
owner, the migrations' role). The application's role owns nothing: setting the flag itself does
not make it the owner, so a direct UPDATE or DELETE is still refused."""

from django.db import migrations

from ipmart.core.append_only import postgres_only

MARKER = "[erased]"

FORWARD = f"""
CREATE OR REPLACE FUNCTION ipmart_erasing_personal_values(relid oid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce(current_setting('ipmart.erasing_personal_values', true), '') = 'on'
       AND current_user = (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = relid)
$$;

-- True when `new` has the same fields as `old` and every value that differs is the marker.
CREATE OR REPLACE FUNCTION core_staffchange_only_erased(old jsonb, new jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_typeof(old) = 'object' AND jsonb_typeof(new) = 'object'
       AND (SELECT coalesce(array_agg(k ORDER BY k), '{{}}') FROM jsonb_object_keys(old) AS k)
           = (SELECT coalesce(array_agg(k ORDER BY k), '{{}}') FROM jsonb_object_keys(new) AS k)
       AND NOT EXISTS (
           SELECT 1 FROM jsonb_each(old) AS o(key, value)
           WHERE CASE
               WHEN jsonb_typeof(o.value) = 'array' THEN
                   jsonb_typeof(new -> o.key) IS DISTINCT FROM 'array'
                   OR jsonb_array_length(new -> o.key) <> jsonb_array_length(o.value)
                   OR EXISTS (
                       SELECT 1 FROM jsonb_array_elements(o.value) WITH ORDINALITY AS e(v, i)
                       WHERE (new -> o.key -> (e.i::int - 1)) IS DISTINCT FROM e.v
                         AND (new -> o.key -> (e.i::int - 1)) IS DISTINCT FROM to_jsonb('{MARKER}'::text)
                   )
               ELSE (new -> o.key) IS DISTINCT FROM o.value
                    AND (new -> o.key) IS DISTINCT FROM to_jsonb('{MARKER}'::text)
           END
       )
$$;

CREATE OR REPLACE FUNCTION core_staffchange_refuse_change() RETURNS trigger AS $$
BEGIN
    -- The one change allowed: erasing values, through core_staffchange_erase_values.
    IF TG_OP = 'UPDATE' AND ipmart_erasing_personal_values(TG_RELID)
       AND (NEW.id, NEW.at, NEW.actor_id, NEW.content_type_id, NEW.object_id, NEW.action)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.at, OLD.actor_id, OLD.content_type_id, OLD.object_id, OLD.action)
       AND (NEW.detail = OLD.detail OR NEW.detail = '{MARKER}')
       AND (NEW.object_repr = OLD.object_repr OR NEW.object_repr = '{MARKER}')
       AND core_staffchange_only_erased(OLD.changes, NEW.changes) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION core_staffchange_erase_values(
    row_id bigint, new_changes jsonb, erase_detail boolean, erase_repr boolean
) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    PERFORM set_config('ipmart.erasing_personal_values', 'on', true);
    UPDATE core_staffchange
       SET changes = new_changes,
           detail = CASE WHEN erase_detail THEN '{MARKER}' ELSE detail END,
           object_repr = CASE WHEN erase_repr THEN '{MARKER}' ELSE object_repr END
     WHERE id = row_id;
    PERFORM set_config('ipmart.erasing_personal_values', 'off', true);
END;
$$;
"""

BACKWARD = """
DROP FUNCTION IF EXISTS core_staffchange_erase_values(bigint, jsonb, boolean, boolean);
CREATE OR REPLACE FUNCTION core_staffchange_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
DROP FUNCTION IF EXISTS core_staffchange_only_erased(jsonb, jsonb);
DROP FUNCTION IF EXISTS ipmart_erasing_personal_values(oid);
"""


class Migration(migrations.Migration):
    dependencies = [("core", "0004_outbox_request_id")]

    operations = [postgres_only(FORWARD, BACKWARD)]
