"""Admin building blocks shared by the apps' admin modules."""

from django.contrib import admin


class NoDeleteMixin:
    """Records that must not be deleted from admin (orders, policies, logs): no delete button
    and no bulk "delete selected" action."""

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


class ReadOnlyTabularInline(admin.TabularInline):
    """Rows shown beside their parent and changed only through services, never here."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyStackedInline(ReadOnlyTabularInline, admin.StackedInline):
    template = admin.StackedInline.template


class ReadOnlyAdminMixin:
    """Records written only by services (logs, registers): admin shows them, nothing more."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class StaffTrailHistoryMixin:
    """The "History" button shows what happened to the record: its staff changes from the audit
    trail (old → new), plus any events the admin adds with `history_events(obj)` (an order's
    own history). Replaces Django's LogEntry list, which knew nothing of changes made through
    services."""

    history_limit = 200

    def history_events(self, obj) -> list:
        """Rows of (when, what, who, message) shown above the staff changes."""
        return []

    def history_view(self, request, object_id, extra_context=None):
        from django.contrib.admin.utils import unquote
        from django.core.exceptions import PermissionDenied
        from django.template.response import TemplateResponse
        from django.urls import reverse
        from django.utils.translation import gettext as _

        from .audit import changes_for

        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.model._meta, object_id)
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        opts = self.model._meta
        trail_url = ""
        if request.user.has_perm("core.view_staffchange"):
            trail_url = (
                reverse("admin:core_staffchange_changelist")
                + f"?content_type__id__exact={self._content_type_id(obj)}&object_id={obj.pk}"
            )
        context = {
            **self.admin_site.each_context(request),
            "title": _("History: %(object)s") % {"object": obj},
            "subtitle": None,
            "object": obj,
            "opts": opts,
            "app_label": opts.app_label,
            "events": self.history_events(obj),
            "changes": list(changes_for(obj)[: self.history_limit]),
            "trail_url": trail_url,
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/staff_history.html", context)

    @staticmethod
    def _content_type_id(obj) -> int:
        from django.contrib.contenttypes.models import ContentType

        return ContentType.objects.get_for_model(obj, for_concrete_model=False).pk
