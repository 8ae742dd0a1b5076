"""Email about an inquiry, in the customer's language, from the thread's own reply address (a
reply to any of them joins the thread)."""

from django.conf import settings
from django.urls import reverse
from django.utils import translation

from ipmart.core.mail import build_email, email_language

from .models import Inquiry, Message, Rating
from .tokens import guest_token, rating_token, reply_address

KINDS = {"acknowledgement", "reply", "resolved"}


def thread_url(inquiry: Inquiry) -> str:
    """Where the customer reads the thread: their account page, or for a guest a freshly signed
    link (so every email renews the guest's access)."""
    if inquiry.user_id is not None:
        path = reverse("support:inquiry", args=[inquiry.reference])
    else:
        path = reverse("support:guest", args=[guest_token(inquiry)])
    return settings.SITE_URL + path


def send_inquiry_email(inquiry: Inquiry, kind: str, message: Message | None = None) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown support email {kind!r}")
    context = {
        "inquiry": inquiry,
        "message": message,
        "thread_url": thread_url(inquiry),
        "rating_url": (
            settings.SITE_URL + reverse("support:rate", args=[rating_token(inquiry)])
            if kind == "resolved"
            else ""
        ),
        "is_guest": inquiry.user_id is None,
        "ratings": Rating.choices,
    }
    address = reply_address(inquiry)
    with translation.override(email_language(inquiry.language)):
        sender = f"{translation.gettext('IPmart Customer Service')} <{address}>"
    build_email(
        f"support/email/{kind}",
        context,
        to=[inquiry.email],
        language=inquiry.language,
        from_email=sender,
        reply_to=[address],
    ).send()
