from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from ipmart.core.admin_mixins import NoDeleteMixin, ReadOnlyAdminMixin, StaffTrailHistoryMixin

from .models import AccessLog, Disclosure, PolicyVersion
from .services import PolicyError, publish_policy, save_policy_draft


@admin.register(PolicyVersion)
class PolicyVersionAdmin(StaffTrailHistoryMixin, NoDeleteMixin, admin.ModelAdmin):
    list_display = ["version", "effective_date", "published_at", "short_hash"]
    list_filter = ["published_at"]
    search_fields = ["version"]
    readonly_fields = ["content_hash", "published_at", "created_at"]
    actions = ["publish"]

    @admin.display(description=_("hash"))
    def short_hash(self, obj: PolicyVersion) -> str:
        return obj.content_hash[:12]

    def save_model(self, request, obj, form, change):
        save_policy_draft(obj, acting_user=request.user)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.is_published:
            return [field.name for field in obj._meta.fields]
        return super().get_readonly_fields(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.is_published:
            return False  # published text never changes: the page is view-only
        return super().has_change_permission(request, obj)

    @admin.action(description=_("Publish the selected drafts"), permissions=["change"])
    def publish(self, request, queryset):
        for policy in queryset:
            try:
                publish_policy(policy, acting_user=request.user)
            except PolicyError as error:
                self.message_user(request, f"{policy.version}: {error}", messages.ERROR)
            else:
                self.message_user(request, f"{policy.version} published.", messages.SUCCESS)


@admin.register(AccessLog)
class AccessLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "actor", "actor_role", "action", "target_type", "target_id", "subject"]
    list_filter = ["action", "target_type"]
    list_select_related = ["actor", "subject"]
    search_fields = ["actor__email", "subject__email", "target_id"]
    date_hierarchy = "at"


@admin.register(Disclosure)
class DisclosureAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "subject", "recipient", "data_categories", "purpose", "reference"]
    list_filter = ["recipient"]
    list_select_related = ["subject"]
    search_fields = ["subject__email", "reference"]
