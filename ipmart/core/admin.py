"""Core records in admin, read-only: outbox messages (what is pending, what failed and why;
superusers and store managers through `core.view_outboxmessage`) and the audit trail of staff
changes (per record and per staff member)."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from .admin_mixins import ReadOnlyAdminMixin
from .models import OutboxMessage, StaffChange


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


class StaffMemberFilter(admin.SimpleListFilter):
    """Only staff are offered (a filter over every customer would list thousands)."""

    title = _("staff member")
    parameter_name = "actor__id__exact"

    def lookups(self, request, model_admin):
        staff = get_user_model().objects.filter(is_staff=True).order_by("email")
        return [(str(user.pk), user.email) for user in staff]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(actor_id=self.value())
        return queryset


@admin.register(StaffChange)
class StaffChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "actor", "action_text", "content_type", "object_repr", "changes_text"]
    list_filter = [StaffMemberFilter, "content_type", "action"]
    list_select_related = ["actor", "content_type"]
    search_fields = ["object_repr", "detail"]
    date_hierarchy = "at"
    fields = [
        "at",
        "actor",
        "action_text",
        "content_type",
        "object_id",
        "object_repr",
        "changes_text",
        "detail",
    ]
    readonly_fields = fields

    def lookup_allowed(self, lookup, value, request=None):
        # The per-record view: ?content_type__id__exact=…&object_id=…
        if lookup in {"object_id", "object_id__exact"}:
            return True
        return super().lookup_allowed(lookup, value, request)

    @admin.display(description=_("action"), ordering="action")
    def action_text(self, obj: StaffChange) -> str:
        return obj.action_label

    @admin.display(description=_("changes (old → new)"))
    def changes_text(self, obj: StaffChange):
        rows = format_html_join(
            "",
            '<li>{}: <span class="staff-diff-old">{}</span> → {}</li>',
            ((name, old, new) for name, (old, new) in sorted(obj.changes.items())),
        )
        detail = format_html("<li>{}</li>", obj.detail) if obj.detail else ""
        return format_html("<ul>{}{}</ul>", rows, detail)
