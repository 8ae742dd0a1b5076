"""Marketing: topics (with versioned consent text), subscribers and their subscriptions, the
append-only consent ledger, the suppression list, campaigns and their deliveries, and the
provider events (bounces, complaints) already applied."""

import hashlib
import json
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Topic(models.Model):
    """A kind of promotional email a customer can opt in to. Its wording lives in versions: a
    change of text is a new TopicVersion with its own hash (marketing.services.save_topic)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("offered to customers"), default=True)
    current_version = models.ForeignKey(
        "TopicVersion",
        verbose_name=_("current text"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("topic")
        verbose_name_plural = _("topics")

    def __str__(self) -> str:
        return self.code

    def name_for(self, language: str) -> str:
        version = self.current_version
        return version.name_for(language) if version else self.code


class TopicVersion(models.Model):
    """The exact words a customer saw when consenting to a topic. Never changed once written."""

    topic = models.ForeignKey(Topic, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    name_en = models.CharField(_("name in English"), max_length=120)
    name_ms = models.CharField(_("name in Bahasa Malaysia"), max_length=120)
    consent_text_en = models.TextField(_("consent text in English"))
    consent_text_ms = models.TextField(_("consent text in Bahasa Malaysia"))
    content_hash = models.CharField(_("SHA-256 of the text"), max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["topic", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["topic", "number"], name="one_topic_version_number")
        ]
        verbose_name = _("topic text version")
        verbose_name_plural = _("topic text versions")

    def __str__(self) -> str:
        return f"{self.topic_id} v{self.number}"

    def name_for(self, language: str) -> str:
        return self.name_ms if language == "ms" else self.name_en

    def consent_text_for(self, language: str) -> str:
        return self.consent_text_ms if language == "ms" else self.consent_text_en

    @staticmethod
    def hash_of(*, code: str, name_en: str, name_ms: str, text_en: str, text_ms: str) -> str:
        canonical = json.dumps(
            {"topic": code, "name_en": name_en, "name_ms": name_ms, "en": text_en, "ms": text_ms},
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class Subscriber(models.Model):
    """The person as marketing knows them. `public_id` goes into signed links (never the email
    or the primary key). The row outlives account closure (the ledger points at it), with the
    user link cleared."""

    SECRET_FIELDS = ("public_id",)

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="marketing_subscriber",
    )
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("subscriber")
        verbose_name_plural = _("subscribers")

    def __str__(self) -> str:
        return f"Subscriber {self.pk}"


class SubscriptionStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for confirmation")
    SUBSCRIBED = "subscribed", _("Subscribed")
    UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")


class Subscription(models.Model):
    """Where a subscriber stands on one topic now (the ledger says how it got there)."""

    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.CASCADE, related_name="subscriptions"
    )
    topic = models.ForeignKey(Topic, on_delete=models.PROTECT, related_name="subscriptions")
    status = models.CharField(max_length=16, choices=SubscriptionStatus.choices)
    version = models.ForeignKey(
        TopicVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscriber", "topic"], name="one_subscription_per_topic"
            )
        ]
        indexes = [models.Index(fields=["topic", "status", "subscriber"], name="sub_topic_status")]
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")

    def __str__(self) -> str:
        return f"Subscription {self.pk}"


class ConsentAction(models.TextChoices):
    GRANTED = "granted", _("Granted (waiting for confirmation)")
    CONFIRMED = "confirmed", _("Confirmed")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class ConsentMethod(models.TextChoices):
    SIGNUP = "signup", _("At signup")
    PREFERENCE_CENTRE = "preference_centre", _("Preference centre")
    EMAIL_CONFIRMATION = "email_confirmation", _("Confirmation link")
    ONE_CLICK = "list_unsubscribe_post", _("One-click unsubscribe (email header)")
    FOOTER_LINK = "footer_link", _("Unsubscribe link in an email")
    ACCOUNT_CLOSURE = "account_closure", _("Account closure")
    STAFF = "staff", _("Staff")
    BOUNCE = "bounce", _("Hard bounce")
    COMPLAINT = "complaint", _("Spam complaint")


class ConsentRecord(models.Model):
    """One line of the consent ledger. Append-only: only marketing.services.record_consent
    writes it, and on PostgreSQL a trigger refuses UPDATE and DELETE."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.PROTECT, related_name="consent_records"
    )
    topic = models.ForeignKey(Topic, on_delete=models.PROTECT, related_name="+")
    version = models.ForeignKey(TopicVersion, on_delete=models.PROTECT, related_name="+")
    text_hash = models.CharField(max_length=64)
    action = models.CharField(max_length=16, choices=ConsentAction.choices)
    method = models.CharField(max_length=32, choices=ConsentMethod.choices)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The staff member who acted, if not the person."),
    )

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["subscriber", "-at"], name="consent_subscriber_at")]
        verbose_name = _("consent record")
        verbose_name_plural = _("consent ledger")

    def __str__(self) -> str:
        return f"Consent {self.pk}"


class SuppressionReason(models.TextChoices):
    UNSUBSCRIBED_ALL = "unsubscribed_all", _("Unsubscribed from everything")
    HARD_BOUNCE = "hard_bounce", _("Hard bounce")
    COMPLAINT = "complaint", _("Spam complaint")
    ACCOUNT_CLOSED = "account_closed", _("Account closed")


class Suppression(models.Model):
    """An address that must never get promotional email. Keyed by an HMAC of the normalised
    address (marketing.suppression), so it survives account closure without keeping the email."""

    SECRET_FIELDS = ("email_hash",)

    email_hash = models.CharField(max_length=64, unique=True)
    reason = models.CharField(max_length=20, choices=SuppressionReason.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("suppressed address")
        verbose_name_plural = _("suppression list")

    def __str__(self) -> str:
        return f"Suppression {self.pk}"


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SCHEDULED = "scheduled", _("Scheduled")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    CANCELLED = "cancelled", _("Cancelled")


class Campaign(models.Model):
    """A promotional email for one topic, in English and Malay. Bodies are templates whose
    context holds `name`, `unsubscribe_url` and `preferences_url` only."""

    name = models.CharField(_("internal name"), max_length=120)
    topic = models.ForeignKey(Topic, on_delete=models.PROTECT, related_name="campaigns")
    subject_en = models.CharField(_("subject in English"), max_length=200)
    subject_ms = models.CharField(_("subject in Bahasa Malaysia"), max_length=200)
    body_text_en = models.TextField(_("text body in English"))
    body_text_ms = models.TextField(_("text body in Bahasa Malaysia"))
    body_html_en = models.TextField(_("HTML body in English"))
    body_html_ms = models.TextField(_("HTML body in Bahasa Malaysia"))
    status = models.CharField(
        max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )
    scheduled_at = models.DateTimeField(_("send at"), null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    audience_taken_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "scheduled_at"], name="campaign_due")]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")

    def __str__(self) -> str:
        return self.name

    def part(self, kind: str, language: str) -> str:
        return getattr(self, f"{kind}_{'ms' if language == 'ms' else 'en'}")


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    SKIPPED = "skipped", _("Skipped")
    FAILED = "failed", _("Failed")
    UNKNOWN = "unknown", _("Unknown (stopped mid-send)")


class Delivery(models.Model):
    """One campaign to one subscriber. The unique pair and the claim (queued → sending, a
    guarded UPDATE marked with the claiming run's id) make every send happen at most once.
    The Message-ID of a sent email is derived from the row (rendering.delivery_message_id)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="deliveries")
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED
    )
    skip_reason = models.CharField(max_length=32, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    claim = models.UUIDField(null=True, blank=True, editable=False)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "subscriber"], name="one_delivery_per_recipient"
            )
        ]
        indexes = [
            models.Index(fields=["campaign", "status"], name="delivery_campaign_status"),
            models.Index(fields=["status", "claimed_at"], name="delivery_status_claimed"),
        ]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")

    def __str__(self) -> str:
        return f"Delivery {self.pk}"


class ProviderEvent(models.Model):
    """A bounce or complaint reported by the email provider, stored once per event id."""

    event_id = models.CharField(max_length=200, unique=True)
    event_type = models.CharField(max_length=32)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("provider event")
        verbose_name_plural = _("provider events")

    def __str__(self) -> str:
        return f"{self.event_type} {self.pk}"
