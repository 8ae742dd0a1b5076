"""The verification reviewer's side of admin (imported by orders/admin.py).

`OrderAwaitingVerification` (a proxy of Order) is the queue: held orders, oldest hold first,
in a fixed number of queries. Its change page is the review page: the order, the payment's
facts from the gateway, each document's previews (PNG, streamed by `preview_view` after a
permission check, with no-store, nosniff and a sandboxing CSP) and approve / reject forms that
call orders.services.verification. Only the verification reviewer (and superusers) hold
`orders.open_verificationdocument`; every opening and every refusal is written to the access
log. Support agents and store managers see documents' kinds and states on the order page
(`VerificationDocumentInline`, `VerificationDocumentAdmin`), never their content."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Max, OuterRef, Prefetch, Q, Subquery
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.timesince import timesince
from django.utils.translation import gettext_lazy as _

from ipmart.core.admin_mixins import (
    NoDeleteMixin,
    ReadOnlyAdminMixin,
    ReadOnlyTabularInline,
    StaffTrailHistoryMixin,
)
from ipmart.core.http import client_ip
from ipmart.core.money import format_ringgit
from privacy.admin_mixins import LogsPersonalDataViewsMixin
from privacy.models import AccessAction
from privacy.services import log_access
from privacy.vault import VaultError

from .forms import RejectDocumentForm
from .models import (
    DocumentPreview,
    DocumentStatus,
    OrderAwaitingVerification,
    OrderEventKind,
    OrderStatus,
    PaymentAttempt,
    VerificationDocument,
)
from .services.errors import ShopError
from .services.verification import approve_document, open_preview, reject_document

OPEN = "orders.open_verificationdocument"
DECIDE = "orders.decide_verificationdocument"
PREVIEW_CSP = "default-src 'none'; img-src 'self'; sandbox"


def _deny(request, document: VerificationDocument, detail: str):
    log_access(
        request.user,
        action=AccessAction.DENIED,
        target=document,
        subject=document.order.user,
        ip_address=client_ip(request),
        detail=detail,
    )
    raise PermissionDenied


def _document_for(request, document_id: int, permission: str) -> VerificationDocument:
    """The document if the user holds `permission` and (unless superuser) its order is still
    awaiting verification; else the refusal is logged and a 403 raised. 404 if it does not
    exist."""
    document = get_object_or_404(
        VerificationDocument.objects.select_related("order__user"), pk=document_id
    )
    if not request.user.has_perm(permission):
        _deny(request, document, "verification document: no permission")
    if not request.user.is_superuser and document.order.status != OrderStatus.ON_HOLD:
        _deny(request, document, "verification document: order not awaiting verification")
    return document


@admin.register(OrderAwaitingVerification)
class OrderAwaitingVerificationAdmin(LogsPersonalDataViewsMixin, NoDeleteMixin, admin.ModelAdmin):
    list_display = [
        "number",
        "waiting",
        "email",
        "total",
        "billing_country",
        "card_country",
        "documents_summary",
    ]
    list_display_links = ["number"]
    search_fields = ["number"]
    show_full_result_count = False
    list_per_page = 50
    actions = None

    def access_subject(self, obj):  # the queue lists customers' emails: logged per page
        return obj.user

    def access_subject_ids(self, obj) -> list[int]:
        return [obj.user_id]

    def get_queryset(self, request):
        card_country = (
            # The payment that pays for the order: a duplicate capture's card is not the one
            # the hold rule weighs (orders.holds).
            PaymentAttempt.objects.filter(order=OuterRef("pk"), pays_for_order=True)
            .exclude(card_country="")
            .values("card_country")[:1]
        )
        documents = VerificationDocument.objects.only("id", "order_id", "kind", "status")
        return (
            super()
            .get_queryset(request)
            .filter(status=OrderStatus.ON_HOLD)
            .annotate(
                held_at=Max("events__at", filter=Q(events__kind=OrderEventKind.HELD)),
                card_country_value=Subquery(card_country),
            )
            .prefetch_related(Prefetch("documents", queryset=documents))
            .order_by("held_at", "id")
        )

    @admin.display(description=_("waiting"), ordering="held_at")
    def waiting(self, obj):
        return timesince(obj.held_at or obj.paid_at or obj.placed_at, timezone.now())

    @admin.display(description=_("total"))
    def total(self, obj):
        return format_ringgit(obj.total_sen)

    @admin.display(description=_("card country"))
    def card_country(self, obj):
        return obj.card_country_value or "—"

    @admin.display(description=_("documents"))
    def documents_summary(self, obj):
        documents = list(obj.documents.all())
        if not documents:
            return _("none yet")
        return format_html_join(
            ", ", "{} ({})", ((d.get_kind_display(), d.get_status_display()) for d in documents)
        )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        return [
            path(
                "document/<int:document_id>/preview/<int:page>/",
                self.admin_site.admin_view(self.preview_view),
                name="orders_document_preview",
            ),
            path(
                "document/<int:document_id>/decide/",
                self.admin_site.admin_view(self.decide_view),
                name="orders_document_decide",
            ),
            *super().get_urls(),
        ]

    # --- the review page ----------------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        order = get_object_or_404(self.get_queryset(request).select_related("user"), pk=object_id)
        documents = list(
            VerificationDocument.objects.filter(order=order)
            .select_related("decided_by")
            .prefetch_related(
                Prefetch("previews", queryset=DocumentPreview.objects.order_by("page"))
            )
            .order_by("uploaded_at", "id")
        )
        for document in documents:
            document.reject_form = RejectDocumentForm(prefix=f"d{document.pk}")
        can_open = request.user.has_perm(OPEN)
        log_access(
            request.user,
            action=AccessAction.VIEWED,
            target=order,
            subject=order.user,
            ip_address=client_ip(request),
            detail=f"verification review of order {order.number}",
        )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Review order %(number)s") % {"number": order.number},
            "opts": self.model._meta,
            "order": order,
            "lines": list(order.lines.all()),
            "attempts": list(order.attempts.all()),
            "documents": documents,
            "can_open": can_open,
            "can_decide": request.user.has_perm(DECIDE),
            "pending": DocumentStatus.PENDING,
        }
        response = render(request, "admin/orders/verification_review.html", context)
        response["Cache-Control"] = "no-store"
        return response

    def preview_view(self, request, document_id: int, page: int):
        document = _document_for(request, document_id, OPEN)
        preview = get_object_or_404(
            DocumentPreview.objects.select_related("file"), document=document, page=page
        )
        try:
            content = open_preview(preview, acting_user=request.user, ip_address=client_ip(request))
        except ShopError as error:
            raise Http404(str(error)) from error
        except VaultError:
            # Fail closed: no bytes that did not authenticate, and say so plainly.
            return HttpResponse(
                _("This document cannot be decrypted (missing or wrong key)."),
                status=503,
                content_type="text/plain; charset=utf-8",
            )
        response = HttpResponse(content, content_type="image/png")
        response["Content-Disposition"] = (
            f'inline; filename="document-{document.pk}-page-{preview.page}.png"'
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = PREVIEW_CSP
        response["Cross-Origin-Resource-Policy"] = "same-origin"
        return response

    def decide_view(self, request, document_id: int):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        document = _document_for(request, document_id, DECIDE)
        back = reverse("admin:orders_orderawaitingverification_change", args=[document.order_id])
        ip = client_ip(request)
        try:
            if request.POST.get("decision") == "approve":
                released = approve_document(document, acting_user=request.user, ip_address=ip)
                messages.success(
                    request,
                    _("Approved. The order was released for delivery.")
                    if released
                    else _("Approved."),
                )
            else:
                form = RejectDocumentForm(request.POST, prefix=f"d{document.pk}")
                if not form.is_valid():
                    messages.error(
                        request, _("Choose a reason (and write a note for “another reason”).")
                    )
                    return redirect(back)
                refunded = reject_document(
                    document,
                    acting_user=request.user,
                    reason=form.cleaned_data["reason"],
                    note=form.cleaned_data["note"],
                    ip_address=ip,
                )
                messages.success(
                    request,
                    _("Rejected. Too many documents were rejected: the order was refunded.")
                    if refunded
                    else _("Rejected. The customer was emailed the reason."),
                )
        except ShopError as error:
            messages.error(request, str(error))
        if not OrderAwaitingVerification.objects.filter(
            pk=document.order_id, status=OrderStatus.ON_HOLD
        ).exists():
            return redirect("admin:orders_orderawaitingverification_changelist")
        return redirect(back)


class VerificationDocumentInline(ReadOnlyTabularInline):
    """On the order page for support and managers: which documents exist and their state."""

    model = VerificationDocument
    fields = ["kind", "status", "uploaded_at", "decided_at", "rejection_reason", "shredded_at"]
    readonly_fields = fields


@admin.register(VerificationDocument)
class VerificationDocumentAdmin(StaffTrailHistoryMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Documents' metadata and decisions (never their content or file names)."""

    list_display = ["__str__", "order", "kind", "status", "uploaded_at", "decided_at", "shredded"]
    list_filter = ["status", "kind"]
    list_select_related = ["order"]
    fields = [
        "order",
        "kind",
        "status",
        "pages",
        "uploaded_at",
        "decided_at",
        "decided_by",
        "rejection_reason",
        "rejection_note",
        "shredded_at",
    ]
    readonly_fields = fields
    actions = None

    @admin.display(description=_("files destroyed"), boolean=True)
    def shredded(self, obj):
        return obj.shredded_at is not None
