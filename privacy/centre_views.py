"""The privacy centre (/account/privacy/): a customer's own records and rights. Thin views: a
form validates, one service acts (privacy.rights, privacy.services), selectors decide who sees
what."""

from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import registry
from .exports import open_archive
from .forms import CloseAccountForm, DataRequestForm
from .models import DataExportStatus, DataRequestChannel
from .rights import DataRightsError, close_account, closure_blockers, request_export
from .rights import stop_direct_marketing as stop_marketing_service
from .selectors import access_summary, get_export_for_user
from .services import get_current_policy, open_data_request


@login_required
def privacy_centre(request, *, request_form=None):
    """What the store holds about the customer, what they agreed to, who received or looked at
    it, their requests and exports, and the doors to their rights."""
    user = request.user
    return render(
        request,
        "privacy/centre.html",
        {
            "categories": registry.categories(),
            "acceptances": user.policy_acceptances.select_related("policy"),
            "disclosures": user.disclosures.all()[:100],
            "accesses": access_summary(user),
            "current_policy": get_current_policy(),
            "requests": user.data_requests.order_by("-received_at")[:50],
            "exports": user.data_exports.exclude(status=DataExportStatus.EXPIRED)[:5],
            "consent_history": registry.consent_history(user),
            "can_stop_marketing": registry.can_stop_direct_marketing(),
            "request_form": request_form or DataRequestForm(),
        },
    )


@login_required
@require_POST
@reauthentication_required
def export_request(request):
    request_export(request.user)
    messages.success(
        request,
        _(
            "We are preparing your data. We will email you a download link when it is ready; "
            "it works for 7 days."
        ),
    )
    return redirect("privacy_centre:centre")


@login_required
def export_download(request, public_id):
    export = get_export_for_user(request.user, public_id)
    if not export.is_downloadable:
        raise Http404("This download has expired.")
    # Decrypted from the vault as it streams; a key or blob that fails raises before any byte.
    response = StreamingHttpResponse(open_archive(export), content_type="application/zip")
    response["Content-Disposition"] = 'attachment; filename="ipmart-my-data.zip"'
    if export.size_bytes:
        response["Content-Length"] = str(export.size_bytes)
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_POST
def data_request(request):
    form = DataRequestForm(request.POST)
    if not form.is_valid():
        return privacy_centre(request, request_form=form)
    created = open_data_request(
        request.user,
        kind=form.cleaned_data["kind"],
        channel=DataRequestChannel.PRIVACY_CENTRE,
        details=form.cleaned_data["details"],
    )
    messages.success(
        request,
        _("Your request %(reference)s was received. We answer by %(due)s.")
        % {"reference": created.reference, "due": created.due_on.strftime("%d/%m/%Y")},
    )
    return redirect("privacy_centre:centre")


@login_required
@require_POST
def stop_direct_marketing(request):
    stop_marketing_service(request.user)
    messages.success(request, _("We have stopped all direct marketing to you."))
    return redirect("privacy_centre:centre")


@login_required
@reauthentication_required(allow_get=True)
def close_account_view(request):
    """GET: what closing deletes and what it keeps. POST (after re-entering the password):
    close, log out, and show the farewell page."""
    form = CloseAccountForm(request.POST or None)
    blockers = closure_blockers(request.user)
    if request.method == "POST" and form.is_valid() and not blockers:
        try:
            close_account(request.user)
        except DataRightsError as error:
            messages.error(request, str(error))
        else:
            logout(request)
            return redirect("privacy_centre:closed")
    return render(
        request,
        "privacy/close_account.html",
        {"form": form, "categories": registry.categories(), "blockers": blockers},
    )


def account_closed(request):
    return render(request, "privacy/account_closed.html")
