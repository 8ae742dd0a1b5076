from types import SimpleNamespace
from urllib.parse import urlsplit, urlunsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress
from allauth.account.utils import user_email
from allauth.core import context
from allauth.mfa.adapter import DefaultMFAAdapter
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import get_language

from ipmart.core.http import client_ip
from ipmart.core.mail import build_email, email_language
from ipmart.core.message_ids import outbox_message_id
from ipmart.core.outbox import enqueue
from marketing.models import ConsentMethod
from marketing.services import request_subscriptions
from privacy.models import AcceptanceMethod
from privacy.services import accept_policy

from .models import User

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
        # The page's language becomes the profile's: the verification email and every later
        # email speak the language the customer signed up in (they can change it in /account/).
        user.preferred_language = email_language(translation.get_language())
        self.remember_next(request)
        with transaction.atomic():
            # the hash both signup answers computed once (accounts.forms.SignupForm.try_save);
            # allauth's own save_user would hash the password a second time
            password_hash = getattr(form, "password_hash", None)
            if password_hash:
                user_email(user, form.cleaned_data.get("email"))
                user.password = password_hash
                self.populate_username(request, user)
                user.save()
            else:
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
        active language (send_mail chooses it). An email sent by an outbox handler (the signup
        emails) keeps one Message-ID however often the handler runs (ipmart.core.message_ids)."""
        message_id = outbox_message_id()
        if message_id:
            headers = {**(headers or {}), "Message-ID": message_id}
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
        """A new account's verification email goes through the outbox, as the "already exists"
        email below: neither signup answer talks to the SMTP server (accounts/emails.py).
        Other confirmations (a changed email, a resend) are sent at once, as allauth does."""
        if not signup:
            return super().send_confirmation_mail(request, emailconfirmation, signup)
        _enqueue_signup_email("confirm", emailconfirmation.email_address.pk)

    def send_account_already_exists_mail(self, email):
        address = (
            EmailAddress.objects.filter(email__iexact=email)
            .order_by("-primary", "-verified", "pk")
            .only("pk")
            .first()
        )
        if address is not None:
            _enqueue_signup_email("exists", address.pk)
        else:
            # an account made outside allauth (a command, admin) may have no address row
            owner = User.objects.filter(email__iexact=email).only("pk").first()
            if owner is None:
                return super().send_account_already_exists_mail(email)
            _enqueue_signup_email("exists-user", owner.pk)


def _enqueue_signup_email(kind: str, row_id: int) -> None:
    with transaction.atomic():
        enqueue("accounts.tasks.send_signup_email", kind, row_id, get_language())


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
