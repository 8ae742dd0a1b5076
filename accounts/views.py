import time

from allauth.account import views as allauth_views
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import pacing
from .forms import AddressForm, ProfileForm
from .models import Address
from .selectors import get_address_for_user
from .services import (
    add_address,
    delete_address,
    set_default_address,
    update_address,
    update_profile,
)


class SignupView(allauth_views.SignupView):
    """allauth's signup, every valid answer held to the same floor whether it opened an account
    or found the email taken (accounts.pacing): the time it takes tells nobody which emails
    are customers."""

    def dispatch(self, request, *args, **kwargs):
        self.started = time.monotonic()
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form):
        response = super().form_valid(form)
        pacing.SIGNUP_PACER.pace(
            created=self.user is not None, elapsed=time.monotonic() - self.started
        )
        return response


signup = SignupView.as_view()


@login_required
def dashboard(request):
    addresses = Address.objects.for_user(request.user)
    return render(
        request,
        "accounts/dashboard.html",
        {
            "default_billing": next((a for a in addresses if a.is_default_billing), None),
            "default_shipping": next((a for a in addresses if a.is_default_shipping), None),
            "address_count": len(addresses),
        },
    )


@login_required
def profile(request):
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        user = update_profile(request.user, **form.cleaned_data)
        messages.success(request, _("Your profile was saved."))
        response = redirect("accounts:dashboard")
        # The switcher's cookie would otherwise outrank the language just chosen.
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            user.preferred_language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            secure=settings.LANGUAGE_COOKIE_SECURE,
        )
        return response
    return render(request, "accounts/profile.html", {"form": form})


@login_required
def address_list(request):
    addresses = Address.objects.for_user(request.user)
    return render(request, "accounts/address_list.html", {"addresses": addresses})


@login_required
def address_create(request):
    form = AddressForm(request.POST or None, initial={"full_name": request.user.full_name})
    if request.method == "POST" and form.is_valid():
        add_address(request.user, data=form.cleaned_data)
        messages.success(request, _("The address was added."))
        # Checkout sends customers here and expects them back.
        next_url = request.GET.get("next", "")
        if url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return redirect(next_url)
        return redirect("accounts:addresses")
    return render(request, "accounts/address_form.html", {"form": form, "creating": True})


@login_required
def address_edit(request, address_id: int):
    address = get_address_for_user(request.user, address_id)
    form = AddressForm(request.POST or None, instance=address)
    if request.method == "POST" and form.is_valid():
        update_address(address, data=form.cleaned_data)
        messages.success(request, _("The address was saved."))
        return redirect("accounts:addresses")
    return render(request, "accounts/address_form.html", {"form": form, "address": address})


@login_required
def address_delete(request, address_id: int):
    address = get_address_for_user(request.user, address_id)
    if request.method == "POST":
        delete_address(address)
        messages.success(request, _("The address was removed."))
        return redirect("accounts:addresses")
    return render(request, "accounts/address_confirm_delete.html", {"address": address})


@login_required
@require_POST
def address_make_default(request, address_id: int, kind: str):
    address = get_address_for_user(request.user, address_id)
    set_default_address(address, kind=kind)
    if kind == "billing":
        messages.success(request, _("This is now your default billing address."))
    else:
        messages.success(request, _("This is now your default shipping address."))
    return redirect("accounts:addresses")
