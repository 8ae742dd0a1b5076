"""Marketing in admin (marketing manager role): topics with versioned wording, campaigns
(compose, preview as a recipient, test send, schedule or send now, cancel, live progress), and
the consent ledger and suppression list read-only."""

import datetime

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ipmart.core.admin_mixins import NoDeleteMixin, ReadOnlyAdminMixin, StaffTrailHistoryMixin
from privacy.admin_mixins import LogsPersonalDataViewsMixin

from . import services
from .models import (
    Campaign,
    CampaignStatus,
    ConsentRecord,
    Delivery,
    DeliveryStatus,
    Suppression,
    Topic,
    TopicVersion,
)
from .rendering import CampaignRenderer


class TopicForm(forms.ModelForm):
    name_en = forms.CharField(label=_("name in English"), max_length=120)
    name_ms = forms.CharField(label=_("name in Bahasa Malaysia"), max_length=120)
    consent_text_en = forms.CharField(label=_("consent text in English"), widget=forms.Textarea)
    consent_text_ms = forms.CharField(
        label=_("consent text in Bahasa Malaysia"), widget=forms.Textarea
    )

    class Meta:
        model = Topic
        fields = ["code", "position", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        version = self.instance.current_version if self.instance.pk else None
        if version:
            for name in ("name_en", "name_ms", "consent_text_en", "consent_text_ms"):
                self.fields[name].initial = getattr(version, name)
            self.fields["code"].disabled = True


class TopicVersionInline(admin.TabularInline):
    model = TopicVersion
    fields = ["number", "name_en", "name_ms", "content_hash", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Topic)
class TopicAdmin(StaffTrailHistoryMixin, NoDeleteMixin, admin.ModelAdmin):
    form = TopicForm
    list_display = ["code", "name", "is_active", "position", "current_version"]
    list_select_related = ["current_version"]
    inlines = [TopicVersionInline]

    @admin.display(description=_("name"))
    def name(self, obj):
        return obj.name_for("en")

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        saved = services.save_topic(
            obj if change else None,
            code=data["code"] if not change else obj.code,
            position=data["position"],
            is_active=data["is_active"],
            name_en=data["name_en"],
            name_ms=data["name_ms"],
            consent_text_en=data["consent_text_en"],
            consent_text_ms=data["consent_text_ms"],
            acting_user=request.user,
        )
        obj.pk, obj.current_version = saved.pk, saved.current_version


class CampaignForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = [
            "name",
            "topic",
            "subject_en",
            "subject_ms",
            "body_text_en",
            "body_text_ms",
            "body_html_en",
            "body_html_ms",
        ]
        help_texts = {
            "body_text_en": _(
                "Must contain {{ unsubscribe_url }} and {{ preferences_url }}; {{ name }} is the recipient's first name."
            ),
        }


@admin.register(Campaign)
class CampaignAdmin(StaffTrailHistoryMixin, NoDeleteMixin, admin.ModelAdmin):
    form = CampaignForm
    list_display = ["name", "topic", "status", "scheduled_at", "started_at", "finished_at"]
    list_filter = ["status", "topic"]
    change_form_template = "admin/marketing/campaign/change_form.html"

    def get_readonly_fields(self, request, obj=None):
        base = ["status", "scheduled_at", "started_at", "finished_at", "cancelled_at"]
        if obj is not None and obj.status != CampaignStatus.DRAFT:
            return [*CampaignForm.Meta.fields, *base]
        return base

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/preview/", view(self.preview_view), name="marketing_campaign_preview"),
            path("<int:pk>/send-test/", view(self.send_test_view), name="marketing_campaign_test"),
            path(
                "<int:pk>/schedule/", view(self.schedule_view), name="marketing_campaign_schedule"
            ),
            path("<int:pk>/cancel/", view(self.cancel_view), name="marketing_campaign_cancel"),
            path(
                "<int:pk>/progress/", view(self.progress_view), name="marketing_campaign_progress"
            ),
            *super().get_urls(),
        ]

    def _campaign(self, request, pk, *, change: bool) -> Campaign:
        campaign = get_object_or_404(Campaign.objects.select_related("topic"), pk=pk)
        allowed = (
            self.has_change_permission(request, campaign)
            if change
            else self.has_view_permission(request, campaign)
        )
        if not allowed:
            raise PermissionDenied
        return campaign

    def preview_view(self, request, pk):
        """The campaign as one recipient would get it (?email=…, default: yourself; ?lang=ms)."""
        campaign = self._campaign(request, pk, change=False)
        User = get_user_model()
        recipient = User.objects.filter(email__iexact=request.GET.get("email", "")).first()
        recipient = recipient or request.user
        language = request.GET.get("lang") or getattr(recipient, "preferred_language", "en")
        message = CampaignRenderer(campaign).message(
            services.subscriber_for(recipient),
            to_email=recipient.email,
            name=recipient.get_short_name(),
            language=language,
        )
        return TemplateResponse(
            request,
            "admin/marketing/campaign/preview.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Preview"),
                "campaign": campaign,
                "message": message,
                "html": message.alternatives[0][0],
                "recipient": recipient,
                "language": language,
            },
        )

    def send_test_view(self, request, pk):
        campaign = self._campaign(request, pk, change=False)
        if request.method != "POST":
            return HttpResponse(status=405)
        message = CampaignRenderer(campaign).message(
            services.subscriber_for(request.user),
            to_email=request.user.email,
            name=request.user.get_short_name(),
            language=getattr(request.user, "preferred_language", "en"),
        )
        message.subject = "[TEST] " + message.subject
        message.send()
        messages.success(
            request, _("A test was sent to %(email)s.") % {"email": request.user.email}
        )
        return redirect(reverse("admin:marketing_campaign_change", args=[campaign.pk]))

    def schedule_view(self, request, pk):
        campaign = self._campaign(request, pk, change=True)
        if request.method != "POST":
            return HttpResponse(status=405)
        send_at = None
        if request.POST.get("send_at"):
            try:
                send_at = timezone.make_aware(
                    datetime.datetime.fromisoformat(request.POST["send_at"])
                )
            except ValueError:
                messages.error(request, _("Give the time as YYYY-MM-DD HH:MM."))
                return redirect(reverse("admin:marketing_campaign_change", args=[pk]))
        try:
            services.schedule_campaign(campaign, send_at=send_at, acting_user=request.user)
        except services.CampaignError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("The campaign is scheduled."))
        return redirect(reverse("admin:marketing_campaign_change", args=[pk]))

    def cancel_view(self, request, pk):
        campaign = self._campaign(request, pk, change=True)
        if request.method != "POST":
            return HttpResponse(status=405)
        try:
            services.cancel_campaign(campaign, acting_user=request.user)
        except services.CampaignError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("The campaign is cancelled."))
        return redirect(reverse("admin:marketing_campaign_change", args=[pk]))

    def progress_view(self, request, pk):
        """Counts by delivery status (and skip reason), polled by campaign_progress.js."""
        campaign = self._campaign(request, pk, change=False)
        by_status = dict(
            Delivery.objects.filter(campaign=campaign)
            .values_list("status")
            .annotate(n=Count("id"))
            .values_list("status", "n")
        )
        reasons = dict(
            Delivery.objects.filter(campaign=campaign, status=DeliveryStatus.SKIPPED)
            .values_list("skip_reason")
            .annotate(n=Count("id"))
            .values_list("skip_reason", "n")
        )
        total = sum(by_status.values())
        done = total - by_status.get("queued", 0) - by_status.get("sending", 0)
        return JsonResponse(
            {
                "status": campaign.status,
                "total": total,
                "done": done,
                "counts": {s: by_status.get(s, 0) for s in DeliveryStatus.values},
                "skipped_reasons": reasons,
                "finished": campaign.status in {CampaignStatus.SENT, CampaignStatus.CANCELLED},
            }
        )


@admin.register(ConsentRecord)
class ConsentRecordAdmin(LogsPersonalDataViewsMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "subscriber", "topic", "action", "method"]
    list_filter = ["action", "method", "topic"]
    list_select_related = ["subscriber", "topic"]

    def access_subject(self, obj):
        return obj.subscriber.user

    def access_subject_ids(self, obj) -> list[int]:
        # From the listed row's subscriber (selected with it): no query per row.
        return [obj.subscriber.user_id] if obj.subscriber.user_id else []


@admin.register(Suppression)
class SuppressionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["pk", "reason", "created_at"]
    list_filter = ["reason"]
    exclude = ["email_hash"]
