import factory
from django.utils import timezone

from marketing.models import Campaign, Subscriber, Subscription, SubscriptionStatus, Topic

from .accounts import UserFactory

TEXT_EN = "Hello {{ name }},\n\nNew arrivals this week.\n\nUnsubscribe: {{ unsubscribe_url }}\nPreferences: {{ preferences_url }}\n"
TEXT_MS = "Hai {{ name }},\n\nBarangan baharu minggu ini.\n\nBerhenti langgan: {{ unsubscribe_url }}\nKeutamaan: {{ preferences_url }}\n"
HTML_EN = '<p>Hello {{ name }},</p><p>New arrivals this week.</p><p><a href="{{ unsubscribe_url }}">Unsubscribe</a> · <a href="{{ preferences_url }}">Preferences</a></p>'
HTML_MS = '<p>Hai {{ name }},</p><p>Barangan baharu minggu ini.</p><p><a href="{{ unsubscribe_url }}">Berhenti langgan</a> · <a href="{{ preferences_url }}">Keutamaan</a></p>'


def topic(code: str = "new-products") -> Topic:
    """One of the topics seeded by the migration."""
    return Topic.objects.select_related("current_version").get(code=code)


class SubscriberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscriber

    user = factory.SubFactory(UserFactory)


class SubscriptionFactory(factory.django.DjangoModelFactory):
    """A confirmed subscription to the seeded "new-products" topic."""

    class Meta:
        model = Subscription

    subscriber = factory.SubFactory(SubscriberFactory)
    topic = factory.LazyFunction(topic)
    status = SubscriptionStatus.SUBSCRIBED
    version = factory.LazyAttribute(lambda o: o.topic.current_version)
    confirmed_at = factory.LazyFunction(timezone.now)


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")
    topic = factory.LazyFunction(topic)
    subject_en = "New arrivals"
    subject_ms = "Barangan baharu"
    body_text_en = TEXT_EN
    body_text_ms = TEXT_MS
    body_html_en = HTML_EN
    body_html_ms = HTML_MS
