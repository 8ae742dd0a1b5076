"""Sending a campaign: headers and links every promotional email carries, the send-time
re-check, claims that make a second run send nothing, cancellation, stuck rows."""

import datetime
import re
import smtplib

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from ipmart.core.models import OutboxMessage
from marketing import sending, services
from marketing.models import (
    CampaignStatus,
    ConsentMethod,
    Delivery,
    DeliveryStatus,
    SubscriptionStatus,
    SuppressionReason,
)
from tests.factories import CampaignFactory, StaffFactory, SubscriptionFactory, UserFactory
from tests.factories.marketing import topic

pytestmark = pytest.mark.django_db

SITE = "https://shop.example.my"
LIST_UNSUBSCRIBE = re.compile(r"^<https://[^>]+>(, <mailto:[^>]+>)?$")


@pytest.fixture(autouse=True)
def _https_site(settings):
    settings.SITE_URL = SITE
    settings.MARKETING_FROM_EMAIL = "IPmart <promo@news.shop.example.my>"
    settings.MARKETING_LIST_DOMAIN = "news.shop.example.my"


def start(campaign, capture):
    """Schedule for now and run what the outbox relays (audience, batches)."""
    with capture(execute=True):
        services.schedule_campaign(campaign, send_at=None, acting_user=StaffFactory())
    campaign.refresh_from_db()
    return campaign


def deliveries(campaign):
    return sorted(
        Delivery.objects.filter(campaign=campaign).values_list(
            "subscriber__user__email", "status", "skip_reason"
        )
    )


def test_every_confirmed_subscriber_gets_one_email_with_the_compliance_headers(
    django_capture_on_commit_callbacks,
):
    # given two confirmed subscribers
    first, second = SubscriptionFactory(), SubscriptionFactory()
    campaign = CampaignFactory()
    # when
    start(campaign, django_capture_on_commit_callbacks)
    # then
    assert campaign.status == CampaignStatus.SENT
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [first.subscriber.user.email, second.subscriber.user.email]
    )
    for message in mail.outbox:
        headers = message.extra_headers
        # test_marketing_message_has_exact_list_unsubscribe_post
        assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        # test_list_unsubscribe_has_exactly_one_https_uri
        assert LIST_UNSUBSCRIBE.match(headers["List-Unsubscribe"])
        assert headers["List-Unsubscribe"].count("https://") == 1
        # test_list_id_header_per_topic
        assert headers["List-Id"].endswith("<new-products.news.shop.example.my>")
        # test_marketing_from_is_store_marketing_address
        assert message.from_email == "IPmart <promo@news.shop.example.my>"
        # test_one_recipient_per_message_no_bcc
        assert len(message.to) == 1 and message.bcc == [] and message.cc == []
        # test_body_has_visible_unsubscribe_and_preferences_links (text and HTML)
        url = headers["List-Unsubscribe"][1:-1]
        html = message.alternatives[0][0]
        assert url in message.body and url in html
        assert f"{SITE}/m/p/" in message.body and f"{SITE}/m/p/" in html
        assert message.extra_headers["Message-ID"].endswith("@news.shop.example.my>")
        # the message serialises with the headers exactly once
        raw = message.message().as_string()
        assert raw.count("List-Unsubscribe:") == 1 and raw.count("List-Unsubscribe-Post:") == 1
    assert deliveries(campaign) == sorted(
        [(s.subscriber.user.email, DeliveryStatus.SENT, "") for s in (first, second)]
    )


def test_each_recipient_gets_own_token_language_and_rendering(django_capture_on_commit_callbacks):
    # given an English and a Malay subscriber
    english = SubscriptionFactory(subscriber__user__full_name="Aina Binti Ali")
    malay = SubscriptionFactory(
        subscriber__user__full_name="Farid Ahmad", subscriber__user__preferred_language="ms"
    )
    # when
    start(CampaignFactory(), django_capture_on_commit_callbacks)
    # then
    by_to = {m.to[0]: m for m in mail.outbox}
    to_english = by_to[english.subscriber.user.email]
    to_malay = by_to[malay.subscriber.user.email]
    assert to_english.subject == "New arrivals" and "Hello Aina" in to_english.body
    assert to_malay.subject == "Barangan baharu" and "Hai Farid" in to_malay.body
    assert "Farid" not in to_english.body and "Aina" not in to_malay.body
    assert (
        to_english.extra_headers["List-Unsubscribe"] != to_malay.extra_headers["List-Unsubscribe"]
    )


def test_transactional_message_has_no_list_headers(client, django_capture_on_commit_callbacks):
    # the double opt-in email (and allauth's verification email) carry no List-* headers
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        services.request_subscriptions(user, topics=[topic()], method=ConsentMethod.SIGNUP)
    client.post("/accounts/password/reset/", {"email": user.email})
    assert len(mail.outbox) == 2
    for message in mail.outbox:
        assert not any(h.lower().startswith("list-") for h in message.extra_headers)
        assert "List-" not in message.message().as_string()


def test_pending_double_opt_in_receives_no_campaign(django_capture_on_commit_callbacks):
    pending = SubscriptionFactory(status=SubscriptionStatus.PENDING, confirmed_at=None)
    confirmed = SubscriptionFactory()
    start(CampaignFactory(), django_capture_on_commit_callbacks)
    assert [m.to for m in mail.outbox] == [[confirmed.subscriber.user.email]]
    assert not Delivery.objects.filter(subscriber=pending.subscriber).exists()


def _queue(campaign, capture):
    """Start the campaign but keep its batches in the outbox (not run yet)."""
    with capture(execute=False):
        services.schedule_campaign(campaign, send_at=None, acting_user=StaffFactory())
    sending.take_audience(campaign.pk)  # the audience is taken: rows queued, batches enqueued


def test_unsubscribe_after_queue_before_send_is_honoured(django_capture_on_commit_callbacks):
    # given a campaign whose batch is queued
    leaving, staying = SubscriptionFactory(), SubscriptionFactory()
    campaign = CampaignFactory()
    _queue(campaign, django_capture_on_commit_callbacks)
    assert Delivery.objects.filter(status=DeliveryStatus.QUEUED).count() == 2
    # when one of them unsubscribes before the batch runs
    services.unsubscribe_topic(leaving.subscriber, topic=topic(), method=ConsentMethod.ONE_CLICK)
    low, high = sorted([leaving.subscriber_id, staying.subscriber_id])
    sending.send_batch(campaign.pk, low, high)
    # then
    assert [m.to for m in mail.outbox] == [[staying.subscriber.user.email]]
    assert deliveries(campaign) == sorted(
        [
            (leaving.subscriber.user.email, DeliveryStatus.SKIPPED, "unsubscribed"),
            (staying.subscriber.user.email, DeliveryStatus.SENT, ""),
        ]
    )


@pytest.mark.parametrize(
    "reason", [SuppressionReason.HARD_BOUNCE, SuppressionReason.COMPLAINT, "unsubscribed_all"]
)
def test_a_suppressed_address_is_skipped_at_send_time(django_capture_on_commit_callbacks, reason):
    subscription = SubscriptionFactory()
    campaign = CampaignFactory()
    _queue(campaign, django_capture_on_commit_callbacks)
    services.suppress_email(subscription.subscriber.user.email.upper(), reason=reason)
    sending.send_batch(campaign.pk, subscription.subscriber_id, subscription.subscriber_id)
    assert mail.outbox == []
    assert deliveries(campaign) == [
        (subscription.subscriber.user.email, DeliveryStatus.SKIPPED, "suppressed")
    ]


def test_a_closed_account_is_skipped_at_send_time(django_capture_on_commit_callbacks):
    subscription = SubscriptionFactory()
    campaign = CampaignFactory()
    _queue(campaign, django_capture_on_commit_callbacks)
    user = subscription.subscriber.user
    user.is_active = False
    user.save()
    sending.send_batch(campaign.pk, subscription.subscriber_id, subscription.subscriber_id)
    assert mail.outbox == []
    assert Delivery.objects.get().skip_reason == "account closed"


def test_duplicate_task_execution_sends_once(django_capture_on_commit_callbacks):
    # given a queued batch
    subscription = SubscriptionFactory()
    campaign = CampaignFactory()
    _queue(campaign, django_capture_on_commit_callbacks)
    sid = subscription.subscriber_id
    # when the batch task runs twice (a redelivery)
    first = sending.send_batch(campaign.pk, sid, sid)
    second = sending.send_batch(campaign.pk, sid, sid)
    # then one email
    assert (first["sent"], second["sent"]) == (1, 0)
    assert len(mail.outbox) == 1
    # and taking the audience again adds no second row (unique (campaign, recipient))
    sending.take_audience(campaign.pk)
    assert Delivery.objects.filter(campaign=campaign).count() == 1


def test_the_database_refuses_a_second_delivery_row_for_the_same_recipient():
    from django.db import IntegrityError, transaction

    subscription = SubscriptionFactory()
    campaign = CampaignFactory()
    Delivery.objects.create(campaign=campaign, subscriber=subscription.subscriber)
    with pytest.raises(IntegrityError), transaction.atomic():
        Delivery.objects.create(campaign=campaign, subscriber=subscription.subscriber)


def test_cancelled_campaign_sends_nothing_after_cancel(django_capture_on_commit_callbacks):
    subscription = SubscriptionFactory()
    campaign = CampaignFactory()
    _queue(campaign, django_capture_on_commit_callbacks)
    services.cancel_campaign(campaign, acting_user=StaffFactory())
    sending.send_batch(campaign.pk, subscription.subscriber_id, subscription.subscriber_id)
    assert mail.outbox == []
    assert deliveries(campaign) == [
        (subscription.subscriber.user.email, DeliveryStatus.SKIPPED, "cancelled")
    ]
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.CANCELLED


def test_stuck_sending_rows_become_unknown_not_resent(django_capture_on_commit_callbacks):
    # given a delivery a dead worker claimed 20 minutes ago
    subscription = SubscriptionFactory()
    campaign = CampaignFactory()
    _queue(campaign, django_capture_on_commit_callbacks)
    Delivery.objects.update(
        status=DeliveryStatus.SENDING,
        claimed_at=timezone.now() - datetime.timedelta(minutes=20),
    )
    # when the reaper runs, and the batch is redelivered
    assert services.mark_stuck_deliveries() == 1
    sending.send_batch(campaign.pk, subscription.subscriber_id, subscription.subscriber_id)
    # then
    assert mail.outbox == []
    assert Delivery.objects.get().status == DeliveryStatus.UNKNOWN
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT


def test_a_recent_claim_is_not_reaped(django_capture_on_commit_callbacks):
    SubscriptionFactory()
    campaign = CampaignFactory()
    _queue(campaign, django_capture_on_commit_callbacks)
    Delivery.objects.update(status=DeliveryStatus.SENDING, claimed_at=timezone.now())
    assert services.mark_stuck_deliveries() == 0


class FlakyBackend:
    """An SMTP connection whose server answers 451 (try later) to the first message."""

    calls = 0

    def __init__(self, *args, **kwargs):
        pass

    def open(self):
        return False

    def send_messages(self, messages):
        FlakyBackend.calls += 1
        if FlakyBackend.calls == 1:
            raise smtplib.SMTPDataError(451, b"4.3.0 try again later")
        mail.outbox.extend(messages)
        return len(messages)

    def close(self):
        pass


def test_a_temporary_smtp_error_puts_the_row_back_and_the_retry_sends_it(
    django_capture_on_commit_callbacks,
):
    subscription = SubscriptionFactory()
    campaign = CampaignFactory()
    _queue(campaign, django_capture_on_commit_callbacks)
    sid = subscription.subscriber_id
    FlakyBackend.calls = 0
    with override_settings(MARKETING_EMAIL_BACKEND="tests.marketing.test_sending.FlakyBackend"):
        with pytest.raises(sending.TransientSendError):
            sending.send_batch(campaign.pk, sid, sid)
        assert Delivery.objects.get().status == DeliveryStatus.QUEUED
        sending.send_batch(campaign.pk, sid, sid)
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SENT, 2)
    assert len(mail.outbox) == 1


class RefusingBackend(FlakyBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPRecipientsRefused({messages[0].to[0]: (550, b"no such user")})


def test_a_permanent_refusal_fails_the_row_and_the_batch_goes_on(
    django_capture_on_commit_callbacks,
):
    subscription = SubscriptionFactory()
    campaign = CampaignFactory()
    _queue(campaign, django_capture_on_commit_callbacks)
    sid = subscription.subscriber_id
    with override_settings(MARKETING_EMAIL_BACKEND="tests.marketing.test_sending.RefusingBackend"):
        counts = sending.send_batch(campaign.pk, sid, sid)
    assert counts == {"sent": 0, "skipped": 0, "failed": 1}
    assert Delivery.objects.get().status == DeliveryStatus.FAILED


def test_campaign_without_unsubscribe_placeholder_cannot_be_scheduled():
    for part in ("body_text_en", "body_html_ms"):
        campaign = CampaignFactory(**{part: "Buy now! {{ preferences_url }}"})
        with pytest.raises(services.CampaignError, match=f"{part}: unsubscribe_url"):
            services.schedule_campaign(campaign, send_at=None, acting_user=StaffFactory())
        campaign.refresh_from_db()
        assert campaign.status == CampaignStatus.DRAFT
    assert OutboxMessage.objects.count() == 0


def test_campaign_without_preferences_placeholder_cannot_be_scheduled():
    campaign = CampaignFactory(body_text_ms="Beli sekarang {{ unsubscribe_url }}")
    with pytest.raises(services.CampaignError, match="body_text_ms: preferences_url"):
        services.schedule_campaign(campaign, send_at=None, acting_user=StaffFactory())


def test_tasks_enqueued_on_commit_only(django_capture_on_commit_callbacks):
    # given
    SubscriptionFactory()
    campaign = CampaignFactory()
    # when scheduled, nothing runs before the commit
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.schedule_campaign(campaign, send_at=None, acting_user=StaffFactory())
    assert len(callbacks) == 1
    assert list(OutboxMessage.objects.values_list("handler", "args")) == [
        ("marketing.tasks.take_audience", [campaign.pk])
    ]
    assert Delivery.objects.count() == 0 and mail.outbox == []


def test_a_campaign_scheduled_later_starts_when_its_time_comes(django_capture_on_commit_callbacks):
    SubscriptionFactory()
    campaign = CampaignFactory()
    later = timezone.now() + datetime.timedelta(hours=2)
    services.schedule_campaign(campaign, send_at=later, acting_user=StaffFactory())
    assert services.start_due_campaigns() == []
    with django_capture_on_commit_callbacks(execute=True):
        started = services.start_due_campaigns(now=later + datetime.timedelta(seconds=1))
    assert started == [campaign.pk]
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    assert len(mail.outbox) == 1


def test_batches_follow_the_batch_size(django_capture_on_commit_callbacks, settings):
    settings.MARKETING_BATCH_SIZE = 2
    for _ in range(5):
        SubscriptionFactory()
    campaign = CampaignFactory()
    start(campaign, django_capture_on_commit_callbacks)
    batches = OutboxMessage.objects.filter(handler="marketing.tasks.send_batch")
    assert batches.count() == 3
    assert len(mail.outbox) == 5
