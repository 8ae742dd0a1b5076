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
