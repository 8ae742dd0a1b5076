import hashlib
import json
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PolicyVersionQuerySet(models.QuerySet):
    def published(self):
        return self.filter(published_at__isnull=False)

    def in_force(self, on=None):
        """Published versions whose effective date has come, newest first."""
        day = on or timezone.localdate()
        return (
            self.published()
            .filter(effective_date__lte=day)
            .order_by("-effective_date", "-published_at")
        )

    def current(self, on: Any = None) -> "PolicyVersion | None":
        return self.in_force(on).first()


class PolicyVersion(models.Model):
    """One version of the privacy policy, in English and Bahasa Malaysia. A draft can be edited;
    once published it is immutable (the admin makes it read-only and, on PostgreSQL, a trigger
    refuses any UPDATE or DELETE of a published row). The hash fixes what customers accepted."""

    version = models.CharField(_("version"), max_length=32, unique=True)
    effective_date = models.DateField(_("effective date"))
    summary = models.CharField(_("what changed"), max_length=300, blank=True)
    body_en = models.TextField(_("text in English (Markdown)"))
    body_ms = models.TextField(_("text in Bahasa Malaysia (Markdown)"))
    content_hash = models.CharField(_("SHA-256 of the text"), max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)

    objects = PolicyVersionQuerySet.as_manager()

    class Meta:
        ordering = ["-effective_date", "-published_at"]
        verbose_name = _("privacy policy version")
        verbose_name_plural = _("privacy policy versions")

    def __str__(self) -> str:
        return f"Privacy policy {self.version}"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    def body_for(self, language: str) -> str:
        return self.body_ms if language == "ms" else self.body_en

    def compute_hash(self) -> str:
        canonical = json.dumps(
            {
                "version": self.version,
                "effective_date": self.effective_date.isoformat(),
                "en": self.body_en,
                "ms": self.body_ms,
            },
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class AcceptanceMethod(models.TextChoices):
    SIGNUP = "signup", _("At signup")
    REVIEW = "review", _("Reviewed after an update")


class PolicyAcceptance(models.Model):
    """A customer accepted one policy version: when, from which IP, and how."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="policy_acceptances"
    )
    policy = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="acceptances")
    accepted_at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    method = models.CharField(max_length=16, choices=AcceptanceMethod.choices)

    class Meta:
        ordering = ["-accepted_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "policy"], name="one_acceptance_per_policy")
        ]

    def __str__(self) -> str:
        return f"Acceptance {self.pk}"


class AccessAction(models.TextChoices):
    VIEWED = "viewed", _("Viewed")
    DOWNLOADED = "downloaded", _("Downloaded")
    EXPORTED = "exported", _("Exported")
    CHANGED = "changed", _("Changed")
    DENIED = "denied", _("Denied")


class AccessLog(models.Model):
    """Who looked at whose personal data. Append-only: the code only ever inserts (through
    privacy.services.log_access), and on PostgreSQL a trigger refuses UPDATE and DELETE."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_role = models.CharField(max_length=120)
    action = models.CharField(max_length=16, choices=AccessAction.choices)
    target_type = models.CharField(max_length=100)
    target_id = models.CharField(max_length=64)
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The person whose data it is."),
    )
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    detail = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["subject", "-at"], name="accesslog_subject_at")]
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log")

    def __str__(self) -> str:
        return f"Access {self.pk}"


class Disclosure(models.Model):
    """Personal data of `subject` given to a third party (the disclosure register). Written by
    privacy.services.record_disclosure at the moment data leaves the store; the customer sees
    their rows in the privacy centre."""

    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="disclosures"
    )
    recipient = models.CharField(_("recipient"), max_length=120)
    data_categories = models.CharField(_("data disclosed"), max_length=300)
    purpose = models.CharField(_("purpose"), max_length=200)
    reference = models.CharField(_("reference"), max_length=60, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("disclosure")
        verbose_name_plural = _("disclosure register")

    def __str__(self) -> str:
        return f"Disclosure {self.pk}"
