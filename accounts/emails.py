"""The two emails a signup sends, built and sent by an outbox handler after the request: the
verification email of a new account, and "an account already exists" to the owner of an address
someone tried to sign up with again. Both answers of the signup form then do the same work in
the request (one password hash, one outbox row, no SMTP conversation), so its timing does not
tell which emails are customers (`bench/signup_timing.py`).

Links point at SITE_URL, as in every email a task sends; allauth renders the message as it
would in the request, in the language the visitor used."""

from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter, get_adapter
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from allauth.core.context import request_context
from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.utils import translation

CONFIRM = "confirm"  # row: the new account's EmailAddress
ALREADY_EXISTS = "exists"  # row: the existing account's EmailAddress typed again
ALREADY_EXISTS_NO_ADDRESS = "exists-user"  # row: an account with no EmailAddress row (its User)


class SiteRequest(HttpRequest):
    """What allauth's email building needs of a request, for the store's own address."""

    def __init__(self) -> None:
        super().__init__()
        site = urlsplit(settings.SITE_URL)
        self._site_scheme, self._site_host = site.scheme or "https", site.netloc
        self.META = {"SERVER_NAME": site.hostname or "", "SERVER_PORT": str(site.port or "")}
        self.path = self.path_info = "/"

    def _get_scheme(self) -> str:
        return self._site_scheme

    def get_host(self) -> str:
        return self._site_host


def send_signup_email(kind: str, row_id: int, language: str) -> bool:
    """Send the signup email `kind` for the row `row_id` (see the kinds above), rendered in
    `language`. Returns False (nothing sent) when the row is gone, or, for a verification
    email, already verified. Sending twice (a worker killed after the SMTP server took it) sends
    a second, equally valid link; harmless."""
    if kind == ALREADY_EXISTS_NO_ADDRESS:
        user = get_user_model().objects.filter(pk=row_id).first()
        email = user.email if user is not None else ""
    elif kind in (CONFIRM, ALREADY_EXISTS):
        address = EmailAddress.objects.filter(pk=row_id).select_related("user").first()
        if address is None or (kind == CONFIRM and address.verified):
            return False
        email = address.email
    else:
        raise ValueError(f"unknown signup email {kind!r}")
    if not email:
        return False
    request = SiteRequest()
    adapter = get_adapter(request)
    with request_context(request), translation.override(language):
        if kind == CONFIRM:
            DefaultAccountAdapter.send_confirmation_mail(
                adapter, request, EmailConfirmationHMAC(address), True
            )
        else:
            DefaultAccountAdapter.send_account_already_exists_mail(adapter, email)
    return True
