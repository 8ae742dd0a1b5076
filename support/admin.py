"""Customer service in admin: the agents' queue, the inquiry page (thread, customer, orders,
reply with canned replies, notes, assignment, status), canned replies, the FAQ and held email.

Privacy requests and complaints are listed (their existence is not secret) but only staff with
`support.handle_restricted_inquiry` (the data protection officer, superusers) see their subject
or open them. Opening an inquiry writes the access log."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, Exists, F, OuterRef, Q, Value, When
from django.db.models.deletion import ProtectedError
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince
from django.utils.translation import gettext_lazy as _

from ipmart.core.admin_mixins import NoDeleteMixin, ReadOnlyAdminMixin, StaffTrailHistoryMixin
from ipmart.core.http import client_ip
from orders.models import LicenceKey, LicenceKeyStatus, Order
from privacy.admin_mixins import LogsPersonalDataViewsMixin
from privacy.models import AccessAction
from privacy.services import log_access
from privacy.vault import VaultError

from . import services
from .models import (
    FINISHED_STATUSES,
    RESTRICTED_CATEGORIES,
    AttachmentPreview,
    FaqEntry,
    FaqTopic,
    InboundEmail,
    InboundStatus,
    Inquiry,
    Macro,
    Status,
)
from .selectors import attachments_with_previews

RESTRICTED_PERMISSION = "support.handle_restricted_inquiry"
# A preview is a PNG the store rendered; even so it opens in a sandbox with nothing else.
PREVIEW_CSP = "default-src 'none'; img-src 'self'; sandbox"
ORDERS_SHOWN = 20


def may_read_restricted(user) -> bool:
    return user.has_perm(RESTRICTED_PERMISSION)


def handlers_of(inquiry: Inquiry):
    """Staff who may be given this inquiry."""
    permission = "handle_restricted_inquiry" if inquiry.is_restricted else "change_inquiry"
    has_it = Q(groups__permissions__codename=permission) | Q(user_permissions__codename=permission)
    return (
        get_user_model()
        .objects.filter(is_staff=True, is_active=True)
        .filter(Q(is_superuser=True) | has_it)
        .distinct()
        .order_by("full_name", "email")
    )


class OverdueFilter(admin.SimpleListFilter):
    """Active inquiries past their next target (the admin home's "Inquiries overdue")."""

    title = _("due")
    parameter_name = "due"

    def lookups(self, request, model_admin):
        return [("overdue", _("Overdue"))]

    def queryset(self, request, queryset):
        if self.value() == "overdue":
            return queryset.filter(overdue=1)
        return queryset


class AgeFilter(admin.SimpleListFilter):
    title = _("age")
    parameter_name = "age"

    def lookups(self, request, model_admin):
        return [
            ("1", _("Under a day")),
            ("3", _("1 to 3 days")),
            ("7", _("3 to 7 days")),
            ("old", _("Over 7 days")),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        day = timezone.timedelta(days=1)
        ranges = {"1": (0, 1), "3": (1, 3), "7": (3, 7)}
        if self.value() in ranges:
            low, high = ranges[self.value()]
            return queryset.filter(created_at__lte=now - low * day, created_at__gt=now - high * day)
        if self.value() == "old":
            return queryset.filter(created_at__lte=now - 7 * day)
        return queryset


class InquiryAdminForm(forms.ModelForm):
    """What an agent does on the inquiry page; saved through services, not by the form."""

    macro = forms.ModelChoiceField(
        label=_("Canned reply"),
        queryset=Macro.objects.all(),
        required=False,
        help_text=_("Fills the reply below (edit it if needed) and sets the status it names."),
    )
    reply = forms.CharField(
        label=_("Reply to the customer"),
        required=False,
        max_length=services.MAX_MESSAGE_CHARS,
        widget=forms.Textarea(attrs={"rows": 8, "class": "vLargeTextField"}),
        help_text=_("Emailed to the customer in their language; they can answer by email."),
    )
    new_status = forms.ChoiceField(label=_("Status"), choices=Status.choices)
    # The status the page showed: if the customer answered meanwhile (reopening it), an agent
    # who did not touch the status does not move it back.
    shown_status = forms.CharField(widget=forms.HiddenInput, required=False)
    new_assignee = forms.ModelChoiceField(
        label=_("Assignee"), queryset=get_user_model().objects.none(), required=False
    )
    note = forms.CharField(
        label=_("Internal note"),
        required=False,
        max_length=services.MAX_MESSAGE_CHARS,
        widget=forms.Textarea(attrs={"rows": 3, "class": "vLargeTextField"}),
        help_text=_("Only staff see notes; the customer never does."),
    )

    class Meta:
        model = Inquiry
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        inquiry = self.instance
        self.fields["new_status"].initial = inquiry.status
        self.fields["shown_status"].initial = inquiry.status
        self.fields["new_assignee"].queryset = handlers_of(inquiry)
        self.fields["new_assignee"].initial = inquiry.assignee_id

    def clean(self):
        cleaned = super().clean()
        macro = cleaned.get("macro")
        if macro is not None and not cleaned.get("reply", "").strip():
            cleaned["reply"] = macro.body_in(self.instance.language)
        return cleaned


@admin.register(Inquiry)
class InquiryAdmin(LogsPersonalDataViewsMixin, NoDeleteMixin, admin.ModelAdmin):
    form = InquiryAdminForm
    list_display = [
        "reference",
        "subject_shown",
        "status",
        "due",
        "category",
        "assignee",
        "age",
    ]
    list_filter = [
        "status",
        "category",
        ("assignee", admin.RelatedOnlyFieldListFilter),
        AgeFilter,
        OverdueFilter,
    ]
    list_select_related = ["assignee"]
    search_fields = ["reference", "email"]
    list_per_page = 50
    fieldsets = [
        (_("Answer"), {"fields": ["macro", "reply", "new_status", "shown_status"]}),
        (_("Handling"), {"fields": ["new_assignee", "note"]}),
    ]
    change_form_template = "admin/support/inquiry/change_form.html"
    change_list_template = "admin/support/inquiry/change_list.html"

    # --- queue
    def get_queryset(self, request):
        # ModelAdmin.get_queryset orders before we annotate: annotate first, then order.
        queryset = Inquiry.objects.with_due()
        if may_read_restricted(request.user):
            queryset = queryset.annotate(shown_subject=F("subject"))
        else:
            queryset = queryset.annotate(
                shown_subject=Case(
                    When(category__in=RESTRICTED_CATEGORIES, then=Value("")),
                    default=F("subject"),
                )
            )
        return queryset.order_by(*self.get_ordering(request))

    def get_ordering(self, request):
        # Open work first, overdue at the top, then by the next due time.
        return ["status_rank", "-overdue", "due_at", "id"]

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if search_term and not may_read_restricted(request.user):
            # Only an exact reference finds a restricted inquiry: an email address must not.
            queryset = queryset.exclude(
                Q(category__in=RESTRICTED_CATEGORIES) & ~Q(reference__iexact=search_term.strip())
            )
        return queryset, may_have_duplicates

    @admin.display(description=_("subject"))
    def subject_shown(self, obj):
        if obj.is_restricted and not obj.shown_subject:
            return format_html(
                '<span class="support-restricted">{}</span>', _("(data protection officer only)")
            )
        return obj.shown_subject

    @admin.display(description=_("age"), ordering="created_at")
    def age(self, obj):
        return timesince(obj.created_at, depth=1)

    @admin.display(description=_("due"), ordering="due_at")
    def due(self, obj):
        if obj.status in FINISHED_STATUSES:
            return "—"
        if obj.status == Status.WAITING:
            return _("waiting on customer")
        when = timezone.localtime(obj.due_at).strftime("%d %b %H:%M")
        if obj.overdue:
            return format_html('<strong class="support-overdue">{} {}</strong>', _("OVERDUE"), when)
        return when

    # --- who may do what
    def has_add_permission(self, request):
        return False  # inquiries come from customers

    def has_view_permission(self, request, obj=None):
        allowed = super().has_view_permission(request, obj)
        return allowed and (obj is None or services.can_handle(request.user, obj))

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or services.can_handle(request.user, obj))

    # --- the inquiry page
    def get_urls(self):
        return [
            path(
                "<int:inquiry_id>/attachment/<int:attachment_id>/<int:page>/",
                self.admin_site.admin_view(self.attachment_view),
                name="support_inquiry_attachment",
            ),
            *super().get_urls(),
        ]

    def attachment_view(self, request, inquiry_id: int, attachment_id: int, page: int):
        """A page of an attachment as the PNG preview the intake rendered (an agent's browser
        never opens a customer's PDF), to staff who may open the inquiry. Every opening and
        every refusal is written to the access log; the PNG is served no-store, nosniff, in a
        sandbox."""
        inquiry = get_object_or_404(Inquiry, pk=inquiry_id)
        if not self.has_view_permission(request, inquiry):
            log_access(
                request.user,
                action=AccessAction.DENIED,
                target=inquiry,
                subject=inquiry.user,
                ip_address=client_ip(request),
                detail=f"admin inquiry {inquiry.reference} attachment {attachment_id}: refused",
            )
            raise PermissionDenied
        preview = get_object_or_404(
            AttachmentPreview.objects.select_related("file", "attachment__message__inquiry"),
            attachment_id=attachment_id,
            attachment__message__inquiry=inquiry,
            page=page,
        )
        try:
            content = services.open_attachment_preview(
                preview, acting_user=request.user, ip_address=client_ip(request)
            )
        except ValidationError as error:
            raise Http404("; ".join(error.messages)) from error
        except VaultError:
            return HttpResponse(
                _("This file cannot be decrypted (missing or wrong key)."),
                status=503,
                content_type="text/plain; charset=utf-8",
            )
        response = HttpResponse(content, content_type="image/png")
        response["Content-Disposition"] = (
            f'inline; filename="{inquiry.reference}-{attachment_id}-page-{page}.png"'
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "no-store"
        response["Content-Security-Policy"] = PREVIEW_CSP
        response["Cross-Origin-Resource-Policy"] = "same-origin"
        return response

    def access_subject(self, obj):
        return obj.user

    def access_subject_ids(self, obj) -> list[int]:  # no query per listed row
        return [obj.user_id] if obj.user_id else []

    def access_detail(self, obj) -> str:
        return f"admin inquiry {obj.reference}"

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context.update(self._page_context(obj))
            context["title"] = _("Inquiry %(reference)s") % {"reference": obj.reference}
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _page_context(self, inquiry: Inquiry) -> dict:
        orders = []
        order_count = 0
        if inquiry.user_id:
            issued = LicenceKey.objects.filter(
                order_line__order=OuterRef("pk"), status=LicenceKeyStatus.ISSUED
            )
            customer_orders = Order.objects.filter(user_id=inquiry.user_id)
            orders = list(
                customer_orders.annotate(keys_issued=Exists(issued)).order_by("-placed_at", "-id")[
                    :ORDERS_SHOWN
                ]
            )
            order_count = len(orders)
        macros = list(Macro.objects.all())
        for macro in macros:
            macro.body_in_language = macro.body_in(inquiry.language)
        return {
            "inquiry": inquiry,
            "thread": list(
                inquiry.messages.select_related("author").prefetch_related(
                    attachments_with_previews()
                )
            ),
            "held_emails": list(inquiry.inbound_emails.filter(status=InboundStatus.HELD)),
            "customer": inquiry.user,
            "customer_orders": orders,
            "customer_order_count": order_count,
            "orders_shown": ORDERS_SHOWN,
            "macros": macros,
        }

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        inquiry = Inquiry.objects.get(pk=obj.pk)
        try:
            if data.get("new_assignee") != inquiry.assignee:
                services.assign_inquiry(
                    inquiry, assignee=data.get("new_assignee"), acting_user=request.user
                )
            if data.get("note", "").strip():
                services.add_internal_note(inquiry, body=data["note"], acting_user=request.user)
            reply = data.get("reply", "").strip()
            macro = data.get("macro")
            status = data.get("new_status") or inquiry.status
            if status == data.get("shown_status"):
                status = inquiry.status  # not touched on the page
            if reply:
                if macro is not None and macro.sets_status:
                    status = macro.sets_status
                elif status == inquiry.status:
                    status = Status.WAITING
                services.reply_as_agent(
                    inquiry, body=reply, acting_user=request.user, status=status
                )
            elif status != inquiry.status:
                services.change_inquiry_status(inquiry, status=status, acting_user=request.user)
        except ValidationError as error:
            messages.error(request, "; ".join(error.messages))

    def save_related(self, request, form, formsets, change):
        pass  # nothing but the services' changes

    def response_change(self, request, obj):
        self.message_user(request, _("Saved."), messages.SUCCESS)
        return HttpResponseRedirect(request.path)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    actions = ["assign_to_me", "resolve_selected", "reopen_selected"]

    @admin.action(description=_("Assign to me"), permissions=["change"])
    def assign_to_me(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda inquiry: services.assign_inquiry(
                inquiry, assignee=request.user, acting_user=request.user
            ),
        )

    @admin.action(description=_("Resolve (emails the rating link)"), permissions=["change"])
    def resolve_selected(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda inquiry: services.resolve_inquiry(inquiry, acting_user=request.user),
        )

    @admin.action(description=_("Reopen"), permissions=["change"])
    def reopen_selected(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda inquiry: services.reopen_inquiry(inquiry, acting_user=request.user),
        )

    def _each(self, request, queryset, act) -> None:
        """Run `act` on each selected inquiry the user may handle; say how many were skipped."""
        done = skipped = 0
        for inquiry in queryset:
            try:
                act(inquiry)
                done += 1
            except (PermissionDenied, ValidationError):
                skipped += 1
        self.message_user(
            request,
            _("%(done)d inquiries changed, %(skipped)d skipped (not yours to handle).")
            % {"done": done, "skipped": skipped},
            messages.SUCCESS if not skipped else messages.WARNING,
        )


class AuditedContentAdmin(StaffTrailHistoryMixin, admin.ModelAdmin):
    """Saves and deletes go through support.services, which write the staff audit trail."""

    save_service = staticmethod(services.save_macro)

    def save_model(self, request, obj, form, change):
        self.save_service(obj, acting_user=request.user)

    def delete_model(self, request, obj):
        services.delete_support_content(obj, acting_user=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            try:
                services.delete_support_content(obj, acting_user=request.user)
            except ProtectedError:
                self.message_user(
                    request,
                    _("%(name)s still has entries and was not deleted.") % {"name": obj},
                    messages.WARNING,
                )


@admin.register(Macro)
class MacroAdmin(AuditedContentAdmin):
    list_display = ["name", "sets_status", "position"]
    list_editable = ["position"]
    search_fields = ["name"]
    save_service = staticmethod(services.save_macro)


class FaqEntryInline(admin.StackedInline):
    model = FaqEntry
    extra = 0
    fields = ["question", "answer", "question_ms", "answer_ms", "position", "is_published"]


@admin.register(FaqTopic)
class FaqTopicAdmin(AuditedContentAdmin):
    list_display = ["name", "name_ms", "position"]
    list_editable = ["position"]
    inlines = [FaqEntryInline]
    save_service = staticmethod(services.save_faq_topic)

    def save_formset(self, request, form, formset, change):
        """The topic's entries, saved and deleted through the audited services."""
        entries = formset.save(commit=False)
        for entry in formset.deleted_objects:
            services.delete_support_content(entry, acting_user=request.user)
        for entry in entries:
            services.save_faq_entry(entry, acting_user=request.user)


@admin.register(FaqEntry)
class FaqEntryAdmin(AuditedContentAdmin):
    list_display = ["question", "topic", "position", "is_published", "has_malay"]
    list_editable = ["position", "is_published"]
    list_filter = ["is_published", "topic"]
    list_select_related = ["topic"]
    search_fields = ["question", "answer", "question_ms", "answer_ms"]
    save_service = staticmethod(services.save_faq_entry)

    @admin.display(description=_("Malay"), boolean=True)
    def has_malay(self, obj):
        return bool(obj.question_ms and obj.answer_ms)


@admin.register(InboundEmail)
class InboundEmailAdmin(LogsPersonalDataViewsMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Email replies; the held ones (sender is not the inquiry's customer) wait for an agent."""

    list_display = ["inquiry", "from_address", "status", "received_at"]
    list_filter = ["status"]
    list_select_related = ["inquiry"]
    fields = ["inquiry", "from_address", "subject", "body", "status", "received_at"]
    actions = ["add_to_thread", "discard"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if not may_read_restricted(request.user):
            queryset = queryset.exclude(inquiry__category__in=RESTRICTED_CATEGORIES)
        return queryset

    def access_subject(self, obj):
        return obj.inquiry.user

    def access_subject_ids(self, obj) -> list[int]:  # the inquiry is selected with the row
        return [obj.inquiry.user_id] if obj.inquiry.user_id else []

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # the page is read-only; the actions below act

    def has_act_permission(self, request) -> bool:
        return request.user.has_perm("support.change_inboundemail")

    @admin.action(description=_("Add to the thread as the customer's reply"), permissions=["act"])
    def add_to_thread(self, request, queryset):
        self._each(request, queryset, services.accept_held_email)

    @admin.action(description=_("Discard (not the customer's)"), permissions=["act"])
    def discard(self, request, queryset):
        self._each(request, queryset, services.discard_held_email)

    def _each(self, request, queryset, action):
        done = 0
        for inbound in queryset.filter(status=InboundStatus.HELD).select_related("inquiry"):
            try:
                action(inbound, acting_user=request.user)
                done += 1
            except (ValidationError, PermissionDenied):
                continue
        self.message_user(request, _("%(n)d email(s) handled.") % {"n": done}, messages.SUCCESS)
