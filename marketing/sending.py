"""Sending a campaign: taking the audience in batches, and sending one batch. Called by the
tasks in marketing/tasks.py (through the outbox, so they are durable and retried).

Every email is guarded by its Delivery row: claimed (queued → sending, a guarded UPDATE) before
the SMTP conversation, recorded (sent/failed/skipped) after it. A task run twice, or redelivered
after a worker died, finds the row no longer queued and sends nothing. A worker killed between
the claim and the record leaves the row in "sending": the reaper marks it "unknown" and it is
never resent."""

from __future__ import annotations

import logging
import smtplib

from django.conf import settings
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import Exists, F, Subquery
from django.utils import timezone

from ipmart.core.outbox import enqueue

from .models import (
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    Subscription,
    SubscriptionStatus,
    Suppression,
)
from .rendering import CampaignRenderer, delivery_message_id
from .services import finish_campaign_if_done
from .suppression import email_hash

logger = logging.getLogger(__name__)


class TransientSendError(Exception):
    """The mail server refused for now: the batch is retried later (outbox backoff)."""


def take_audience(campaign_id: int) -> int:
    """Stream the topic's confirmed subscribers (keyset pages of MARKETING_BATCH_SIZE, never the
    whole list in memory); per page, in one transaction, insert the missing delivery rows and
    enqueue the page's send_batch. Safe to run again: it only adds what is missing. Returns the
    number of pages."""
    campaign = Campaign.objects.get(pk=campaign_id)
    if campaign.status != CampaignStatus.SENDING:
        return 0
    audience = (
        Subscription.objects.filter(
            topic_id=campaign.topic_id,
            status=SubscriptionStatus.SUBSCRIBED,
            subscriber__user__is_active=True,
        )
        .order_by("subscriber_id")
        .values_list("subscriber_id", flat=True)
    )
    size = settings.MARKETING_BATCH_SIZE
    last, pages = 0, 0
    while True:
        ids = list(audience.filter(subscriber_id__gt=last)[:size])
        if not ids:
            break
        with transaction.atomic():
            if not Campaign.objects.filter(pk=campaign_id, status=CampaignStatus.SENDING).exists():
                return pages
            Delivery.objects.bulk_create(
                [Delivery(campaign_id=campaign_id, subscriber_id=i) for i in ids],
                ignore_conflicts=True,
            )
            enqueue("marketing.tasks.send_batch", campaign_id, ids[0], ids[-1])
        last, pages = ids[-1], pages + 1
    Campaign.objects.filter(pk=campaign_id, audience_taken_at__isnull=True).update(
        audience_taken_at=timezone.now()
    )
    finish_campaign_if_done(campaign_id)
    return pages


def _skip_reason(campaign: Campaign, delivery: Delivery) -> str:
    """Re-check at send time, in one query: the campaign still sending, the subscription still
    confirmed, the address not suppressed, the account still open."""
    user = delivery.subscriber.user
    if user is None or not user.is_active:
        return "account closed"
    row = (
        Subscription.objects.filter(
            subscriber_id=delivery.subscriber_id, topic_id=campaign.topic_id
        )
        .annotate(
            suppressed=Exists(Suppression.objects.filter(email_hash=email_hash(user.email))),
            campaign_status=Subquery(Campaign.objects.filter(pk=campaign.pk).values("status")[:1]),
        )
        .values_list("status", "suppressed", "campaign_status")
        .first()
    )
    if row is not None and row[2] != CampaignStatus.SENDING:
        return "cancelled"
    if (
        row is None
        and not Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.SENDING).exists()
    ):
        return "cancelled"
    if row is None or row[0] == SubscriptionStatus.UNSUBSCRIBED:
        return "unsubscribed"
    if row[0] != SubscriptionStatus.SUBSCRIBED:
        return "not confirmed"
    if row[1]:
        return "suppressed"
    return ""


def _settle(delivery_id: int, **fields) -> None:
    Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.SENDING).update(**fields)


def _is_permanent(error: Exception) -> bool:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    return type(error).__name__ in {"AnymailRecipientsRefused", "AnymailInvalidAddress"}


def send_batch(campaign_id: int, first_subscriber_id: int, last_subscriber_id: int) -> dict:
    """Send the campaign to the queued deliveries of subscribers in the id range, over one
    connection. Returns counts by outcome. Raises TransientSendError (after putting the
    current row back to queued) when the server refuses for now, so the batch is retried."""
    campaign = Campaign.objects.select_related("topic__current_version").get(pk=campaign_id)
    rows = (
        Delivery.objects.filter(
            campaign_id=campaign_id,
            subscriber_id__gte=first_subscriber_id,
            subscriber_id__lte=last_subscriber_id,
            status=DeliveryStatus.QUEUED,
        )
        .select_related("subscriber__user")
        .order_by("subscriber_id")
    )
    counts = {"sent": 0, "skipped": 0, "failed": 0}
    if campaign.status == CampaignStatus.CANCELLED:
        counts["skipped"] = rows.update(status=DeliveryStatus.SKIPPED, skip_reason="cancelled")
        return counts
    renderer = CampaignRenderer(campaign)
    connection = get_connection(settings.MARKETING_EMAIL_BACKEND or None, fail_silently=False)
    try:
        for delivery in list(rows):
            claimed = Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.QUEUED).update(
                status=DeliveryStatus.SENDING,
                claimed_at=timezone.now(),
                attempts=F("attempts") + 1,
            )
            if not claimed:
                continue  # another run has it, or it is settled
            reason = _skip_reason(campaign, delivery)
            if reason:
                _settle(delivery.pk, status=DeliveryStatus.SKIPPED, skip_reason=reason)
                counts["skipped"] += 1
                continue
            user = delivery.subscriber.user
            message = renderer.message(
                delivery.subscriber,
                to_email=user.email,
                name=user.get_short_name() if hasattr(user, "get_short_name") else "",
                language=getattr(user, "preferred_language", "en"),
                message_id=delivery_message_id(campaign_id, delivery.pk),
                connection=connection,
            )
            try:
                connection.send_messages([message])
            except Exception as error:
                if _is_permanent(error) or delivery.attempts + 1 >= settings.MARKETING_MAX_ATTEMPTS:
                    _settle(delivery.pk, status=DeliveryStatus.FAILED, error=str(error)[:300])
                    counts["failed"] += 1
                    continue
                _settle(delivery.pk, status=DeliveryStatus.QUEUED, error=str(error)[:300])
                raise TransientSendError(str(error)) from error
            _settle(
                delivery.pk,
                status=DeliveryStatus.SENT,
                sent_at=timezone.now(),
                message_id=message.extra_headers["Message-ID"],
                error="",
            )
            counts["sent"] += 1
    finally:
        try:
            connection.close()
        except Exception:  # a dead connection cannot be closed politely
            logger.debug("closing the campaign connection failed", exc_info=True)
    finish_campaign_if_done(campaign_id)
    return counts
