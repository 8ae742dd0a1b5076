"""Transactional email of marketing: the double opt-in confirmation. Transactional, so it
carries no List-* headers and comes from the store's ordinary address."""

from django.conf import settings
from django.urls import reverse

from ipmart.core.mail import send_email

from .models import Subscriber, Topic
from .tokens import make_confirm_token


def send_confirmation_email(subscriber_id: int, topic_codes: list[str]) -> None:
    subscriber = Subscriber.objects.select_related("user").filter(pk=subscriber_id).first()
    if subscriber is None or subscriber.user is None:
        return  # closed since: nothing to confirm
    user = subscriber.user
    topics = list(Topic.objects.filter(code__in=topic_codes).select_related("current_version"))
    token = make_confirm_token(subscriber.public_id, [t.code for t in topics])
    language = getattr(user, "preferred_language", "en")
    context = {
        "confirm_url": settings.SITE_URL + reverse("marketing:confirm", args=[token]),
        "topics": [t.name_for(language) for t in topics],
    }
    send_email("marketing/email/confirm", context, to=[user.email], language=language)
