import datetime
import hashlib
import json
import secrets
import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce
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


# What a disclosure names is stored as codes and translated when shown (the privacy centre is
# read in the customer's language). record_disclosure also accepts these English labels, so a
# caller written before the codes keeps working; an unknown value is stored and shown as it is.
DISCLOSURE_CATEGORIES = {
    "email_address": _("email address"),
    "name": _("name"),
    "phone": _("phone number"),
    "billing_address": _("billing address"),
    "shipping_address": _("delivery address"),
    "billing_country": _("billing country"),
    "customer_number": _("customer number"),
    "order_amount": _("order amount"),
    "order_contents": _("order contents"),
}
DISCLOSURE_PURPOSES = {
    "card_payment": _("Processing the card payment for your order"),
    "delivery": _("Delivering your order"),
    "legal_obligation": _("Required by law"),
}


def disclosure_code(value: str, labels: dict) -> str:
    """The code for `value` (a code already, or one of the English labels), else `value`."""
    value = value.strip()
    if value in labels:
        return value
    for code, label in labels.items():
        if value.lower() == _english(label).lower():
            return code
    return value


def _english(label) -> str:
    from django.utils import translation

    with translation.override("en"):
        return str(label)


class Disclosure(models.Model):
    """Personal data of `subject` given to a third party (the disclosure register). Written by
    privacy.services.record_disclosure at the moment data leaves the store; the customer sees
    their rows in the privacy centre, in their language: categories and purpose are stored as
    codes (DISCLOSURE_CATEGORIES, DISCLOSURE_PURPOSES) and `data_categories` and `purpose`
    read them translated."""

    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="disclosures"
    )
    recipient = models.CharField(_("recipient"), max_length=120)
    category_codes = models.CharField(
        _("data disclosed"), max_length=300, db_column="data_categories"
    )
    purpose_code = models.CharField(_("purpose"), max_length=200, db_column="purpose")
    reference = models.CharField(_("reference"), max_length=60, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("disclosure")
        verbose_name_plural = _("disclosure register")

    def __str__(self) -> str:
        return f"Disclosure {self.pk}"

    @property
    def data_categories(self) -> str:
        """The categories disclosed, in the active language."""
        codes = [code.strip() for code in self.category_codes.split(",") if code.strip()]
        return ", ".join(str(DISCLOSURE_CATEGORIES.get(code, code)) for code in codes)

    @data_categories.setter
    def data_categories(self, value: str) -> None:
        """Comma-separated codes or English labels (stored as codes)."""
        self.category_codes = ",".join(
            disclosure_code(item, DISCLOSURE_CATEGORIES)
            for item in value.split(",")
            if item.strip()
        )

    @property
    def purpose(self) -> str:
        """Why, in the active language."""
        return str(DISCLOSURE_PURPOSES.get(self.purpose_code, self.purpose_code))

    @purpose.setter
    def purpose(self, value: str) -> None:
        self.purpose_code = disclosure_code(value, DISCLOSURE_PURPOSES)


# --- Data rights (issue 10): requests, exports, closures, the breach register.


class DataRequestKind(models.TextChoices):
    EXPORT = "export", _("Copy of my data")
    CORRECTION = "correction", _("Correction of my data")
    CLOSURE = "closure", _("Closure of my account")
    OBJECTION = "objection", _("Objection to a use of my data")
    COMPLAINT = "complaint", _("Privacy complaint")


class DataRequestStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    IN_PROGRESS = "in_progress", _("Being handled")
    DONE = "done", _("Done")
    REFUSED = "refused", _("Refused, with reasons")


OPEN_REQUEST_STATUSES = (DataRequestStatus.RECEIVED, DataRequestStatus.IN_PROGRESS)


class DataRequestChannel(models.TextChoices):
    PRIVACY_CENTRE = "privacy_centre", _("Privacy centre")
    CUSTOMER_SERVICE = "customer_service", _("Customer service")
    STAFF = "staff", _("Recorded by staff")


def new_request_reference() -> str:
    alphabet = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
    body = "".join(secrets.choice(alphabet) for _ in range(8))
    return f"DR-{body[:4]}-{body[4:]}"


class DataRequestQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status__in=OPEN_REQUEST_STATUSES)

    def with_effective_due(self):
        """Annotate `effective_due`: the extended due date if there is one, else the first."""
        return self.annotate(effective_due=Coalesce("extended_due_on", "due_on"))

    def oldest_due_first(self):
        return self.with_effective_due().order_by("effective_due", "received_at", "id")


class DataRequest(models.Model):
    """A person exercising a data right (PDPA ss. 30-38, GDPR arts. 15-21) or complaining. Due
    21 days after receipt (a date in Malaysia's time zone); one 14-day extension with a written
    reason. Created only by privacy.services.open_data_request."""

    reference = models.CharField(
        _("reference"), max_length=20, unique=True, default=new_request_reference
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="data_requests",
        verbose_name=_("customer"),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=DataRequestKind.choices)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=DataRequestStatus.choices,
        default=DataRequestStatus.RECEIVED,
    )
    channel = models.CharField(
        _("received through"), max_length=20, choices=DataRequestChannel.choices
    )
    details = models.TextField(_("what the customer asked"), blank=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    due_on = models.DateField(_("due"))
    extended_due_on = models.DateField(_("due after extension"), null=True, blank=True)
    extension_reason = models.TextField(_("reason for the extension"), blank=True)
    resolution = models.TextField(_("answer to the customer"), blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("handled by"),
    )
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    objects = DataRequestQuerySet.as_manager()

    class Meta:
        ordering = ["due_on", "received_at", "id"]
        verbose_name = _("data request")
        verbose_name_plural = _("data requests")
        indexes = [models.Index(fields=["status", "due_on"], name="datarequest_status_due")]
        constraints = [
            models.CheckConstraint(
                condition=Q(extended_due_on__isnull=True) | ~Q(extension_reason=""),
                name="datarequest_extension_has_reason",
            )
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def effective_due_on(self):
        return self.extended_due_on or self.due_on

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_REQUEST_STATUSES


class DataExportStatus(models.TextChoices):
    PENDING = "pending", _("Being prepared")
    READY = "ready", _("Ready to download")
    EXPIRED = "expired", _("Expired and deleted")


class DataExport(models.Model):
    """An archive of everything the store holds about `user`, built by a task, downloadable
    only by them until `expires_at`, then deleted by the retention schedule."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="data_exports"
    )
    request = models.OneToOneField(
        DataRequest, on_delete=models.PROTECT, related_name="export", null=True, blank=True
    )
    status = models.CharField(
        max_length=16, choices=DataExportStatus.choices, default=DataExportStatus.PENDING
    )
    # The archive, encrypted in the document vault (privacy.vault); shredded when it expires
    # or the account closes. Empty while pending and after expiry.
    vault_file = models.ForeignKey(
        "privacy.VaultFile",
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    size_bytes = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    ready_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    SECRET_FIELDS = ("public_id",)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("data export")
        verbose_name_plural = _("data exports")

    def __str__(self) -> str:
        return f"Export {self.pk}"

    @property
    def is_downloadable(self) -> bool:
        return (
            self.status == DataExportStatus.READY
            and self.expires_at is not None
            and self.expires_at > timezone.now()
        )


class AccountClosure(models.Model):
    """The account `user` was closed (anonymised) at `closed_at`. The user row stays as a
    pseudonymous customer that the orders kept for tax law point to."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="closure"
    )
    closed_at = models.DateTimeField(default=timezone.now, db_index=True)
    request = models.OneToOneField(
        DataRequest, on_delete=models.PROTECT, related_name="closure", null=True, blank=True
    )

    def __str__(self) -> str:
        return f"Closure {self.pk}"


class ClosureNotice(models.Model):
    """The old address of a closed account, kept only until the final email has been sent
    (the outbox carries ids, never addresses). Deleted by the task that sends it."""

    closure = models.OneToOneField(AccountClosure, on_delete=models.CASCADE, related_name="notice")
    email = models.EmailField()
    language = models.CharField(max_length=8, default="en")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Closure notice {self.pk}"


class Breach(models.Model):
    """A personal-data breach (PDPA s. 12B as amended in 2024): the Commissioner is notified
    within 72 hours of discovery, affected people within 7 days after that."""

    reference = models.CharField(_("reference"), max_length=20, unique=True)
    summary = models.CharField(_("what happened"), max_length=300)
    description = models.TextField(_("details"), blank=True)
    data_categories = models.CharField(_("categories of data"), max_length=300)
    occurred_at = models.DateTimeField(_("occurred (if known)"), null=True, blank=True)
    discovered_at = models.DateTimeField(_("found"))
    people_affected = models.PositiveIntegerField(_("people affected (estimate)"), default=0)
    commissioner_notified_at = models.DateTimeField(
        _("Commissioner notified"), null=True, blank=True
    )
    people_notified_at = models.DateTimeField(_("affected people notified"), null=True, blank=True)
    measures = models.TextField(_("measures taken"), blank=True)
    affected_models = models.JSONField(
        _("records affected"),
        default=list,
        blank=True,
        help_text=_("Declared models (app_label.ModelName) whose rows were exposed."),
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # The notice to affected people (PDPA s. 12B(2)), written by the officer in both languages;
    # each person gets it in theirs (privacy.rights.notify_affected_people).
    notice_happened_en = models.TextField(_("notice: what happened (English)"), blank=True)
    notice_happened_ms = models.TextField(_("notice: what happened (Malay)"), blank=True)
    notice_measures_en = models.TextField(_("notice: what we are doing (English)"), blank=True)
    notice_measures_ms = models.TextField(_("notice: what we are doing (Malay)"), blank=True)
    notice_advice_en = models.TextField(_("notice: what you can do (English)"), blank=True)
    notice_advice_ms = models.TextField(_("notice: what you can do (Malay)"), blank=True)
    notification_sent_at = models.DateTimeField(
        _("notification to affected people started"), null=True, blank=True
    )

    NOTICE_FIELDS = (
        "notice_happened_en",
        "notice_happened_ms",
        "notice_measures_en",
        "notice_measures_ms",
        "notice_advice_en",
        "notice_advice_ms",
    )
    COMMISSIONER_HOURS = 72
    PEOPLE_DAYS = 7

    class Meta:
        ordering = ["-discovered_at", "-id"]
        verbose_name = _("personal-data breach")
        verbose_name_plural = _("breach register")

    def __str__(self) -> str:
        return self.reference

    @property
    def commissioner_deadline(self):
        return self.discovered_at + datetime.timedelta(hours=self.COMMISSIONER_HOURS)

    @property
    def people_deadline(self):
        start = self.commissioner_notified_at or self.commissioner_deadline
        return start + datetime.timedelta(days=self.PEOPLE_DAYS)

    def notice_for(self, language: str) -> dict[str, str]:
        suffix = "ms" if language == "ms" else "en"
        return {
            part: getattr(self, f"notice_{part}_{suffix}")
            for part in ("happened", "measures", "advice")
        }


class BreachAffected(models.Model):
    """One customer affected by a breach (listed from the registry's categories)."""

    breach = models.ForeignKey(Breach, on_delete=models.CASCADE, related_name="affected")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="breaches"
    )
    # Set in the same transaction as the email is sent: the row (unique per breach and person)
    # is the guard that sends each person the notice once.
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["breach", "user"], name="one_row_per_breach_user")
        ]

    def __str__(self) -> str:
        return f"Affected {self.pk}"


class VaultFile(models.Model):
    """One encrypted blob in the document vault (privacy.vault). The blob holds only ciphertext;
    its data key is kept here wrapped by a master key (`key_id` names it), so rotating master
    keys rewrites this row, never the blob. Shredding deletes the blob and the wrapped key."""

    SECRET_FIELDS = ("storage_name", "wrapped_key")

    storage_name = models.CharField(max_length=64, unique=True)
    key_id = models.CharField(max_length=40, db_index=True)
    wrapped_key = models.BinaryField(max_length=128)
    size = models.PositiveBigIntegerField(help_text=_("Plaintext size in bytes."))
    created_at = models.DateTimeField(default=timezone.now)
    rewrapped_at = models.DateTimeField(null=True, blank=True)
    shredded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("vault file")
        verbose_name_plural = _("vault files")

    def __str__(self) -> str:
        return f"Vault file {self.pk}"

    @property
    def is_shredded(self) -> bool:
        return self.shredded_at is not None
