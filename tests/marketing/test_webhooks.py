"""Bounces and complaints from Mailgun through django-anymail's tracking webhook, posted in
Mailgun's own signed JSON shape (signature = HMAC-SHA256(signing key, timestamp + token))."""

import hashlib
import hmac
import json
import time
import uuid

import pytest
from django.test import Client, override_settings

from marketing.models import (
    ConsentMethod,
    ConsentRecord,
    ProviderEvent,
    Subscription,
    SubscriptionStatus,
    Suppression,
    SuppressionReason,
)
from marketing.services import is_suppressed
from tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db

SIGNING_KEY = "key-mailgun-webhook-signing-test"
URL = "/m/anymail/mailgun/tracking/"


@pytest.fixture(autouse=True)
def _mailgun(settings):
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY}


def mailgun_payload(
    event: str, recipient: str, *, severity="permanent", token=None, key=SIGNING_KEY
):
    timestamp = str(int(time.time()))
    token = token or uuid.uuid4().hex * 2
    signature = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    data = {
        "id": uuid.uuid4().hex[:22],
        "timestamp": time.time(),
        "log-level": "error" if event == "failed" else "warn",
        "event": event,
        "recipient": recipient,
        "recipient-domain": recipient.split("@")[1],
        "message": {
            "headers": {
                "to": recipient,
                "message-id": "c1.d1@news.ipmart.com.my",
                "from": "promo@news.ipmart.com.my",
                "subject": "New arrivals",
            },
            "attachments": [],
            "size": 1234,
        },
        "tags": [],
        "user-variables": {},
        "flags": {"is-routed": False, "is-authenticated": True, "is-system-test": False},
        "envelope": {"sender": "bounce@news.ipmart.com.my", "transport": "smtp"},
    }
    if event == "failed":
        data["severity"] = severity
        data["reason"] = "bounce" if severity == "permanent" else "generic"
        data["delivery-status"] = {
            "code": 550 if severity == "permanent" else 452,
            "message": "5.1.1 The email account that you tried to reach does not exist.",
            "description": "",
            "attempt-no": 1,
            "session-seconds": 0.4,
        }
    return {
        "signature": {"timestamp": timestamp, "token": token, "signature": signature},
        "event-data": data,
    }


def post(payload) -> int:
    return Client().post(URL, json.dumps(payload), content_type="application/json").status_code


def test_hard_bounce_suppresses_address():
    subscription = SubscriptionFactory()
    email = subscription.subscriber.user.email
    assert post(mailgun_payload("failed", email)) == 200
    assert is_suppressed(email)
    assert Suppression.objects.get().reason == SuppressionReason.HARD_BOUNCE
    assert Subscription.objects.get().status == SubscriptionStatus.UNSUBSCRIBED
    assert ConsentRecord.objects.get().method == ConsentMethod.BOUNCE


def test_complaint_webhook_suppresses_all_marketing():
    subscription = SubscriptionFactory()
    email = subscription.subscriber.user.email
    assert post(mailgun_payload("complained", email)) == 200
    assert Suppression.objects.get().reason == SuppressionReason.COMPLAINT
    assert ConsentRecord.objects.get().method == ConsentMethod.COMPLAINT


def test_a_soft_bounce_changes_nothing():
    subscription = SubscriptionFactory()
    assert (
        post(mailgun_payload("failed", subscription.subscriber.user.email, severity="temporary"))
        == 200
    )
    assert Suppression.objects.count() == 0
    assert Subscription.objects.get().status == SubscriptionStatus.SUBSCRIBED


def test_a_bounce_of_an_address_with_no_account_is_suppressed_too():
    assert post(mailgun_payload("failed", "stranger@example.net")) == 200
    assert is_suppressed("Stranger@Example.net ")


def test_webhook_event_idempotent():
    subscription = SubscriptionFactory()
    payload = mailgun_payload("complained", subscription.subscriber.user.email)
    assert post(payload) == 200
    assert post(payload) == 200
    assert ProviderEvent.objects.count() == 1
    assert ConsentRecord.objects.count() == 1


@pytest.mark.parametrize("kind", ["wrong-key", "tampered"])
def test_a_badly_signed_webhook_is_refused_and_changes_nothing(kind):
    subscription = SubscriptionFactory()
    email = subscription.subscriber.user.email
    if kind == "wrong-key":
        payload = mailgun_payload("complained", email, key="not-the-key")
    else:
        payload = mailgun_payload("complained", "someone-else@example.com")
        payload["event-data"]["recipient"] = email
        payload["signature"]["timestamp"] = str(int(payload["signature"]["timestamp"]) + 1)
    assert post(payload) == 400
    assert Suppression.objects.count() == 0
    assert ConsentRecord.objects.count() == 0


@override_settings(ANYMAIL={})
def test_without_a_signing_key_the_webhook_refuses_everything():
    subscription = SubscriptionFactory()
    with pytest.raises(Exception, match="MAILGUN_WEBHOOK_SIGNING_KEY"):
        post(mailgun_payload("complained", subscription.subscriber.user.email, key=""))
    assert Suppression.objects.count() == 0
