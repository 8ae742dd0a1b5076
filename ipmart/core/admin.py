"""Outbox messages in admin, read-only: what is pending, what failed and why (superusers and
store managers, through `core.view_outboxmessage`)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .admin_mixins import ReadOnlyAdminMixin
from .models import OutboxMessage


class OutboxStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("pending", _("pending")), ("failing", _("failing")), ("done", _("done"))]

    def queryset(self, request, queryset):
        if self.value() == "pending":
            return queryset.filter(done_at__isnull=True)
        if self.value() == "failing":
            return queryset.filter(done_at__isnull=True).exclude(last_error="")
        if self.value() == "done":
            return queryset.filter(done_at__isnull=False)
        return queryset


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "handler",
        "args",
        "created_at",
        "relays",
        "attempts",
        "done_at",
        "last_error",
    ]
    list_filter = [OutboxStateFilter, "handler"]
    search_fields = ["handler"]
    date_hierarchy = "created_at"
    ordering = ["-id"]
