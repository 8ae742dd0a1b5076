"""The access log and published policy versions cannot be changed on PostgreSQL (triggers), and
the store's first privacy policy is published from privacy/policies/2026-11-24/."""

import datetime
from pathlib import Path

from django.db import migrations
from django.utils.translation import gettext_noop
from django.utils import timezone

from ipmart.core.append_only import AppendOnly, postgres_only

FIRST_VERSION = "2026-11-24"

POLICY_TRIGGER = """
CREATE OR REPLACE FUNCTION privacy_refuse_published_policy_change() RETURNS trigger AS $$
BEGIN
    IF OLD.published_at IS NOT NULL THEN
        RAISE EXCEPTION 'published privacy policy % is immutable: % refused', OLD.version, TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER privacy_policyversion_immutable
    BEFORE UPDATE OR DELETE ON privacy_policyversion
    FOR EACH ROW EXECUTE FUNCTION privacy_refuse_published_policy_change();
"""

DROP_POLICY_TRIGGER = """
DROP TRIGGER IF EXISTS privacy_policyversion_immutable ON privacy_policyversion;
DROP FUNCTION IF EXISTS privacy_refuse_published_policy_change();
"""


def publish_first_policy(apps, schema_editor):
    from privacy.models import PolicyVersion as LivePolicyVersion

    PolicyVersion = apps.get_model("privacy", "PolicyVersion")
    if PolicyVersion.objects.filter(version=FIRST_VERSION).exists():
        return
    folder = Path(__file__).resolve().parent.parent / "policies" / FIRST_VERSION
    policy = LivePolicyVersion(
        version=FIRST_VERSION,
        effective_date=datetime.date(2026, 11, 24),
        # Stored in English; marked so that the versions page shows it in Malay too.
        summary=gettext_noop("First version of the IPmart privacy policy for the new store."),
        body_en=(folder / "en.md").read_text(encoding="utf-8"),
        body_ms=(folder / "ms.md").read_text(encoding="utf-8"),
    )
    PolicyVersion.objects.create(
        version=policy.version,
        effective_date=policy.effective_date,
        summary=policy.summary,
        body_en=policy.body_en,
        body_ms=policy.body_ms,
        content_hash=policy.compute_hash(),
        published_at=timezone.now(),
    )


class Migration(migrations.Migration):
    dependencies = [("privacy", "0001_initial")]

    operations = [
        AppendOnly("privacy_accesslog", function="privacy_refuse_change"),
        postgres_only(POLICY_TRIGGER, DROP_POLICY_TRIGGER),
        migrations.RunPython(publish_first_policy, migrations.RunPython.noop),
    ]
