"""The transactional outbox: side effects that must happen, written in the same transaction as
the state change that calls for them (see `ipmart.core.outbox`)."""

from django.db import models
from django.db.models import Q
from django.utils import timezone


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

    class Meta:
        ordering = ["pk"]
        indexes = [
            models.Index(
                fields=["relay_after"], condition=Q(done_at__isnull=True), name="outbox_pending"
            )
        ]

    def __str__(self) -> str:
        return f"{self.handler}{tuple(self.args)}"
