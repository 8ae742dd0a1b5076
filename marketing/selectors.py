"""Reads that decide what a link or a signed-in customer may see."""

import uuid

from django.db.models import QuerySet

from .models import Subscriber, SubscriptionStatus, Topic


def offered_topics() -> QuerySet[Topic]:
    return Topic.objects.filter(is_active=True, current_version__isnull=False).select_related(
        "current_version"
    )


def get_subscriber(public_id: uuid.UUID) -> Subscriber | None:
    """The subscriber a signed link names, if their account is still open."""
    return (
        Subscriber.objects.select_related("user")
        .filter(public_id=public_id, user__isnull=False, user__is_active=True)
        .first()
    )


def topics_on(subscriber: Subscriber | None) -> set[int]:
    """Ids of topics the subscriber is subscribed to or waiting to confirm."""
    if subscriber is None:
        return set()
    return set(
        subscriber.subscriptions.exclude(status=SubscriptionStatus.UNSUBSCRIBED).values_list(
            "topic_id", flat=True
        )
    )


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"
