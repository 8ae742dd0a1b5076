from allauth.account.admin import EmailAddressAdmin
from allauth.account.models import EmailAddress
from allauth.mfa.admin import AuthenticatorAdmin
from allauth.mfa.models import Authenticator
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.utils.translation import gettext_lazy as _

from ipmart.core.admin_mixins import ReadOnlyStackedInline, StaffTrailHistoryMixin
from privacy.admin_mixins import LogsPersonalDataViewsMixin

from .models import Address, User
from .services import STAFF_EDITABLE_FIELDS, create_account_by_staff, update_account_by_staff


class AddressInline(ReadOnlyStackedInline):
    """Read-only: customers keep their own address book (through accounts.services, which
    keeps one default of each kind); staff only look."""

    model = Address
    fields = [*Address.ENTRY_FIELDS, *Address.DEFAULT_FIELDS]
    readonly_fields = fields


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "full_name")


class UserChange(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(LogsPersonalDataViewsMixin, StaffTrailHistoryMixin, DjangoUserAdmin):
    """Customers and staff. Roles without change permission see it read-only; opening a person's
    page is a view of their personal data and is written to the access log."""

    form = UserChange
    add_form = UserCreationForm
    inlines = [AddressInline]
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active", "date_joined"]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]
    search_fields = ["email", "full_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Personal details"), {"fields": ["full_name", "phone", "preferred_language"]}),
        (
            _("Permissions"),
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        (_("Dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["email", "full_name", "usable_password", "password1", "password2"],
            },
        )
    ]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or self.has_change_permission(request, obj):
            return fieldsets
        # View-only roles: the password block only links to a form they cannot open.
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f != "password"]})
            for name, options in fieldsets
        ]

    def save_model(self, request, obj, form, change):
        # Through the services: audited, and the email through allauth's records.
        if not change:
            create_account_by_staff(obj, acting_user=request.user, request=request)
            return
        data = {
            name: form.cleaned_data[name]
            for name in [*STAFF_EDITABLE_FIELDS, "email", "groups", "user_permissions"]
            if name in form.cleaned_data
        }
        update_account_by_staff(obj, data=data, acting_user=request.user, request=request)

    def save_related(self, request, form, formsets, change):
        if not change:
            super().save_related(request, form, formsets, change)
            return
        # Groups and permissions were set by the service (form.save_m2m would set them again
        # outside the audit); the address inline is read-only.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def access_subject(self, obj):
        return obj

    def access_subject_ids(self, obj) -> list[int]:
        return [obj.pk]

    def access_detail(self, obj) -> str:
        return "admin user page"


# allauth's own admins show people's email addresses: the same pages, with the access log.
# (Importing allauth's modules first registers them; autodiscovery later finds them imported.)
admin.site.unregister(EmailAddress)
admin.site.unregister(Authenticator)


@admin.register(EmailAddress)
class LoggedEmailAddressAdmin(LogsPersonalDataViewsMixin, EmailAddressAdmin):
    list_select_related = ["user"]

    def access_subject(self, obj):
        return obj.user

    def access_subject_ids(self, obj) -> list[int]:
        return [obj.user_id]


@admin.register(Authenticator)
class LoggedAuthenticatorAdmin(LogsPersonalDataViewsMixin, AuthenticatorAdmin):
    list_select_related = ["user"]

    def access_subject(self, obj):
        return obj.user

    def access_subject_ids(self, obj) -> list[int]:
        return [obj.user_id]
