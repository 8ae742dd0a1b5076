import threading
import time

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context
from allauth.mfa.adapter import DefaultMFAAdapter
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from ipmart.core.http import client_ip
from marketing.models import ConsentMethod
from marketing.services import request_subscriptions
from privacy.models import AcceptanceMethod
from privacy.services import accept_policy


class SignupClock:
    """How long a new account's signup takes in this process (a moving average, from the form's
    creation to the verification email sent). Signup for an email that already has an account
    hashes the password too (accounts.forms.SignupForm.try_save) and then waits out what is
    left of this, so both answers take the same time: timing must not tell which emails are
    customers. Until a first new signup in the process, there is nothing to wait for."""

    MAX_WAIT = 1.0

    def __init__(self) -> None:
        self.typical: float | None = None
        self._lock = threading.Lock()

    def observe(self, seconds: float) -> None:
        with self._lock:
            self.typical = seconds if self.typical is None else 0.8 * self.typical + 0.2 * seconds

    def wait_since(self, started: float) -> None:
        remaining = (self.typical or 0.0) - (time.monotonic() - started)
        if remaining > 0:
            time.sleep(min(remaining, self.MAX_WAIT))


SIGNUP_CLOCK = SignupClock()


# Where a customer who signed up from a page (the checkout) goes back to once they have
# verified their email and logged in: kept in the session across the verification link.
NEXT_SESSION_KEY = "accounts_signup_next"


def safe_next(request, url: str | None) -> str | None:
    """`url` if it is a path on this site (never another host or scheme), else None."""
    if not url or not url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return None
    return url


class AccountAdapter(DefaultAccountAdapter):
    def remember_next(self, request) -> None:
        """Keep the signup's `next` (a page of this site only) for after verification."""
        url = safe_next(request, request.POST.get("next") or request.GET.get("next"))
        if url:
            request.session[NEXT_SESSION_KEY] = url
        else:
            request.session.pop(NEXT_SESSION_KEY, None)

    def get_email_verification_redirect_url(self, email_address) -> str:
        """After the emailed link: back to the page the signup came from (the checkout), through
        the login page when the customer is not logged in on this browser."""
        url = safe_next(self.request, self.request.session.get(NEXT_SESSION_KEY))
        if url is None:
            return super().get_email_verification_redirect_url(email_address)
        if self.request.user.is_authenticated:
            self.request.session.pop(NEXT_SESSION_KEY, None)
            return url
        return reverse("account_login") + "?" + urlencode({"next": url})

    def get_login_redirect_url(self, request) -> str:
        """A login without an explicit `next` after a signup from the checkout goes back there."""
        url = safe_next(request, request.session.pop(NEXT_SESSION_KEY, None))
        return url or super().get_login_redirect_url(request)

    def save_user(self, request, user, form, commit=True):
        """Signup: the account, the acceptance of the policy version the person read and the
        marketing topics they ticked (pending until confirmed by email) are saved together, or
        not at all."""
        user.full_name = form.cleaned_data["full_name"]
        self.remember_next(request)
        with transaction.atomic():
            user = super().save_user(request, user, form, commit=True)
            accept_policy(
                user,
                policy=form.cleaned_data["policy"],
                method=AcceptanceMethod.SIGNUP,
                ip_address=client_ip(request),
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
            )
            topics = form.chosen_topics() if hasattr(form, "chosen_topics") else []
            if topics:
                request_subscriptions(
                    user, topics=topics, method=ConsentMethod.SIGNUP, ip_address=client_ip(request)
                )
        return user

    def get_client_ip(self, request):
        return client_ip(request)

    def send_confirmation_mail(self, request, emailconfirmation, signup):
        super().send_confirmation_mail(request, emailconfirmation, signup)
        started = getattr(request, "signup_started", None)
        if signup and started is not None:
            SIGNUP_CLOCK.observe(time.monotonic() - started)

    def send_account_already_exists_mail(self, email):
        super().send_account_already_exists_mail(email)
        started = getattr(context.request, "signup_started", None)
        if started is not None:
            SIGNUP_CLOCK.wait_since(started)


_PREFIX = "fernet:"


def _fernet() -> MultiFernet:
    keys = settings.MFA_ENCRYPTION_KEYS
    if not keys:
        raise ImproperlyConfigured("MFA_ENCRYPTION_KEYS must hold at least one Fernet key.")
    return MultiFernet([Fernet(key.encode()) for key in keys])


class MFAAdapter(DefaultMFAAdapter):
    """TOTP secrets are stored encrypted (allauth stores them in clear by default). The first key
    of MFA_ENCRYPTION_KEYS encrypts; all of them decrypt, so keys can rotate."""

    def encrypt(self, text: str) -> str:
        return _PREFIX + _fernet().encrypt(text.encode()).decode()

    def decrypt(self, encrypted_text: str) -> str:
        if not encrypted_text.startswith(_PREFIX):
            raise ValueError("An MFA secret is not encrypted; refusing to use it.")
        try:
            return _fernet().decrypt(encrypted_text[len(_PREFIX) :].encode()).decode()
        except InvalidToken as error:
            raise ValueError(
                "An MFA secret cannot be decrypted with the configured keys."
            ) from error
