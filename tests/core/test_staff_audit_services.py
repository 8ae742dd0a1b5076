"""Staff changes that issues 8 and 10 make through their services (campaign schedule and
cancel, topic wording, breach records) leave one audit row each, naming who."""

import datetime

import pytest
from django.utils import timezone

from ipmart.core.audit import changes_for
from marketing import services
from marketing.models import CampaignStatus
from privacy.rights import record_breach, update_breach
from tests.factories import StaffFactory
from tests.factories.marketing import CampaignFactory, topic

pytestmark = pytest.mark.django_db


def test_scheduling_and_cancelling_a_campaign_are_audited():
    manager = StaffFactory(role="marketing manager")
    campaign = CampaignFactory()
    services.schedule_campaign(
        campaign, send_at=timezone.now() + datetime.timedelta(days=1), acting_user=manager
    )
    services.cancel_campaign(campaign, acting_user=manager)
    trail = list(changes_for(campaign))
    assert [c.changes["status"] for c in trail] == [
        [str(CampaignStatus.SCHEDULED.label), str(CampaignStatus.CANCELLED.label)],
        [str(CampaignStatus.DRAFT.label), str(CampaignStatus.SCHEDULED.label)],
    ]
    assert {c.actor for c in trail} == {manager}


def test_a_topic_wording_change_is_audited_as_a_new_version():
    manager = StaffFactory(role="marketing manager")
    current = topic()
    version = current.current_version
    services.save_topic(
        current,
        code=current.code,
        position=current.position,
        is_active=current.is_active,
        name_en=version.name_en,
        name_ms=version.name_ms,
        consent_text_en=version.consent_text_en + " Weekly.",
        consent_text_ms=version.consent_text_ms,
        acting_user=manager,
    )
    (change,) = changes_for(current)
    assert change.actor == manager and list(change.changes) == ["text_version"]
    assert change.changes["text_version"][0].startswith(f"v{version.number} ")


def test_a_breach_record_and_its_update_are_audited():
    officer = StaffFactory(role="data protection officer")
    breach = record_breach(
        summary="Laptop stolen",
        data_categories="names",
        discovered_at=timezone.now(),
        acting_user=officer,
    )
    update_breach(breach, data={"measures": "Remote wipe"}, acting_user=officer)
    update, create = changes_for(breach)
    assert create.action == "create" and create.actor == officer
    assert update.changes == {"measures": ["", "Remote wipe"]}
