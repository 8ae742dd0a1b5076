"""Email replies to a thread's reply address, received through django-anymail's Mailgun inbound
webhook (`/support/email/mailgun/inbound/`).

Anymail verifies Mailgun's signature (HMAC-SHA256 of timestamp + token with
MAILGUN_WEBHOOK_SIGNING_KEY) and sends the `inbound` signal; `handle_inbound` finds the thread
from the signed token in the recipient address (never from the subject), strips quoted text and
signatures, runs each attachment through the same intake as the web form
(`support.attachments.clean_email_attachments`: nothing is stored there) and hands the text and
files to `services.receive_email_reply`, which adds them to the thread (files encrypted into
the vault; a refused file is only noted for the agent), holds the email for an agent (unknown
sender) or ignores it (a provider event seen before)."""

from __future__ import annotations

import logging
import re

from anymail.webhooks.mailgun import MailgunInboundWebhookView
from django.conf import settings
from django.http import Http404
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt

from . import services
from .attachments import EmailUploadHandler, clean_email_attachments
from .tokens import inquiry_from_reply_address

logger = logging.getLogger(__name__)

# A line that starts the quoted original: "On Mon, 1 Jan 2026, X <x@y> wrote:", its Malay
# form, Outlook's separators and header blocks.
QUOTE_HEADER = re.compile(
    r"^\s*("
    r"on\b.{0,300}\bwrote:\s*$"
    r"|pada\b.{0,300}\bmenulis:\s*$"
    r"|-{2,}\s*original message\s*-{2,}"
    r"|-{2,}\s*mesej asal\s*-{2,}"
    r"|_{10,}\s*$"
    r"|from:\s.+"
    r"|daripada:\s.+"
    r")",
    re.IGNORECASE,
)
SIGNATURE = re.compile(r"^(-- ?|--|sent from my .+|dihantar dari .+)\s*$", re.IGNORECASE)


def strip_reply(text: str) -> str:
    """The new part of an email reply: everything before the quoted original or the signature,
    without '>' quoted lines."""
    kept: list[str] = []
    lines = (text or "").replace("\r\n", "\n").split("\n")
    for index, line in enumerate(lines):
        if SIGNATURE.match(line):
            break
        if QUOTE_HEADER.match(line):
            # "On … wrote:" is sometimes wrapped over two lines by the client.
            break
        if (
            index + 1 < len(lines)
            and re.match(r"^\s*on\b.{0,300}$", line, re.I)
            and re.match(r"^.{0,300}\bwrote:\s*$", lines[index + 1], re.I)
        ):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    return "\n".join(kept).strip()


def _recipients(message) -> list[str]:
    found = []
    if message.envelope_recipient:
        found.extend(part.strip() for part in message.envelope_recipient.split(","))
    for address in [*message.to, *message.cc]:
        found.append(address.addr_spec)
    return [address for address in found if address]


def handle_inbound(sender, event, esp_name, **kwargs) -> None:
    """Receiver of anymail's `inbound` signal."""
    message = event.message
    inquiry = None
    for address in _recipients(message):
        inquiry = inquiry_from_reply_address(address)
        if inquiry is not None:
            break
    if inquiry is None:
        logger.info("inbound email %s: no valid thread address, ignored", event.event_id)
        return
    from_address = message.from_email.addr_spec if message.from_email else ""
    text = strip_reply(message.stripped_text or message.text or "")
    if not event.event_id or not from_address:
        logger.info("inbound email for %s without event id or sender, ignored", inquiry.reference)
        return
    files = clean_email_attachments(
        message.attachments, skipped=getattr(event, "skipped_attachments", ())
    )
    inbound = services.receive_email_reply(
        inquiry,
        provider_event_id=f"{esp_name.lower()}:{event.event_id}",
        message_id=(message.get("Message-ID") or "").strip(),
        from_address=from_address,
        subject=message.subject or "",
        text=text,
        attachments=files.clean,
        refused=files.refused,
    )
    logger.info(
        "inbound email for %s: %s", inquiry.reference, inbound.status if inbound else "ignored"
    )


class SupportInboundWebhookView(MailgunInboundWebhookView):
    """Mailgun's inbound webhook, off (404) until MAILGUN_WEBHOOK_SIGNING_KEY is set: an empty
    key would accept signatures anyone can compute."""

    # Mailgun has no CSRF token: the signature is the proof (anymail's own dispatch is exempt,
    # and overriding it would drop that).
    @method_decorator(csrf_exempt)
    def dispatch(self, request, *args, **kwargs):
        if not getattr(settings, "ANYMAIL", {}).get("MAILGUN_WEBHOOK_SIGNING_KEY"):
            raise Http404
        # Before anything reads the body: attachments are held in memory up to the cap, never
        # written to a temporary folder; a bigger one is dropped (and noted as refused).
        request.upload_handlers = [EmailUploadHandler(request)]
        return super().dispatch(request, *args, **kwargs)

    def parse_events(self, request):
        events = super().parse_events(request)
        for event in events:
            event.skipped_attachments = list(getattr(request, "support_skipped_files", []))
        return events
