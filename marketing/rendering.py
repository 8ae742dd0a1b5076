"""Promotional messages, rendered for one recipient: their language, their own signed links,
RFC 2369/8058 headers. Campaign bodies are templates written by staff, rendered by an engine
that can load no template and no tag library (only the built-in tags and filters)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template import Context, Engine
from django.template.loader import get_template
from django.urls import reverse
from django.utils import translation
from django.utils.safestring import mark_safe

from ipmart.core.mail import email_language, layout_context

from .models import Campaign, Subscriber, Topic
from .tokens import make_preferences_token, make_unsubscribe_token

ONE_CLICK = "List-Unsubscribe=One-Click"
_ENGINE = Engine(dirs=[], app_dirs=False, autoescape=True)


def unsubscribe_url(subscriber: Subscriber, topic: Topic) -> str:
    token = make_unsubscribe_token(subscriber.public_id, topic.code)
    return settings.SITE_URL + reverse("marketing:unsubscribe", args=[token])


def preferences_url(subscriber: Subscriber) -> str:
    token = make_preferences_token(subscriber.public_id)
    return settings.SITE_URL + reverse("marketing:preferences", args=[token])


def list_id(topic: Topic) -> str:
    name = topic.current_version.name_en if topic.current_version else topic.code
    name = name.replace('"', "'")
    return f'"IPmart: {name}" <{topic.code}.{settings.MARKETING_LIST_DOMAIN}>'


class CampaignRenderer:
    """Compiles a campaign's templates once and renders them per recipient (one batch)."""

    def __init__(self, campaign: Campaign):
        self.campaign = campaign
        self.topic = campaign.topic
        self._templates: dict[tuple[str, str], object] = {}
        self.list_id = list_id(self.topic)
        self._layout = get_template("email/campaign.html")
        self._layout_context = layout_context()

    def _template(self, kind: str, language: str):
        key = (kind, language)
        if key not in self._templates:
            source = self.campaign.part(kind, language)
            if kind != "body_html":
                source = "{% autoescape off %}" + source + "{% endautoescape %}"
            self._templates[key] = _ENGINE.from_string(source)
        return self._templates[key]

    def render(self, kind: str, language: str, context: dict) -> str:
        return self._template(kind, language).render(Context(context))

    def html(self, language: str, context: dict, subject: str) -> str:
        """The staff's HTML inside the store's email layout (brand, contact footer), unless
        they wrote a whole document."""
        body = self.render("body_html", language, context)
        if "<html" in body[:500].lower():
            return body
        language = email_language(language)
        with translation.override(language):
            return self._layout.render(
                {
                    **self._layout_context,
                    "language_code": language,
                    "subject": subject,
                    "body": mark_safe(body),  # rendered by the autoescaping engine above
                }
            )

    def message(
        self,
        subscriber: Subscriber,
        *,
        to_email: str,
        name: str,
        language: str,
        message_id: str = "",
        connection=None,
    ) -> EmailMultiAlternatives:
        context = {
            "name": name,
            "unsubscribe_url": unsubscribe_url(subscriber, self.topic),
            "preferences_url": preferences_url(subscriber),
        }
        headers = {
            "List-Unsubscribe": f"<{context['unsubscribe_url']}>",
            "List-Unsubscribe-Post": ONE_CLICK,
            "List-Id": self.list_id,
        }
        if message_id:
            headers["Message-ID"] = message_id
        if settings.MARKETING_REPLY_TO:
            headers["Reply-To"] = settings.MARKETING_REPLY_TO
        subject = " ".join(self.render("subject", language, context).split())
        message = EmailMultiAlternatives(
            subject=subject,
            body=self.render("body_text", language, context),
            from_email=settings.MARKETING_FROM_EMAIL,
            to=[to_email],
            headers=headers,
            connection=connection,
        )
        message.attach_alternative(self.html(language, context, subject), "text/html")
        return message


def delivery_message_id(campaign_id: int, delivery_id: int) -> str:
    return f"<c{campaign_id}.d{delivery_id}@{settings.MARKETING_LIST_DOMAIN}>"
