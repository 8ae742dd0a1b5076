"""Three things for account closure, breach notices and the privacy centre in Malay:

- the access log's append-only trigger allows one more change: `detail` replaced by the marker
  "[erased]", only through the SECURITY DEFINER function `privacy_accesslog_erase_details`
  (core.0004's `ipmart_erasing_personal_values` says whether the update comes from it);
- the breach register gets the notice to affected people (both languages) and when it went;
- disclosures store codes for their categories and purpose (translated when shown); existing
  rows' English labels become codes."""

from django.db import migrations, models

from ipmart.core.append_only import postgres_only

MARKER = "[erased]"

TRIGGER = f"""
CREATE OR REPLACE FUNCTION privacy_refuse_change() RETURNS trigger AS $$
BEGIN
    -- Retention may blank the IP address of an old row.
    IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'privacy_accesslog' AND NEW.ip_address IS NULL
       AND (NEW.id, NEW.at, NEW.actor_id, NEW.actor_role, NEW.action, NEW.target_type,
            NEW.target_id, NEW.subject_id, NEW.detail)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.at, OLD.actor_id, OLD.actor_role, OLD.action, OLD.target_type,
            OLD.target_id, OLD.subject_id, OLD.detail) THEN
        RETURN NEW;
    END IF;
    -- Account closure may erase the free-text detail, through privacy_accesslog_erase_details.
    IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'privacy_accesslog'
       AND ipmart_erasing_personal_values(TG_RELID) AND NEW.detail = '{MARKER}'
       AND (NEW.id, NEW.at, NEW.actor_id, NEW.actor_role, NEW.action, NEW.target_type,
            NEW.target_id, NEW.subject_id, NEW.ip_address)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.at, OLD.actor_id, OLD.actor_role, OLD.action, OLD.target_type,
            OLD.target_id, OLD.subject_id, OLD.ip_address) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION privacy_accesslog_erase_details(row_ids bigint[]) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    changed integer;
BEGIN
    PERFORM set_config('ipmart.erasing_personal_values', 'on', true);
    UPDATE privacy_accesslog SET detail = '{MARKER}'
     WHERE id = ANY(row_ids) AND detail <> '{MARKER}';
    GET DIAGNOSTICS changed = ROW_COUNT;
    PERFORM set_config('ipmart.erasing_personal_values', 'off', true);
    RETURN changed;
END;
$$;
"""

PREVIOUS = """
DROP FUNCTION IF EXISTS privacy_accesslog_erase_details(bigint[]);
CREATE OR REPLACE FUNCTION privacy_refuse_change() RETURNS trigger AS $$
BEGIN
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

CATEGORY_CODES = {
    "email address": "email_address",
    "name": "name",
    "phone number": "phone",
    "billing address": "billing_address",
    "delivery address": "shipping_address",
    "billing country": "billing_country",
    "customer number": "customer_number",
    "order amount": "order_amount",
    "order contents": "order_contents",
}
PURPOSE_CODES = {
    "processing the card payment for your order": "card_payment",
    "delivering your order": "delivery",
    "required by law": "legal_obligation",
}


def disclosure_codes(apps, schema_editor):
    Disclosure = apps.get_model("privacy", "Disclosure")
    for row in Disclosure.objects.all().iterator():
        codes = ",".join(
            CATEGORY_CODES.get(item.strip().lower(), item.strip())
            for item in row.category_codes.split(",")
            if item.strip()
        )
        purpose = PURPOSE_CODES.get(row.purpose_code.strip().lower(), row.purpose_code)
        if (codes, purpose) != (row.category_codes, row.purpose_code):
            Disclosure.objects.filter(pk=row.pk).update(category_codes=codes, purpose_code=purpose)


class Migration(migrations.Migration):
    dependencies = [
        ("privacy", "0007_export_in_vault"),
        ("core", "0005_erasable_trail"),
    ]

    operations = [
        postgres_only(TRIGGER, PREVIOUS),
        migrations.RenameField("disclosure", "data_categories", "category_codes"),
        migrations.RenameField("disclosure", "purpose", "purpose_code"),
        migrations.AlterField(
            model_name="disclosure",
            name="category_codes",
            field=models.CharField(
                db_column="data_categories", max_length=300, verbose_name="data disclosed"
            ),
        ),
        migrations.AlterField(
            model_name="disclosure",
            name="purpose_code",
            field=models.CharField(db_column="purpose", max_length=200, verbose_name="purpose"),
        ),
        migrations.RunPython(disclosure_codes, migrations.RunPython.noop),
        migrations.AddField(
            model_name='breach',
            name='notice_advice_en',
            field=models.TextField(blank=True, verbose_name='notice: what you can do (English)'),
        ),
        migrations.AddField(
            model_name='breach',
            name='notice_advice_ms',
            field=models.TextField(blank=True, verbose_name='notice: what you can do (Malay)'),
        ),
        migrations.AddField(
            model_name='breach',
            name='notice_happened_en',
            field=models.TextField(blank=True, verbose_name='notice: what happened (English)'),
        ),
        migrations.AddField(
            model_name='breach',
            name='notice_happened_ms',
            field=models.TextField(blank=True, verbose_name='notice: what happened (Malay)'),
        ),
        migrations.AddField(
            model_name='breach',
            name='notice_measures_en',
            field=models.TextField(blank=True, verbose_name='notice: what we are doing (English)'),
        ),
        migrations.AddField(
            model_name='breach',
            name='notice_measures_ms',
            field=models.TextField(blank=True, verbose_name='notice: what we are doing (Malay)'),
        ),
        migrations.AddField(
            model_name='breach',
            name='notification_sent_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='notification to affected people started'),
        ),
    ]
