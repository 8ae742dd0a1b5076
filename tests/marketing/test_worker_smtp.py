"""Integration: a real Celery worker on the local Redis sends a campaign to a real SMTP server
on loopback; the received messages are parsed and checked, and a one-click POST to the URL
from a received header unsubscribes."""

import re
import time
from urllib.parse import urlparse

import pytest
from django.test import Client

from marketing import services
from marketing.models import Campaign, CampaignStatus, Delivery, DeliveryStatus, Subscription
from tests.factories import CampaignFactory, StaffFactory, SubscriptionFactory
from tests.factories.marketing import topic

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis]


def wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_a_worker_sends_the_campaign_over_smtp_and_the_header_unsubscribes(
    celery_worker_thread, smtp_settings, settings
):
    # given five confirmed subscribers, one in Malay, and a pending one
    settings.SITE_URL = "https://shop.example.my"
    settings.MARKETING_BATCH_SIZE = 2
    subs = [SubscriptionFactory() for _ in range(4)]
    subs.append(SubscriptionFactory(subscriber__user__preferred_language="ms"))
    SubscriptionFactory(status="pending", confirmed_at=None)
    campaign = CampaignFactory()
    # when the campaign is sent now
    services.schedule_campaign(campaign, send_at=None, acting_user=StaffFactory())
    # then the worker sends all five through Redis and SMTP
    assert wait_for(lambda: Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.SENT), (
        list(Delivery.objects.values_list("status", flat=True))
    )
    messages = smtp_settings.messages()
    assert sorted(m["To"] for m in messages) == sorted(s.subscriber.user.email for s in subs)
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}
    for message in messages:
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        # (a long value is folded onto a continuation line; unfolded it is one https URI)
        assert re.fullmatch(
            r"<https://shop\.example\.my/m/u/[^>]+/>", message["List-Unsubscribe"].strip()
        )
        assert message["List-Id"].endswith("<new-products.news.ipmart.com.my>")
        assert len(message.get_all("List-Unsubscribe")) == 1
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        url = message["List-Unsubscribe"].strip()[1:-1]
        assert url in text and url in html
        assert "https://shop.example.my/m/p/" in text and "https://shop.example.my/m/p/" in html
    malay = next(m for m in messages if m["To"] == subs[-1].subscriber.user.email)
    assert malay["Subject"] == "Barangan baharu"
    # when a mail provider posts one-click to the URL in a received header
    first = messages[0]
    path = urlparse(first["List-Unsubscribe"].strip()[1:-1]).path
    response = Client(enforce_csrf_checks=True).post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    # then that recipient is unsubscribed from the topic
    assert response.status_code == 200
    subscription = Subscription.objects.get(subscriber__user__email=first["To"], topic=topic())
    assert subscription.status == "unsubscribed"
