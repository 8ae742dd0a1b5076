"""Consent: unticked topic boxes at signup, double opt-in by a POST from the confirmation page,
the ledger row of every change with the exact text version, and topic wording versions."""

import re

import pytest
from django.core import mail
from django.utils.html import escape

from accounts.models import User
from marketing import services
from marketing.models import (
    ConsentAction,
    ConsentMethod,
    ConsentRecord,
    Subscription,
    SubscriptionStatus,
    Topic,
    TopicVersion,
)
from marketing.tokens import make_preferences_token, make_unsubscribe_token
from privacy.services import get_current_policy
from tests.factories import SubscriberFactory
from tests.factories.marketing import topic

pytestmark = pytest.mark.django_db

PASSWORD = "a long and unusual passphrase"
CONFIRM_LINK = re.compile(r"http://127\.0\.0\.1:8000(/m/confirm/[^/\s]+/)")


def signup(client, **ticks):
    data = {
        "full_name": "Nurul Aina",
        "email": "nurul@example.com",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "accept_privacy_policy": "on",
        "policy_id": get_current_policy().pk,
        **ticks,
    }
    return client.post("/accounts/signup/", data, REMOTE_ADDR="203.0.113.7")


def marketing_mails():
    return [m for m in mail.outbox if "confirm your email subscription" in m.subject]


def test_the_signup_page_shows_one_unticked_box_per_topic_in_the_visitors_language(client):
    # when
    english = client.get("/accounts/signup/").content.decode()
    malay = client.get("/accounts/signup/", HTTP_ACCEPT_LANGUAGE="ms").content.decode()
    # then every offered topic has its box, none ticked
    boxes = re.findall(r'<input type="checkbox" name="topic_[^"]+"[^>]*>', english)
    assert len(boxes) == Topic.objects.filter(is_active=True).count() == 4
    assert all("checked" not in box for box in boxes)
    assert escape(topic("special-offers").current_version.consent_text_en) in english
    assert escape(topic("special-offers").current_version.consent_text_ms) in malay


def test_signup_without_ticks_creates_no_subscription_and_no_marketing_email(
    client, django_capture_on_commit_callbacks
):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = signup(client)
    # then
    assert response.status_code == 302
    assert Subscription.objects.count() == 0
    assert ConsentRecord.objects.count() == 0
    assert marketing_mails() == []


def test_ticking_two_topics_makes_them_pending_records_the_grant_and_sends_one_confirmation(
    client, django_capture_on_commit_callbacks
):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        signup(client, **{"topic_new-products": "on", "topic_contests-events": "on"})
    # then
    user = User.objects.get(email="nurul@example.com")
    subscriptions = Subscription.objects.filter(subscriber__user=user).order_by("topic__code")
    assert [(s.topic.code, s.status) for s in subscriptions] == [
        ("contests-events", SubscriptionStatus.PENDING),
        ("new-products", SubscriptionStatus.PENDING),
    ]
    records = ConsentRecord.objects.order_by("topic__code")
    version = topic("new-products").current_version
    assert [(r.topic.code, r.action, r.method, r.ip_address) for r in records] == [
        ("contests-events", ConsentAction.GRANTED, ConsentMethod.SIGNUP, "203.0.113.7"),
        ("new-products", ConsentAction.GRANTED, ConsentMethod.SIGNUP, "203.0.113.7"),
    ]
    assert records[1].version == version
    assert records[1].text_hash == version.content_hash
    assert records[1].subscriber.user == user
    confirmations = marketing_mails()
    assert len(confirmations) == 1
    assert confirmations[0].to == ["nurul@example.com"]
    assert "List-Unsubscribe" not in confirmations[0].extra_headers  # transactional


def test_the_confirmation_link_confirms_only_on_post(client, django_capture_on_commit_callbacks):
    # given
    with django_capture_on_commit_callbacks(execute=True):
        signup(client, **{"topic_new-products": "on"})
    path = CONFIRM_LINK.search(marketing_mails()[0].body).group(1)
    # when a link scanner fetches the link
    page = client.get(path)
    head = client.head(path)
    # then nothing changed
    assert page.status_code == 200 and head.status_code == 200
    assert Subscription.objects.get().status == SubscriptionStatus.PENDING
    assert '<form method="post"' in page.content.decode()
    # when the person presses the button
    done = client.post(path, REMOTE_ADDR="198.51.100.4")
    # then
    assert done.status_code == 200
    subscription = Subscription.objects.get()
    assert subscription.status == SubscriptionStatus.SUBSCRIBED
    confirmed = ConsentRecord.objects.get(action=ConsentAction.CONFIRMED)
    assert (confirmed.method, confirmed.ip_address) == (
        ConsentMethod.EMAIL_CONFIRMATION,
        "198.51.100.4",
    )
    # and a second POST changes nothing more
    client.post(path)
    assert ConsentRecord.objects.filter(action=ConsentAction.CONFIRMED).count() == 1


@pytest.mark.parametrize("kind", ["tampered", "unsubscribe-token", "preferences-token"])
def test_a_bad_confirmation_token_is_refused_and_changes_nothing(client, kind):
    # given a pending subscription
    subscriber = SubscriberFactory()
    services.request_subscriptions(subscriber.user, topics=[topic()], method=ConsentMethod.SIGNUP)
    from marketing.tokens import make_confirm_token

    token = {
        "tampered": make_confirm_token(subscriber.public_id, ["new-products"])[:-2] + "xx",
        "unsubscribe-token": make_unsubscribe_token(subscriber.public_id, "new-products"),
        "preferences-token": make_preferences_token(subscriber.public_id),
    }[kind]
    before = ConsentRecord.objects.count()
    # when
    response = client.post(f"/m/confirm/{token}/")
    # then
    assert response.status_code == 400
    assert Subscription.objects.get().status == SubscriptionStatus.PENDING
    assert ConsentRecord.objects.count() == before


def test_a_topic_withdrawn_before_confirming_stays_withdrawn():
    # given
    subscriber = SubscriberFactory()
    services.request_subscriptions(subscriber.user, topics=[topic()], method=ConsentMethod.SIGNUP)
    services.unsubscribe_topic(subscriber, topic=topic(), method=ConsentMethod.PREFERENCE_CENTRE)
    # when
    confirmed = services.confirm_subscriptions(subscriber, topic_codes=["new-products"])
    # then
    assert confirmed == []
    assert Subscription.objects.get().status == SubscriptionStatus.UNSUBSCRIBED


def test_changing_a_topics_wording_makes_a_new_hashed_version_and_keeps_old_consents():
    # given a consent given to version 1
    subscriber = SubscriberFactory()
    services.request_subscriptions(subscriber.user, topics=[topic()], method=ConsentMethod.SIGNUP)
    first = topic().current_version
    # when the wording changes
    changed = services.save_topic(
        topic(),
        code="new-products",
        position=0,
        is_active=True,
        name_en=first.name_en,
        name_ms=first.name_ms,
        consent_text_en="Email me about new products.",
        consent_text_ms="Hantarkan e-mel kepada saya tentang produk baharu.",
    )
    # then
    second = changed.current_version
    assert second.number == 2
    assert second.content_hash != first.content_hash
    assert len(second.content_hash) == 64
    assert ConsentRecord.objects.get().version == first
    # and saving the same words again adds no version
    services.save_topic(
        changed,
        code="new-products",
        position=0,
        is_active=True,
        name_en=first.name_en,
        name_ms=first.name_ms,
        consent_text_en="Email me about new products.",
        consent_text_ms="Hantarkan e-mel kepada saya tentang produk baharu.",
    )
    assert TopicVersion.objects.filter(topic__code="new-products").count() == 2


def test_every_topic_has_consent_text_in_english_and_malay():
    for version in TopicVersion.objects.all():
        assert version.consent_text_en.strip() and version.consent_text_ms.strip()
        assert version.consent_text_en != version.consent_text_ms
