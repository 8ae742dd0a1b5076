from allauth.account.admin import EmailAddressAdmin
from allauth.account.models import EmailAddress
from allauth.mfa.admin import AuthenticatorAdmin
from allauth.mfa.models import Authenticator
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.utils.translation import gettext_lazy as _

from ipmart.core.admin_mixins import ReadOnlyStackedInline
from privacy.admin_mixins import LogsPersonalDataViewsMixin

from .models import Address, User


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
class UserAdmin(LogsPersonalDataViewsMixin, DjangoUserAdmin):
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
