import threading
import time
from types import SimpleNamespace
from urllib.parse import urlsplit, urlunsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress
from allauth.core import context
from allauth.mfa.adapter import DefaultMFAAdapter
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.urls import reverse
from django.utils import translation

from ipmart.core.http import client_ip
from ipmart.core.mail import build_email, email_language
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
        # The page's language becomes the profile's: the verification email and every later
        # email speak the language the customer signed up in (they can change it in /account/).
        user.preferred_language = email_language(translation.get_language())
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

    # --- Email: allauth's messages through the store's layout (ipmart.core.mail), text + HTML,
    # links on SITE_URL (never the host the request came to), the store's name (never the
    # request's host as allauth's "site").

    def send_mail(self, template_prefix, email, context):
        """Send in the language of the account the address belongs to (its profile language,
        even when the request came from a page in the other language: a Malay customer who asks
        for a password reset on an English page gets it in Malay); for an address with no
        account, in the language of the page that asked."""
        user = context.get("user") or account_for_email(email)
        language = getattr(user, "preferred_language", "") or translation.get_language()
        ctx = {key: _on_site(value) for key, value in context.items() if key != "request"}
        ctx.update(
            email=email,
            user=user,
            current_site=SimpleNamespace(
                name=settings.STORE_NAME, domain=urlsplit(settings.SITE_URL).netloc
            ),
            login_url=settings.SITE_URL + reverse("account_login"),
            reset_url=settings.SITE_URL + reverse("account_reset_password"),
        )
        with translation.override(email_language(language)):
            message = self.render_mail(template_prefix, email, ctx)
        message.send()

    def render_mail(self, template_prefix, email, context, headers=None):
        """`<prefix>_subject.txt`, `<prefix>_message.txt` and `<prefix>_message.html` in the
        active language (send_mail chooses it)."""
        message = build_email(
            f"{template_prefix}_message",
            context,
            subject_template=f"{template_prefix}_subject.txt",
            to=[email] if isinstance(email, str) else list(email),
            language=translation.get_language(),
            from_email=self.get_from_email(),
            headers=headers,
        )
        message.subject = self.format_email_subject(message.subject)
        return message

    def send_notification_mail(self, template_prefix, user, context=None, email=None):
        # The user, so that the notice is in their language and greets them by name.
        super().send_notification_mail(
            template_prefix, user, {**(context or {}), "user": user}, email
        )

    def get_email_confirmation_url(self, request, emailconfirmation):
        return settings.SITE_URL + reverse("account_confirm_email", args=[emailconfirmation.key])

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


def account_for_email(email: str):
    """The account an address belongs to (any of its addresses), or None."""
    address = EmailAddress.objects.filter(email__iexact=email).select_related("user").first()
    if address is not None:
        return address.user
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(email__iexact=email).first()


def _on_site(value):
    """A link allauth built from the request's host, moved onto SITE_URL (the request may have
    come to 127.0.0.1:8200 or an internal name; the customer must get the store's address)."""
    request = context.request
    if (
        not isinstance(value, str)
        or request is None
        or not value.startswith(("http://", "https://"))
    ):
        return value
    parts = urlsplit(value)
    if parts.netloc != request.get_host():
        return value
    return settings.SITE_URL + urlunsplit(("", "", parts.path, parts.query, parts.fragment))


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
