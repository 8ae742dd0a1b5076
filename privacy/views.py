from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ipmart.core.http import client_ip
from ipmart.core.page_cache import anonymous_page_cache, page_generation

from .forms import AcceptPolicyForm
from .models import AcceptanceMethod, PolicyVersion
from .services import accept_policy, get_current_policy, get_current_policy_id, has_accepted


def _text_language(request) -> str:
    requested = request.GET.get("lang")
    if requested in {"en", "ms"}:
        return requested
    return "ms" if (get_language() or "en").startswith("ms") else "en"


def _render_policy(request, policy: PolicyVersion, *, form=None):
    current = get_current_policy()
    needs_acceptance = (
        request.user.is_authenticated
        and current is not None
        and policy.pk == current.pk
        and not has_accepted(request.user, policy.pk)
    )
    if needs_acceptance and form is None:
        form = AcceptPolicyForm(initial={"policy_id": policy.pk})
    return render(
        request,
        "privacy/policy.html",
        {
            "policy": policy,
            "is_current": current is not None and policy.pk == current.pk,
            "text_language": _text_language(request),
            "needs_acceptance": needs_acceptance,
            "form": form,
        },
    )


def _policy_page_version():
    return (get_current_policy_id(), page_generation())


def _policy_query(request) -> str | None:
    query = request.META.get("QUERY_STRING", "")
    return query if query in {"", "lang=en", "lang=ms"} else None


# Anonymous visitors get the policy from the page cache (keyed by the version in force).
@anonymous_page_cache(version=_policy_page_version, query=_policy_query)
def policy(request):
    current = get_current_policy()
    if current is None:
        raise Http404("No privacy policy has been published yet.")
    return _render_policy(request, current)


def policy_version(request, version: str):
    return _render_policy(
        request, get_object_or_404(PolicyVersion.objects.published(), version=version)
    )


def policy_history(request):
    versions = PolicyVersion.objects.published().order_by("-effective_date", "-published_at")
    return render(request, "privacy/history.html", {"versions": versions})


@login_required
@require_POST
def accept(request):
    form = AcceptPolicyForm(request.POST)
    current = get_current_policy()
    if current is None:
        raise Http404("No privacy policy has been published yet.")
    if not form.is_valid():
        return _render_policy(request, current, form=form)
    if form.cleaned_data["policy_id"] != current.pk:
        messages.warning(
            request,
            _("The privacy policy changed while you were reading it. Please review this version."),
        )
        return redirect("privacy:policy")
    accept_policy(
        request.user,
        policy=current,
        method=AcceptanceMethod.REVIEW,
        ip_address=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )
    request.session["accepted_policy_id"] = current.pk
    messages.success(
        request,
        _("Thank you. You accepted privacy policy version %(version)s.")
        % {"version": current.version},
    )
    return redirect("privacy:policy")
