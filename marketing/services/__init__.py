"""State changes of marketing, one function per action (a package split by sub-domain):
`consent.py` (topics, subscriptions, the ledger, suppression) and `campaigns.py` (campaign
states). Views, admin, tasks and other apps import them from here."""

from .campaigns import (
    PLACEHOLDERS,
    CampaignError,
    cancel_campaign,
    finish_campaign_if_done,
    mark_stuck_deliveries,
    missing_placeholders,
    schedule_campaign,
    start_due_campaigns,
)
from .consent import (
    apply_provider_event,
    close_subscriber,
    confirm_subscriptions,
    is_suppressed,
    record_consent,
    request_subscriptions,
    save_topic,
    subscribe_topic,
    subscriber_for,
    suppress_email,
    unsubscribe_all,
    unsubscribe_topic,
)

__all__ = [
    "PLACEHOLDERS",
    "CampaignError",
    "apply_provider_event",
    "cancel_campaign",
    "close_subscriber",
    "confirm_subscriptions",
    "finish_campaign_if_done",
    "is_suppressed",
    "mark_stuck_deliveries",
    "missing_placeholders",
    "record_consent",
    "request_subscriptions",
    "save_topic",
    "schedule_campaign",
    "start_due_campaigns",
    "subscribe_topic",
    "subscriber_for",
    "suppress_email",
    "unsubscribe_all",
    "unsubscribe_topic",
]
