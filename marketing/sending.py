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
import uuid

from django.conf import settings
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import F
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


# Rows claimed, re-checked and recorded together. A worker killed mid-chunk leaves at most this
# many rows "unknown"; larger chunks cost fewer queries per email.
CLAIM_CHUNK = 20


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


def _skip_reasons(campaign: Campaign, rows: list[Delivery]) -> dict[int, str]:
    """Re-check at send time, for a claimed chunk in three queries: the campaign still sending,
    each subscription still confirmed, each address not suppressed, each account still open.
    Returns {delivery id: reason} for the rows that must not be sent."""
    if not Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.SENDING).exists():
        return {row.pk: "cancelled" for row in rows}
    statuses = dict(
        Subscription.objects.filter(
            topic_id=campaign.topic_id, subscriber_id__in=[row.subscriber_id for row in rows]
        ).values_list("subscriber_id", "status")
    )
    hashes = {row.pk: email_hash(row.subscriber.user.email) for row in rows if row.subscriber.user}
    suppressed = set(
        Suppression.objects.filter(email_hash__in=hashes.values()).values_list(
            "email_hash", flat=True
        )
    )
    reasons = {}
    for row in rows:
        user = row.subscriber.user
        status = statuses.get(row.subscriber_id)
        if user is None or not user.is_active:
            reasons[row.pk] = "account closed"
        elif status is None or status == SubscriptionStatus.UNSUBSCRIBED:
            reasons[row.pk] = "unsubscribed"
        elif status != SubscriptionStatus.SUBSCRIBED:
            reasons[row.pk] = "not confirmed"
        elif hashes[row.pk] in suppressed:
            reasons[row.pk] = "suppressed"
    return reasons


def _claim(rows: list[Delivery]) -> list[Delivery]:
    """Claim the rows still queued (queued → sending, one guarded UPDATE marked with a fresh
    claim id); returns those this call won. A row another run holds or settled is left out."""
    claim = uuid.uuid4()
    Delivery.objects.filter(pk__in=[row.pk for row in rows], status=DeliveryStatus.QUEUED).update(
        status=DeliveryStatus.SENDING,
        claim=claim,
        claimed_at=timezone.now(),
        attempts=F("attempts") + 1,
    )
    won = set(Delivery.objects.filter(claim=claim).values_list("pk", flat=True))
    return [row for row in rows if row.pk in won]


def _settle(delivery_ids: list[int], **fields) -> None:
    if delivery_ids:
        Delivery.objects.filter(pk__in=delivery_ids, status=DeliveryStatus.SENDING).update(**fields)


def _is_permanent(error: Exception) -> bool:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    return type(error).__name__ in {"AnymailRecipientsRefused", "AnymailInvalidAddress"}


def send_batch(campaign_id: int, first_subscriber_id: int, last_subscriber_id: int) -> dict:
    """Send the campaign to the queued deliveries of subscribers in the id range, over one
    connection, CLAIM_CHUNK rows at a time: claim the chunk, re-check it, send each email,
    record the outcomes. Returns counts by outcome. Raises TransientSendError (after putting
    the unsent rows of the chunk back to queued) when the server refuses for now, so the batch
    is retried with backoff.

    A worker killed inside a chunk leaves at most CLAIM_CHUNK rows in "sending" (the reaper
    makes them "unknown"); none of them is ever sent again."""
    campaign = Campaign.objects.select_related("topic__current_version").get(pk=campaign_id)
    queued = (
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
        counts["skipped"] = queued.update(status=DeliveryStatus.SKIPPED, skip_reason="cancelled")
        return counts
    renderer = CampaignRenderer(campaign)
    connection = get_connection(settings.MARKETING_EMAIL_BACKEND or None, fail_silently=False)
    rows = list(queued)
    if rows:
        connection.open()  # one connection for the batch (send_messages alone would reconnect)
    try:
        for start in range(0, len(rows), CLAIM_CHUNK):
            chunk = _claim(rows[start : start + CLAIM_CHUNK])
            reasons = _skip_reasons(campaign, chunk) if chunk else {}
            for reason in set(reasons.values()):
                skipped = [pk for pk, r in reasons.items() if r == reason]
                _settle(skipped, status=DeliveryStatus.SKIPPED, skip_reason=reason)
                counts["skipped"] += len(skipped)
            sent, failed = [], []
            to_send = [row for row in chunk if row.pk not in reasons]
            try:
                for index, row in enumerate(to_send):
                    user = row.subscriber.user
                    message = renderer.message(
                        row.subscriber,
                        to_email=user.email,
                        name=user.get_short_name(),
                        language=getattr(user, "preferred_language", "en"),
                        message_id=delivery_message_id(campaign_id, row.pk),
                        connection=connection,
                    )
                    try:
                        connection.send_messages([message])
                    except Exception as error:
                        if (
                            _is_permanent(error)
                            or row.attempts + 1 >= settings.MARKETING_MAX_ATTEMPTS
                        ):
                            _settle([row.pk], status=DeliveryStatus.FAILED, error=str(error)[:300])
                            failed.append(row.pk)
                            continue
                        _settle(
                            [r.pk for r in to_send[index:]],
                            status=DeliveryStatus.QUEUED,
                            error=str(error)[:300],
                        )
                        raise TransientSendError(str(error)) from error
                    sent.append(row.pk)
            finally:
                _settle(sent, status=DeliveryStatus.SENT, sent_at=timezone.now(), error="")
                counts["sent"] += len(sent)
                counts["failed"] += len(failed)
    finally:
        try:
            connection.close()
        except Exception:  # a dead connection cannot be closed politely
            logger.debug("closing the campaign connection failed", exc_info=True)
    finish_campaign_if_done(campaign_id)
    return counts
