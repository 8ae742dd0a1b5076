"""State changes of consent: topics and their versioned wording, subscriptions, the consent
ledger (`record_consent`, its only writer) and the suppression list."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from ipmart.core.audit import diff, record_staff_change, snapshot
from ipmart.core.outbox import enqueue

from ..models import (
    ConsentAction,
    ConsentMethod,
    ConsentRecord,
    Delivery,
    DeliveryStatus,
    ProviderEvent,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    Suppression,
    SuppressionReason,
    Topic,
    TopicVersion,
)
from ..suppression import email_hash

if TYPE_CHECKING:
    # Types only: marketing sits below accounts (accounts imports marketing).
    from accounts.models import User
else:
    User = get_user_model()


def _version_of(topic: Topic, version: TopicVersion | None = None) -> TopicVersion:
    """The wording a ledger row names: the subscription's own, else the topic's current one."""
    version = version or topic.current_version
    if version is None:
        raise ValueError(f"topic {topic.code!r} has no wording to consent to")
    return version


# --- topics


@transaction.atomic
def save_topic(
    topic: Topic | None,
    *,
    code: str,
    position: int,
    is_active: bool,
    name_en: str,
    name_ms: str,
    consent_text_en: str,
    consent_text_ms: str,
    acting_user: User | None = None,
) -> Topic:
    """Create or change a topic. A change of its wording becomes a new version with its own
    hash (earlier consents keep pointing at the text they were given for); the same wording
    saved again adds nothing. With `acting_user` (admin), the change is in the staff audit
    trail: position, offered, and the text's version number and hash (not the text)."""
    trail = ["position", "is_active", "text_version"]
    created = topic is None
    if topic is None:
        topic = Topic.objects.create(code=code, position=position, is_active=is_active)
        before = {}
    else:
        topic = Topic.objects.select_for_update().get(pk=topic.pk)
        before = _topic_trail(topic, trail)
        topic.position, topic.is_active = position, is_active
    digest = TopicVersion.hash_of(
        code=topic.code,
        name_en=name_en,
        name_ms=name_ms,
        text_en=consent_text_en,
        text_ms=consent_text_ms,
    )
    current = topic.current_version
    if current is None or current.content_hash != digest:
        number = (current.number if current else 0) + 1
        topic.current_version = TopicVersion.objects.create(
            topic=topic,
            number=number,
            name_en=name_en,
            name_ms=name_ms,
            consent_text_en=consent_text_en,
            consent_text_ms=consent_text_ms,
            content_hash=digest,
        )
    topic.save()
    if acting_user is not None:
        changes = diff(before, _topic_trail(topic, trail))
        record_staff_change(
            acting_user, topic, action="create" if created else "update", changes=changes
        )
    return topic


def _topic_trail(topic: Topic, fields: list[str]) -> dict[str, Any]:
    version = topic.current_version
    values = snapshot(topic, ["position", "is_active"])
    values["text_version"] = f"v{version.number} {version.content_hash[:10]}" if version else ""
    return {name: values[name] for name in fields}


# --- the consent ledger


def record_consent(
    subscriber: Subscriber,
    *,
    topic: Topic,
    version: TopicVersion,
    action: str,
    method: str,
    ip_address: str | None = None,
    actor: User | None = None,
) -> ConsentRecord:
    """Write one ledger row. The only code that writes the ledger; rows are never changed."""
    if action not in ConsentAction.values or method not in ConsentMethod.values:
        raise ValueError(f"unknown consent action/method {action!r}/{method!r}")
    return ConsentRecord.objects.create(
        subscriber=subscriber,
        topic=topic,
        version=version,
        text_hash=version.content_hash,
        action=action,
        method=method,
        ip_address=ip_address,
        actor=actor,
    )


def subscriber_for(user: User) -> Subscriber:
    subscriber, _ = Subscriber.objects.get_or_create(user=user)
    return subscriber


def _lock(subscriber: Subscriber) -> None:
    # Serialises consent changes of one person (two tabs, a click racing a webhook).
    Subscriber.objects.select_for_update().filter(pk=subscriber.pk).first()


def _lift_unsubscribe_all(subscriber: Subscriber) -> None:
    """A fresh, confirmed opt-in lifts an earlier "unsubscribe from everything" (never a
    bounce, a complaint or a closed account)."""
    if subscriber.user is not None:
        Suppression.objects.filter(
            email_hash=email_hash(subscriber.user.email),
            reason=SuppressionReason.UNSUBSCRIBED_ALL,
        ).delete()


@transaction.atomic
def request_subscriptions(
    user: User, *, topics: list[Topic], method: str, ip_address: str | None = None
) -> list[Subscription]:
    """The person ticked `topics` (at signup, or from an emailed preference link): each becomes
    pending with a "granted" ledger row, and one confirmation email goes out (double opt-in).
    Topics already subscribed are left alone. Returns the subscriptions made pending."""
    subscriber = subscriber_for(user)
    _lock(subscriber)
    now = timezone.now()
    pending = []
    for topic in topics:
        subscription = Subscription.objects.filter(subscriber=subscriber, topic=topic).first()
        if subscription and subscription.status == SubscriptionStatus.SUBSCRIBED:
            continue
        version = _version_of(topic)
        if subscription is None:
            subscription = Subscription(subscriber=subscriber, topic=topic)
        subscription.status = SubscriptionStatus.PENDING
        subscription.version = version
        subscription.ip_address = ip_address
        subscription.updated_at = now
        subscription.save()
        record_consent(
            subscriber,
            topic=topic,
            version=version,
            action=ConsentAction.GRANTED,
            method=method,
            ip_address=ip_address,
        )
        pending.append(subscription)
    if pending:
        enqueue(
            "marketing.tasks.send_confirmation_email",
            subscriber.pk,
            [s.topic.code for s in pending],
        )
    return pending


@transaction.atomic
def confirm_subscriptions(
    subscriber: Subscriber, *, topic_codes: list[str], ip_address: str | None = None
) -> list[Subscription]:
    """The person confirmed from the emailed link (a POST). Only topics still pending become
    subscribed (one withdrawn since stays withdrawn). Idempotent."""
    _lock(subscriber)
    confirmed = []
    subscriptions = Subscription.objects.select_related("topic", "version").filter(
        subscriber=subscriber, topic__code__in=topic_codes, status=SubscriptionStatus.PENDING
    )
    for subscription in subscriptions:
        subscription.status = SubscriptionStatus.SUBSCRIBED
        subscription.confirmed_at = subscription.updated_at = timezone.now()
        subscription.ip_address = ip_address
        subscription.save()
        record_consent(
            subscriber,
            topic=subscription.topic,
            version=_version_of(subscription.topic, subscription.version),
            action=ConsentAction.CONFIRMED,
            method=ConsentMethod.EMAIL_CONFIRMATION,
            ip_address=ip_address,
        )
        confirmed.append(subscription)
    if confirmed:
        _lift_unsubscribe_all(subscriber)
    return confirmed


@transaction.atomic
def subscribe_topic(
    user: User, *, topic: Topic, ip_address: str | None = None, actor: User | None = None
) -> Subscription:
    """A signed-in customer (whose address is verified) turns a topic on in /account/: it is
    subscribed at once, with a "confirmed" ledger row."""
    subscriber = subscriber_for(user)
    _lock(subscriber)
    subscription, _ = Subscription.objects.get_or_create(
        subscriber=subscriber,
        topic=topic,
        defaults={"status": SubscriptionStatus.UNSUBSCRIBED},
    )
    if subscription.status == SubscriptionStatus.SUBSCRIBED:
        return subscription
    version = _version_of(topic)
    subscription.status = SubscriptionStatus.SUBSCRIBED
    subscription.version = version
    subscription.confirmed_at = subscription.updated_at = timezone.now()
    subscription.ip_address = ip_address
    subscription.save()
    record_consent(
        subscriber,
        topic=topic,
        version=version,
        action=ConsentAction.CONFIRMED,
        method=ConsentMethod.STAFF if actor else ConsentMethod.PREFERENCE_CENTRE,
        ip_address=ip_address,
        actor=actor,
    )
    _lift_unsubscribe_all(subscriber)
    return subscription


def _withdraw(
    subscription: Subscription, *, method: str, ip_address: str | None, actor: User | None
) -> None:
    subscription.status = SubscriptionStatus.UNSUBSCRIBED
    subscription.updated_at = timezone.now()
    subscription.save(update_fields=["status", "updated_at"])
    record_consent(
        subscription.subscriber,
        topic=subscription.topic,
        version=_version_of(subscription.topic, subscription.version),
        action=ConsentAction.WITHDRAWN,
        method=method,
        ip_address=ip_address,
        actor=actor,
    )


@transaction.atomic
def unsubscribe_topic(
    subscriber: Subscriber,
    *,
    topic: Topic,
    method: str,
    ip_address: str | None = None,
    actor: User | None = None,
) -> bool:
    """Turn one topic off, at once. Idempotent: returns False (and writes nothing) when it was
    not on (subscribed or pending)."""
    _lock(subscriber)
    subscription = (
        Subscription.objects.select_related("topic", "version", "subscriber")
        .filter(subscriber=subscriber, topic=topic)
        .exclude(status=SubscriptionStatus.UNSUBSCRIBED)
        .first()
    )
    if subscription is None:
        return False
    _withdraw(subscription, method=method, ip_address=ip_address, actor=actor)
    return True


@transaction.atomic
def unsubscribe_all(
    subscriber: Subscriber,
    *,
    method: str,
    ip_address: str | None = None,
    actor: User | None = None,
    reason: str = SuppressionReason.UNSUBSCRIBED_ALL,
) -> int:
    """Withdraw every topic and put the address on the suppression list, so nothing
    promotional reaches it again. Returns how many topics were withdrawn."""
    _lock(subscriber)
    subscriptions = list(
        Subscription.objects.select_related("topic", "version", "subscriber")
        .filter(subscriber=subscriber)
        .exclude(status=SubscriptionStatus.UNSUBSCRIBED)
    )
    for subscription in subscriptions:
        _withdraw(subscription, method=method, ip_address=ip_address, actor=actor)
    if subscriber.user is not None:
        suppress_email(subscriber.user.email, reason=reason)
    return len(subscriptions)


def suppress_email(email: str, *, reason: str) -> Suppression:
    """Put an address on the suppression list (idempotent; the first reason stays, except that
    a bounce, complaint or closure outranks a plain unsubscribe)."""
    suppression, created = Suppression.objects.get_or_create(
        email_hash=email_hash(email), defaults={"reason": reason}
    )
    if not created and suppression.reason == SuppressionReason.UNSUBSCRIBED_ALL != reason:
        suppression.reason = reason
        suppression.save(update_fields=["reason"])
    return suppression


def is_suppressed(email: str) -> bool:
    return Suppression.objects.filter(email_hash=email_hash(email)).exists()


@transaction.atomic
def close_subscriber(user: User) -> None:
    """Account closure: withdraw every consent ("account closure"), suppress the address for
    good, delete the subscriptions and detach the subscriber from the account. The ledger and
    the suppression row stay (proof of consent; nobody who left is mailed again)."""
    subscriber = Subscriber.objects.filter(user=user).first()
    if subscriber is None:
        suppress_email(user.email, reason=SuppressionReason.ACCOUNT_CLOSED)
        return
    unsubscribe_all(
        subscriber,
        method=ConsentMethod.ACCOUNT_CLOSURE,
        reason=SuppressionReason.ACCOUNT_CLOSED,
    )
    suppress_email(user.email, reason=SuppressionReason.ACCOUNT_CLOSED)
    Subscription.objects.filter(subscriber=subscriber).delete()
    Delivery.objects.filter(subscriber=subscriber, status=DeliveryStatus.QUEUED).update(
        status=DeliveryStatus.SKIPPED, skip_reason="account closed"
    )
    subscriber.user = None
    subscriber.save(update_fields=["user"])


@transaction.atomic
def apply_provider_event(*, event_id: str, event_type: str, email: str) -> bool:
    """A bounce or complaint from the email provider: a hard bounce or a complaint suppresses
    the address and withdraws every topic (method "bounce"/"complaint"). Stored once per event
    id; returns False for an event already applied or of another type."""
    methods = {
        "bounced": (ConsentMethod.BOUNCE, SuppressionReason.HARD_BOUNCE),
        "complained": (ConsentMethod.COMPLAINT, SuppressionReason.COMPLAINT),
    }
    if event_type not in methods or not email:
        return False
    _, created = ProviderEvent.objects.get_or_create(
        event_id=event_id[:200], defaults={"event_type": event_type}
    )
    if not created:
        return False
    method, reason = methods[event_type]
    suppress_email(email, reason=reason)
    user = User.objects.filter(email__iexact=email.strip()).first()
    subscriber = Subscriber.objects.filter(user=user).first() if user else None
    if subscriber is not None:
        unsubscribe_all(subscriber, method=method, reason=reason)
    return True
