"""State changes of campaigns: scheduling (refused without the unsubscribe and preferences
placeholders), starting, cancelling, finishing, and the reaper of deliveries stuck mid-send."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ipmart.core.audit import record_staff_change
from ipmart.core.outbox import enqueue

from ..models import Campaign, CampaignStatus, Delivery, DeliveryStatus

if TYPE_CHECKING:
    # Types only: marketing sits below accounts (accounts imports marketing).
    from accounts.models import User


class CampaignError(Exception):
    """The campaign cannot move to the asked state."""


PLACEHOLDERS = ("unsubscribe_url", "preferences_url")


def missing_placeholders(campaign: Campaign) -> list[str]:
    """Parts of the campaign lacking `{{ unsubscribe_url }}` or `{{ preferences_url }}`."""
    missing = []
    for kind in ("body_text", "body_html"):
        for language in ("en", "ms"):
            body = campaign.part(kind, language)
            for name in PLACEHOLDERS:
                if "{{ " + name + " }}" not in body and "{{" + name + "}}" not in body:
                    missing.append(f"{kind}_{language}: {name}")
    return missing


@transaction.atomic
def schedule_campaign(
    campaign: Campaign, *, send_at: datetime.datetime | None, acting_user: User
) -> Campaign:
    """Schedule a draft for `send_at`, or start it now when `send_at` is None or past. A body
    without both placeholders (every part, both languages) is refused."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status != CampaignStatus.DRAFT:
        raise CampaignError(f"only a draft can be scheduled (this one is {campaign.status})")
    missing = missing_placeholders(campaign)
    if missing:
        raise CampaignError("missing placeholders: " + ", ".join(missing))
    if not campaign.topic.is_active:
        raise CampaignError("the topic is not offered any more")
    campaign.status = CampaignStatus.SCHEDULED
    campaign.scheduled_at = send_at or timezone.now()
    campaign.save(update_fields=["status", "scheduled_at"])
    record_staff_change(
        acting_user,
        campaign,
        action="update",
        changes={
            "status": [CampaignStatus.DRAFT.label, CampaignStatus.SCHEDULED.label],
            "scheduled_at": [
                "",
                timezone.localtime(campaign.scheduled_at).isoformat(timespec="minutes"),
            ],
        },
    )
    if campaign.scheduled_at <= timezone.now():
        _begin(campaign)
    return campaign


def _begin(campaign: Campaign) -> None:
    campaign.status = CampaignStatus.SENDING
    campaign.started_at = timezone.now()
    campaign.save(update_fields=["status", "started_at"])
    enqueue("marketing.tasks.take_audience", campaign.pk)


@transaction.atomic
def start_due_campaigns(*, now: datetime.datetime | None = None) -> list[int]:
    """Start every scheduled campaign whose time has come (the beat task, every minute)."""
    now = now or timezone.now()
    due = list(
        Campaign.objects.select_for_update(skip_locked=True).filter(
            status=CampaignStatus.SCHEDULED, scheduled_at__lte=now
        )
    )
    for campaign in due:
        _begin(campaign)
    return [c.pk for c in due]


@transaction.atomic
def cancel_campaign(campaign: Campaign, *, acting_user: User) -> Campaign:
    """Stop a campaign: nothing more is sent (deliveries still queued become skipped; a batch
    already running checks the campaign before each email). A sent campaign cannot be
    cancelled."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status in {CampaignStatus.SENT, CampaignStatus.CANCELLED}:
        raise CampaignError(f"a {campaign.status} campaign cannot be cancelled")
    before = CampaignStatus(campaign.status).label
    campaign.status = CampaignStatus.CANCELLED
    campaign.cancelled_at = timezone.now()
    campaign.save(update_fields=["status", "cancelled_at"])
    record_staff_change(
        acting_user,
        campaign,
        action="update",
        changes={"status": [before, CampaignStatus.CANCELLED.label]},
    )
    campaign.deliveries.filter(status=DeliveryStatus.QUEUED).update(
        status=DeliveryStatus.SKIPPED, skip_reason="cancelled"
    )
    return campaign


def finish_campaign_if_done(campaign_id: int) -> bool:
    """A sending campaign whose audience is taken and whose deliveries are all settled is
    sent. Returns True when this call finished it."""
    open_rows = Delivery.objects.filter(
        campaign_id=campaign_id, status__in=[DeliveryStatus.QUEUED, DeliveryStatus.SENDING]
    )
    if open_rows.exists():
        return False
    return bool(
        Campaign.objects.filter(
            pk=campaign_id, status=CampaignStatus.SENDING, audience_taken_at__isnull=False
        ).update(status=CampaignStatus.SENT, finished_at=timezone.now())
    )


def mark_stuck_deliveries(*, now: datetime.datetime | None = None) -> int:
    """Deliveries claimed longer ago than MARKETING_STUCK_AFTER_SECONDS (a worker died between
    claiming and recording the outcome) become "unknown": the email may or may not have left,
    and a duplicate promotion costs more than a missed one, so they are never resent."""
    now = now or timezone.now()
    limit = now - datetime.timedelta(seconds=settings.MARKETING_STUCK_AFTER_SECONDS)
    stuck = Delivery.objects.filter(status=DeliveryStatus.SENDING, claimed_at__lt=limit)
    campaign_ids = set(stuck.values_list("campaign_id", flat=True).distinct())
    count = stuck.update(status=DeliveryStatus.UNKNOWN, error="stopped mid-send")
    for campaign_id in campaign_ids:
        finish_campaign_if_done(campaign_id)
    return count
