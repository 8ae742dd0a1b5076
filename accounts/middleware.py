import time

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
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


def _now() -> int:
    return int(time.time())


class StaffSessionLimitsMiddleware:
    """Staff sessions end after STAFF_SESSION_IDLE_MINUTES without a request and
    STAFF_SESSION_MAX_HOURS after they started, whatever "remember me" said (ASVS 3.3.2);
    customers keep Django's lifetime and allauth's "remember me". The times live in the
    session; the last-seen time is written at most once a minute, so an active member of staff
    does not cost a session write per request. Also sets the session's own expiry to the idle
    limit, so an abandoned staff session dies server-side too."""

    STARTED = "staff_session_started"
    SEEN = "staff_session_seen"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_staff:
            expired = self._check(request)
            if expired:
                logout(request)
                messages.info(request, _("Your staff session ended. Please sign in again."))
                return redirect(f"{reverse(settings.LOGIN_URL)}?next={request.path}")
        return self.get_response(request)

    def _check(self, request) -> bool:
        session, now = request.session, _now()
        idle = settings.STAFF_SESSION_IDLE_MINUTES * 60
        absolute = settings.STAFF_SESSION_MAX_HOURS * 3600
        started, seen = session.get(self.STARTED), session.get(self.SEEN)
        if started is None or seen is None:
            session[self.STARTED] = session[self.SEEN] = now
            session.set_expiry(idle)
            return False
        if now - seen > idle or now - started > absolute:
            return True
        if now - seen >= 60:
            session[self.SEEN] = now
            session.set_expiry(idle)
        return False
