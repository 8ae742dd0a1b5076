"""Customer service: the FAQ, inquiries and their threads, canned replies, inbound email."""

import secrets
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class FaqTopic(models.Model):
    name = models.CharField(_("name (English)"), max_length=120)
    name_ms = models.CharField(_("name (Malay)"), max_length=120, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("FAQ topic")
        verbose_name_plural = _("FAQ topics")

    def __str__(self) -> str:
        return self.name

    def name_in(self, language: str) -> str:
        return (language == "ms" and self.name_ms) or self.name


class FaqEntryQuerySet(models.QuerySet):
    def published(self):
        return self.filter(is_published=True)


class FaqEntry(models.Model):
    """A question and its answer, in English and (optionally) Malay. The answer is plain text:
    blank lines separate paragraphs."""

    topic = models.ForeignKey(FaqTopic, on_delete=models.PROTECT, related_name="entries")
    question = models.CharField(_("question (English)"), max_length=300)
    answer = models.TextField(_("answer (English)"))
    question_ms = models.CharField(_("question (Malay)"), max_length=300, blank=True)
    answer_ms = models.TextField(_("answer (Malay)"), blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_published = models.BooleanField(_("published"), default=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = FaqEntryQuerySet.as_manager()

    class Meta:
        ordering = ["topic__position", "topic_id", "position", "id"]
        verbose_name = _("FAQ entry")
        verbose_name_plural = _("FAQ entries")

    def __str__(self) -> str:
        return self.question

    def question_in(self, language: str) -> str:
        return (language == "ms" and self.question_ms) or self.question

    def answer_in(self, language: str) -> str:
        # A Malay answer is shown only with its Malay question, never half-translated.
        return (language == "ms" and self.question_ms and self.answer_ms) or self.answer


class Category(models.TextChoices):
    ORDER = "order", _("An order")
    LICENCE_KEY = "licence_key", _("A licence key")
    BILLING = "billing", _("Billing or payment")
    PRIVACY_REQUEST = "privacy_request", _("A privacy request (my personal data)")
    COMPLAINT = "complaint", _("A complaint")
    OTHER = "other", _("Something else")


# Handled by the data protection officer only; other agents see that they exist, nothing more.
RESTRICTED_CATEGORIES = frozenset({Category.PRIVACY_REQUEST, Category.COMPLAINT})


class Status(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    WAITING = "waiting", _("Waiting on customer")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


# Statuses whose clock runs (waiting on the customer pauses it).
ACTIVE_STATUSES = (Status.NEW, Status.OPEN)
FINISHED_STATUSES = (Status.RESOLVED, Status.CLOSED)


class Rating(models.TextChoices):
    GOOD = "good", _("Good: it solved my problem")
    OKAY = "okay", _("Okay")
    BAD = "bad", _("Bad: it did not help")


def new_access_key() -> str:
    return secrets.token_urlsafe(18)


class InquiryQuerySet(models.QuerySet["Inquiry"]):
    def for_customer(self, user: Any) -> "InquiryQuerySet":
        return self.filter(user=user)

    def with_due(self, now=None):
        """Annotate `due_at` (the next target: first response, then resolution) and `overdue`
        (1 when an active inquiry is past it), for the agents' queue."""
        now = now or timezone.now()
        due = Case(
            When(first_responded_at__isnull=True, then=F("first_response_due")),
            default=F("resolution_due"),
        )
        return self.annotate(due_at=due).annotate(
            status_rank=Case(
                When(status__in=FINISHED_STATUSES, then=1),
                default=0,
                output_field=models.IntegerField(),
            ),
            overdue=Case(
                When(Q(status__in=ACTIVE_STATUSES) & Q(due_at__lt=now), then=1),
                default=0,
                output_field=models.IntegerField(),
            ),
        )


class Inquiry(models.Model):
    """A question or complaint from a customer (user set) or a guest (email only)."""

    SECRET_FIELDS = ("access_key",)

    reference = models.CharField(_("reference"), max_length=14, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="inquiries",
    )
    name = models.CharField(_("name"), max_length=150, blank=True)
    email = models.EmailField(_("email"))
    language = models.CharField(_("language"), max_length=8, default="en")
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inquiries",
        verbose_name=_("order"),
    )
    subject = models.CharField(_("subject"), max_length=150)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.NEW, db_index=True
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_inquiries",
        verbose_name=_("assignee"),
        limit_choices_to={"is_staff": True},
    )
    created_at = models.DateTimeField(_("received"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("last activity"), default=timezone.now)
    first_response_due = models.DateTimeField(_("first response due"))
    resolution_due = models.DateTimeField(_("resolution due"))
    first_responded_at = models.DateTimeField(_("first responded"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    # Part of every signed link and reply address: replacing it revokes them all.
    access_key = models.CharField(max_length=40, default=new_access_key, editable=False)
    rating = models.CharField(_("rating"), max_length=8, choices=Rating.choices, blank=True)
    rated_at = models.DateTimeField(null=True, blank=True)
    # The data request (privacy app) a signed-in customer's privacy request or complaint opened:
    # one per inquiry (the unique link guards it); none for guests or other categories.
    data_request = models.OneToOneField(
        "privacy.DataRequest",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inquiry",
        verbose_name=_("data request"),
    )

    objects = InquiryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("inquiry")
        verbose_name_plural = _("inquiries")
        permissions = [
            (
                "handle_restricted_inquiry",
                "Can read and answer privacy requests and complaints",
            )
        ]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_restricted(self) -> bool:
        return self.category in RESTRICTED_CATEGORIES

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def status_label(self) -> str:
        return Status(self.status).label

    @property
    def category_label(self) -> str:
        return Category(self.category).label


class MessageKind(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    AGENT = "agent", _("Customer Service")
    NOTE = "note", _("Internal note")


class MessageChannel(models.TextChoices):
    WEB = "web", _("Web")
    EMAIL = "email", _("Email")
    ADMIN = "admin", _("Admin")


class Message(models.Model):
    """One entry of a thread. Notes are internal: customers never see them."""

    inquiry = models.ForeignKey(Inquiry, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=10, choices=MessageKind.choices)
    channel = models.CharField(max_length=8, choices=MessageChannel.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    body = models.TextField(_("message"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")

    def __str__(self) -> str:
        return f"{self.inquiry_id}/{self.pk}"

    @property
    def is_public(self) -> bool:
        return self.kind != MessageKind.NOTE


class Attachment(models.Model):
    """A file (JPEG, PNG or PDF) a customer attached to a message, as it passed
    `privacy.intake` (images re-encoded, PDFs checked), kept only encrypted in the vault
    (`file`), with PNG previews for agents (`previews`). `original_name` is the customer's own
    name for it, for display only (downloads use `support.attachments.download_name`)."""

    SECRET_FIELDS = ("original_name",)

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    name = models.CharField(_("name"), max_length=40)
    original_name = models.CharField(_("file name"), max_length=100, blank=True)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField(_("size (bytes)"))
    pages = models.PositiveSmallIntegerField(_("pages"), default=1)
    file = models.OneToOneField(
        "privacy.VaultFile", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.name

    @property
    def is_pdf(self) -> bool:
        return self.content_type == "application/pdf"


class AttachmentPreview(models.Model):
    """A PNG an agent may look at: a rendered PDF page or the re-encoded image, encrypted in
    the vault like the attachment."""

    attachment = models.ForeignKey(Attachment, on_delete=models.CASCADE, related_name="previews")
    page = models.PositiveSmallIntegerField()
    file = models.OneToOneField(
        "privacy.VaultFile", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["attachment", "page"]
        constraints = [
            models.UniqueConstraint(
                fields=["attachment", "page"], name="one_attachment_preview_per_page"
            )
        ]

    def __str__(self) -> str:
        return f"Preview {self.pk}"


class InboundStatus(models.TextChoices):
    ADDED = "added", _("Added to the thread")
    HELD = "held", _("Held: sender is not the inquiry's customer")
    ACCEPTED = "accepted", _("Added by an agent")
    DISCARDED = "discarded", _("Discarded by an agent")


class InboundEmail(models.Model):
    """An email reply received through the provider's webhook. One row per provider event
    (its token is unique, so a replayed payload changes nothing)."""

    SECRET_FIELDS = ("provider_event_id",)

    provider_event_id = models.CharField(max_length=200, unique=True)
    email_message_id = models.CharField(max_length=255, blank=True, db_index=True)
    inquiry = models.ForeignKey(Inquiry, on_delete=models.CASCADE, related_name="inbound_emails")
    from_address = models.EmailField(_("from"))
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    body = models.TextField(_("text (quotes and signature removed)"))
    status = models.CharField(_("status"), max_length=10, choices=InboundStatus.choices)
    message = models.OneToOneField(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="inbound"
    )
    received_at = models.DateTimeField(_("received"), default=timezone.now)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("inbound email")
        verbose_name_plural = _("inbound emails")

    def __str__(self) -> str:
        return f"{self.inquiry_id}: {self.get_status_display()}"


class Macro(models.Model):
    """A canned reply: fills the reply box and can set the status in the same click."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    body = models.TextField(_("reply (English)"))
    body_ms = models.TextField(_("reply (Malay)"), blank=True)
    sets_status = models.CharField(
        _("then set status to"), max_length=10, choices=Status.choices, blank=True
    )
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")

    def __str__(self) -> str:
        return self.name

    def body_in(self, language: str) -> str:
        return (language == "ms" and self.body_ms) or self.body


class Notification(models.Model):
    """One email about an inquiry, sent once: the outbox handler claims this row first, so a
    handler run twice sends nothing the second time."""

    key = models.CharField(max_length=80, unique=True)
    inquiry = models.ForeignKey(Inquiry, on_delete=models.CASCADE, related_name="notifications")
    sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.key
