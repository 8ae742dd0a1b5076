import threading
import time

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context
from allauth.mfa.adapter import DefaultMFAAdapter
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

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


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        """Signup: the account, the acceptance of the policy version the person read and the
        marketing topics they ticked (pending until confirmed by email) are saved together, or
        not at all."""
        user.full_name = form.cleaned_data["full_name"]
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
