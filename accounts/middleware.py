from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _


class PreferredLanguageMiddleware:
    """A logged-in customer who has not picked a language with the switcher sees the store in
    the language of their profile."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES
            and user.preferred_language != request.LANGUAGE_CODE
        ):
            translation.activate(user.preferred_language)
            request.LANGUAGE_CODE = user.preferred_language
        return self.get_response(request)


class StaffMFARequiredMiddleware:
    """No admin page opens for staff who have not enrolled TOTP (allauth offers MFA but does not
    require it). Turned off only by STAFF_MFA_REQUIRED=0 in the embedded demo."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.admin_prefix = None

    def __call__(self, request):
        if self.admin_prefix is None:
            self.admin_prefix = reverse("admin:index")
        user = request.user
        if (
            settings.STAFF_MFA_REQUIRED
            and request.path.startswith(self.admin_prefix)
            and user.is_authenticated
            and user.is_staff
            and not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
        ):
            messages.warning(
                request,
                _(
                    "Staff accounts need two-factor authentication. Set up an authenticator app to open the admin."
                ),
            )
            return redirect(f"{reverse('mfa_activate_totp')}?next={self.admin_prefix}")
        return self.get_response(request)
