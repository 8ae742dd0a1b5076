"""The transactional outbox: side effects that must happen, written in the same transaction as
the state change that calls for them (see `ipmart.core.outbox`)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OutboxMessage(models.Model):
    """One side effect to run once the transaction that wrote it has committed. The row stays
    pending until its handler has returned; a handler must be safe to run twice (a unique row
    guards it), because a crash between the work and `done_at` runs it again."""

    handler = models.CharField(max_length=200, help_text="Dotted path of the function to run.")
    args = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # When the sweeper may hand the message to the broker (again): now at first, later after
    # each relay and each failure, with backoff.
    relay_after = models.DateTimeField(default=timezone.now)
    # A runner holds the message until then; a runner killed mid-work lets go when it passes.
    locked_until = models.DateTimeField(null=True, blank=True)
    relays = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    # The X-Request-ID of the request that enqueued it ("" outside a request): the handler's
    # log lines in the worker carry it (ipmart.core.request_id).
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [
            models.Index(
                fields=["relay_after"], condition=Q(done_at__isnull=True), name="outbox_pending"
            )
        ]

    def __str__(self) -> str:
        return f"{self.handler}{tuple(self.args)}"


class StaffChange(models.Model):
    """The audit trail of staff changes, append-only: who changed what, when, old → new.

    Written only by `ipmart.core.audit.record_staff_change`, which the services call with their
    `acting_user`; nothing updates or deletes a row (on PostgreSQL a trigger refuses it)."""

    at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("staff member"),
    )
    content_type = models.ForeignKey(
        "contenttypes.ContentType",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("kind of record"),
    )
    object_id = models.CharField(_("record id"), max_length=64)
    object_repr = models.CharField(_("record"), max_length=200)
    action = models.CharField(_("action"), max_length=40)
    # {"field": ["old", "new"], …}: values as the staff member saw them (ringgit, names).
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    detail = models.CharField(_("detail"), max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("staff change")
        verbose_name_plural = _("staff changes")
        indexes = [
            models.Index(fields=["content_type", "object_id", "-at"], name="staffchange_object"),
            models.Index(fields=["actor", "-at"], name="staffchange_actor"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_repr}"

    @property
    def action_label(self) -> str:
        return str(STAFF_ACTION_LABELS.get(self.action, self.action))


# How the services' action names read in admin (an unknown one is shown as it is).
STAFF_ACTION_LABELS = {
    "create": _("created"),
    "update": _("changed"),
    "ship": _("shipped"),
    "refund": _("refunded"),
    "accept payment": _("accepted the payment"),
    "import keys": _("imported keys"),
    "publish": _("published"),
}
