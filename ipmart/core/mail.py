"""Email. `render_email` / `build_email` / `send_email`: every customer email is rendered from
a subject, a text and an HTML template sharing one layout (`templates/email/base.txt`,
`templates/email/base.html`: the store's name as text, its contact facts in the footer, no
remote images), in the recipient's language, with absolute links under SITE_URL.

`EmlFileBackend` is the embedded default's backend: each message is written to its own .eml
file under EMAIL_FILE_PATH, where the development mail viewer (/dev/mail/) reads it."""

import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation


class EmlFileBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        folder = Path(settings.EMAIL_FILE_PATH)
        folder.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            stamp = timezone.now().strftime("%Y%m%dT%H%M%S%f")
            path = folder / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
            path.write_bytes(message.message().as_bytes(linesep="\n"))
            sent += 1
        return sent


# --- Customer email: one layout, text + HTML, in the recipient's language.

TEXT_BLANK_LINES = re.compile(r"\n[ \t]*(\n[ \t]*)+\n")


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def email_language(language: str | None) -> str:
    """`language` if the store offers it, else the default language."""
    offered = {code for code, _name in settings.LANGUAGES}
    return language if language in offered else settings.LANGUAGE_CODE


def layout_context() -> dict:
    """What the shared layout (`templates/email/base.txt` and `base.html`) shows: the store's
    name and its contact facts, from settings."""
    return {
        "store_name": settings.STORE_NAME,
        "site_url": settings.SITE_URL,
        "support_email": settings.SUPPORT_EMAIL,
        "support_phones": settings.SUPPORT_PHONE_NUMBERS,
        "support_address": settings.SUPPORT_POSTAL_ADDRESS,
        "support_url": settings.SITE_URL + reverse("support:faq"),
    }


def _tidy_text(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    # "-- " (with its space) is the signature separator mail readers know; keep it.
    lines = ["-- " if line == "--" else line for line in lines]
    return TEXT_BLANK_LINES.sub("\n\n", "\n".join(lines)) + "\n"


def render_email(
    template: str,
    context: dict,
    *,
    language: str | None,
    subject_template: str | None = None,
) -> RenderedEmail:
    """Render `<template>_subject.txt` (or `subject_template`), `<template>.txt` and
    `<template>.html` in `language`. Both bodies extend the shared layout (`email/base.txt`,
    `email/base.html`); the subject is folded onto one line."""
    language = email_language(language)
    with translation.override(language):
        full = {**layout_context(), "language_code": language, **context}
        subject = render_to_string(subject_template or f"{template}_subject.txt", full)
        subject = " ".join(subject.split())
        full["subject"] = subject
        text = render_to_string(f"{template}.txt", full)
        html = render_to_string(f"{template}.html", full)
    return RenderedEmail(subject=subject, text=_tidy_text(text), html=html.strip() + "\n")


def build_email(
    template: str,
    context: dict,
    *,
    to: list[str],
    language: str | None,
    subject_template: str | None = None,
    from_email: str | None = None,
    reply_to: list[str] | None = None,
    headers: dict[str, str] | None = None,
    connection=None,
) -> EmailMultiAlternatives:
    """The message for `render_email(...)`: the text as body, the HTML as alternative."""
    rendered = render_email(template, context, language=language, subject_template=subject_template)
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=from_email,
        to=to,
        reply_to=reply_to,
        headers=headers,
        connection=connection,
    )
    message.attach_alternative(rendered.html, "text/html")
    return message


def send_email(
    template: str, context: dict, *, to: list[str], language: str | None, **kwargs
) -> None:
    """Render and send one customer email (see `build_email`)."""
    build_email(template, context, to=to, language=language, **kwargs).send()
