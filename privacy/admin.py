from django import forms
from django.contrib import admin, messages
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from ipmart.core.admin_mixins import (
    NoDeleteMixin,
    ReadOnlyAdminMixin,
    ReadOnlyTabularInline,
    StaffTrailHistoryMixin,
)
from ipmart.core.refused import require_permissions

from . import registry
from .admin_mixins import LogsPersonalDataViewsMixin
from .breach_notices import missing_notice_parts, notify_affected_people, render_notice
from .breach_notices import progress as notice_progress
from .models import (
    OPEN_REQUEST_STATUSES,
    AccessLog,
    Breach,
    BreachAffected,
    DataRequest,
    Disclosure,
    PolicyVersion,
)
from .rights import (
    DataRightsError,
    answer_data_request,
    extend_data_request,
    list_affected_customers,
    record_breach,
    update_breach,
)
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
    """The log names people by account number only, so reading it shows no one's name or
    email (and needs no log of its own). Filter one person with ?subject__id__exact=<id>."""

    list_display = [
        "at",
        "actor_id",
        "actor_role",
        "action",
        "target_type",
        "target_id",
        "subject_id",
    ]
    list_filter = ["action", "target_type"]
    search_fields = ["target_id", "detail"]
    date_hierarchy = "at"
    fields = [
        "at",
        "actor_id",
        "actor_role",
        "action",
        "target_type",
        "target_id",
        "subject_id",
        "ip_address",
        "detail",
    ]
    readonly_fields = fields


@admin.register(Disclosure)
class DisclosureAdmin(LogsPersonalDataViewsMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "subject", "recipient", "categories_shown", "purpose_shown", "reference"]
    list_filter = ["recipient"]
    list_select_related = ["subject"]
    search_fields = ["subject__email", "reference"]

    @admin.display(description=_("data disclosed"))
    def categories_shown(self, obj: Disclosure) -> str:
        return obj.data_categories

    @admin.display(description=_("purpose"))
    def purpose_shown(self, obj: Disclosure) -> str:
        return obj.purpose

    def access_subject(self, obj):
        return obj.subject

    def access_subject_ids(self, obj) -> list[int]:
        return [obj.subject_id]


class OpenClosedFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", _("Open")), ("closed", _("Closed")), ("all", _("All"))]

    def choices(self, changelist):
        value = self.value() or "open"
        for lookup, title in self.lookup_choices:
            yield {
                "selected": value == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value() or "open"
        if value == "open":
            return queryset.filter(status__in=OPEN_REQUEST_STATUSES)
        if value == "closed":
            return queryset.exclude(status__in=OPEN_REQUEST_STATUSES)
        return queryset


DUE_SOON_DAYS = 7


class DueSoonFilter(admin.SimpleListFilter):
    """Open requests due within a week or already late (the admin home's "due soon")."""

    title = _("due")
    parameter_name = "due"

    def lookups(self, request, model_admin):
        return [("soon", _("Due within %(n)d days") % {"n": DUE_SOON_DAYS})]

    def queryset(self, request, queryset):
        if self.value() == "soon":
            return due_soon(queryset)
        return queryset


def due_soon(queryset):
    limit = timezone.localdate() + timezone.timedelta(days=DUE_SOON_DAYS)
    return (
        queryset.filter(status__in=OPEN_REQUEST_STATUSES)
        .alias(due_by=Coalesce("extended_due_on", "due_on"))
        .filter(due_by__lte=limit)
    )


class DataRequestForm(forms.ModelForm):
    extend_with_reason = forms.CharField(
        label=_("Extend by 14 days, for this reason"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Once only (PDPA s. 32). The customer sees the new due date and the reason."),
    )

    class Meta:
        model = DataRequest
        fields = ["status", "resolution"]


@admin.register(DataRequest)
class DataRequestAdmin(
    LogsPersonalDataViewsMixin, StaffTrailHistoryMixin, NoDeleteMixin, admin.ModelAdmin
):
    """The data protection officer's queue: open requests, oldest due first. State and answer
    change through privacy.rights (answer_data_request, extend_data_request)."""

    form = DataRequestForm
    list_display = [
        "reference",
        "kind",
        "status",
        "customer",
        "received_at",
        "due",
        "channel",
    ]
    list_filter = [OpenClosedFilter, DueSoonFilter, "kind", "channel"]
    list_select_related = ["user"]
    search_fields = ["reference", "user__email"]
    readonly_fields = [
        "reference",
        "user",
        "kind",
        "channel",
        "details",
        "received_at",
        "due_on",
        "extended_due_on",
        "extension_reason",
        "handled_by",
        "closed_at",
    ]
    fields = [*readonly_fields[:8], "status", "resolution", "extend_with_reason", "handled_by"]

    def get_queryset(self, request):
        # Annotated before ordering (ModelAdmin.get_queryset orders by get_ordering).
        queryset = DataRequest.objects.with_effective_due()
        return queryset.order_by(*self.get_ordering(request))

    def get_ordering(self, request):
        return ["effective_due", "received_at", "id"]  # oldest due first

    @admin.display(description=_("customer"))
    def customer(self, obj):
        return obj.user.email

    @admin.display(description=_("due"), ordering="effective_due")
    def due(self, obj):
        due = obj.effective_due_on
        late = obj.is_open and due < timezone.localdate()
        label = format_html(
            "{}{}", due.isoformat(), _(" (extended)") if obj.extended_due_on else ""
        )
        return format_html("<strong>{} {}</strong>", label, _("OVERDUE")) if late else label

    def has_add_permission(self, request) -> bool:
        return False  # requests arrive through privacy.services.open_data_request

    def access_subject(self, obj):
        return obj.user

    def access_subject_ids(self, obj) -> list[int]:
        return [obj.user_id]

    def save_model(self, request, obj, form, change):
        reason = form.cleaned_data.get("extend_with_reason", "")
        try:
            if reason.strip():
                extend_data_request(obj, reason=reason, acting_user=request.user)
            answer_data_request(
                obj,
                status=form.cleaned_data["status"],
                resolution=form.cleaned_data["resolution"],
                acting_user=request.user,
            )
        except DataRightsError as error:
            self.message_user(request, str(error), messages.ERROR)


# Sending the breach notice is the register keeper's act: the data protection officer's.
NOTIFY_PERMISSION = "privacy.change_breach"
NOTICE_LANGUAGES = [("en", _("English")), ("ms", _("Bahasa Malaysia"))]


class BreachAffectedInline(ReadOnlyTabularInline):
    model = BreachAffected
    fields = ["user", "notified_at"]
    readonly_fields = fields


def declared_model_choices():
    return [
        (declaration.model_label, f"{declaration.model_label} — {declaration.category}")
        for declaration in registry.declarations()
    ]


class BreachForm(forms.ModelForm):
    affected_models = forms.MultipleChoiceField(
        label=_("Records affected"),
        required=False,
        choices=declared_model_choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("From the personal-data registry; used to list the affected customers."),
    )

    class Meta:
        model = Breach
        fields = [
            "summary",
            "description",
            "data_categories",
            "occurred_at",
            "discovered_at",
            "people_affected",
            "commissioner_notified_at",
            "people_notified_at",
            "measures",
            "affected_models",
            *Breach.NOTICE_FIELDS,
        ]


@admin.register(Breach)
class BreachAdmin(
    LogsPersonalDataViewsMixin, StaffTrailHistoryMixin, NoDeleteMixin, admin.ModelAdmin
):
    """The breach register: the Commissioner's 72-hour deadline from discovery is shown, and
    the affected customers are listed from the registry (action)."""

    form = BreachForm
    list_display = [
        "reference",
        "summary",
        "discovered_at",
        "commissioner_deadline_shown",
        "commissioner_notified_at",
        "people_affected",
    ]
    readonly_fields = [
        "reference",
        "commissioner_deadline_shown",
        "people_deadline_shown",
        "notification_sent_at",
    ]
    inlines = [BreachAffectedInline]
    actions = ["list_affected"]
    change_form_template = "admin/privacy/breach/change_form.html"

    def get_fields(self, request, obj=None):
        fields = list(BreachForm.Meta.fields)
        return ["reference", *fields[:5], "commissioner_deadline_shown", *fields[5:]] + [
            "people_deadline_shown",
            "notification_sent_at",
        ]

    def get_urls(self):
        return [
            path(
                "<int:breach_id>/notify/",
                self.admin_site.admin_view(self.notify_view),
                name="privacy_breach_notify",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_notify": request.user.has_perm(NOTIFY_PERMISSION),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def notify_view(self, request, breach_id: int):
        """The officer's page for telling the affected people: the notice as each language's
        recipients will read it, how many will get it, one button that sends it once through the
        outbox, then the progress (the page refreshes itself while emails are going)."""
        require_permissions(request.user, NOTIFY_PERMISSION)
        breach = get_object_or_404(Breach, pk=breach_id)
        if request.method == "POST":
            try:
                queued = notify_affected_people(breach, acting_user=request.user)
            except DataRightsError as error:
                messages.error(request, str(error))
            else:
                messages.success(
                    request,
                    _("%(n)d notices are being sent through the outbox.") % {"n": queued},
                )
            return redirect("admin:privacy_breach_notify", breach.pk)
        state = notice_progress(breach)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": breach,
            "breach": breach,
            "title": _("Notify the people affected by %(ref)s") % {"ref": breach.reference},
            "previews": [(label, render_notice(breach, code)) for code, label in NOTICE_LANGUAGES],
            "progress": state,
            "missing": missing_notice_parts(breach),
            "sending": breach.notification_sent_at is not None and state.waiting > 0,
        }
        return render(request, "admin/privacy/breach_notify.html", context)

    @admin.display(description=_("notify the Commissioner by"))
    def commissioner_deadline_shown(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        deadline = timezone.localtime(obj.commissioner_deadline)
        if obj.commissioner_notified_at:
            return format_html("{} ({})", f"{deadline:%Y-%m-%d %H:%M}", _("notified"))
        left = obj.commissioner_deadline - timezone.now()
        hours = int(left.total_seconds() // 3600)
        if hours < 0:
            return format_html("<strong>{} {}</strong>", f"{deadline:%Y-%m-%d %H:%M}", _("OVERDUE"))
        return format_html("{} ({} h {})", f"{deadline:%Y-%m-%d %H:%M}", hours, _("left"))

    @admin.display(description=_("notify affected people by"))
    def people_deadline_shown(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        return f"{timezone.localtime(obj.people_deadline):%Y-%m-%d %H:%M}"

    def access_subject(self, obj):
        return None

    def access_subject_ids(self, obj) -> list[int]:
        return list(obj.affected.values_list("user_id", flat=True))

    def changelist_view(self, request, extra_context=None):
        # The list shows no person; only an object's page lists the affected customers.
        return super(LogsPersonalDataViewsMixin, self).changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data.get(name) for name in BreachForm.Meta.fields}
        if change:
            update_breach(obj, data=data, acting_user=request.user)
        else:
            created = record_breach(acting_user=request.user, **data)
            obj.pk, obj.reference = created.pk, created.reference

    @admin.action(
        description=_("List the affected customers from the registry"), permissions=["change"]
    )
    def list_affected(self, request, queryset):
        for breach in queryset:
            added = list_affected_customers(breach)
            self.message_user(
                request,
                _("%(ref)s: %(n)d customers added.") % {"ref": breach.reference, "n": added},
                messages.SUCCESS,
            )
