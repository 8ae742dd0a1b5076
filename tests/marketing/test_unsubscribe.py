"""The RFC 8058 one-click endpoint and the signed tokens behind it."""

import base64
import json
import time
from unittest import mock

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from marketing.models import (
    ConsentAction,
    ConsentMethod,
    ConsentRecord,
    Subscription,
    SubscriptionStatus,
)
from marketing.tokens import (
    make_confirm_token,
    make_preferences_token,
    make_unsubscribe_token,
)
from tests.factories import SubscriptionFactory
from tests.factories.marketing import topic

pytestmark = pytest.mark.django_db


def url_for(subscription) -> str:
    token = make_unsubscribe_token(subscription.subscriber.public_id, subscription.topic.code)
    return reverse("marketing:unsubscribe", args=[token])


def anonymous() -> Client:
    """A mail provider: no cookies, no session, CSRF enforced."""
    return Client(enforce_csrf_checks=True)


def status_of(subscription) -> str:
    return Subscription.objects.get(pk=subscription.pk).status


def test_one_click_post_urlencoded_unsubscribes_without_session():
    # given
    subscription = SubscriptionFactory()
    # when
    response = anonymous().post(
        url_for(subscription),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
        REMOTE_ADDR="192.0.2.44",
    )
    # then
    assert response.status_code == 200
    assert "Location" not in response
    assert status_of(subscription) == SubscriptionStatus.UNSUBSCRIBED
    record = ConsentRecord.objects.get()
    assert (record.action, record.method, record.ip_address, record.topic) == (
        ConsentAction.WITHDRAWN,
        ConsentMethod.ONE_CLICK,
        "192.0.2.44",
        subscription.topic,
    )
    assert record.method == "list_unsubscribe_post"


def test_one_click_post_multipart_also_works():
    subscription = SubscriptionFactory()
    response = anonymous().post(url_for(subscription), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert status_of(subscription) == SubscriptionStatus.UNSUBSCRIBED
    assert ConsentRecord.objects.get().method == ConsentMethod.ONE_CLICK


def test_one_click_post_is_idempotent():
    subscription = SubscriptionFactory()
    client = anonymous()
    client.post(url_for(subscription), {"List-Unsubscribe": "One-Click"})
    again = client.post(url_for(subscription), {"List-Unsubscribe": "One-Click"})
    assert again.status_code == 200
    assert ConsentRecord.objects.count() == 1


def test_the_pages_own_button_unsubscribes_as_a_footer_link():
    subscription = SubscriptionFactory()
    response = anonymous().post(url_for(subscription), {})
    assert response.status_code == 200
    assert ConsentRecord.objects.get().method == ConsentMethod.FOOTER_LINK


def test_get_and_head_do_not_mutate_and_show_one_button_and_the_preferences_link():
    # given
    subscription = SubscriptionFactory()
    # when a link scanner fetches the URL
    page = anonymous().get(url_for(subscription))
    head = anonymous().head(url_for(subscription))
    # then
    assert page.status_code == 200 and head.status_code == 200
    html = page.content.decode().split('<main id="main"')[1].split("</main>")[0]
    assert html.count("<button") == 1
    assert "/m/p/" in html
    assert status_of(subscription) == SubscriptionStatus.SUBSCRIBED
    assert ConsentRecord.objects.count() == 0


@pytest.mark.parametrize("kind", ["tampered", "preferences-token", "confirm-token", "garbage"])
def test_tampered_or_wrong_salt_token_rejected(kind):
    # given
    subscription = SubscriptionFactory()
    public_id = subscription.subscriber.public_id
    good = make_unsubscribe_token(public_id, "new-products")
    token = {
        "tampered": good[:-3] + ("abc" if not good.endswith("abc") else "xyz"),
        "preferences-token": make_preferences_token(public_id),
        "confirm-token": make_confirm_token(public_id, ["new-products"]),
        "garbage": "nothing-signed-here",
    }[kind]
    # when
    post = anonymous().post(f"/m/u/{token}/", {"List-Unsubscribe": "One-Click"})
    get = anonymous().get(f"/m/u/{token}/")
    # then
    assert post.status_code == 400 and get.status_code == 400
    assert status_of(subscription) == SubscriptionStatus.SUBSCRIBED
    assert ConsentRecord.objects.count() == 0


def test_a_token_naming_another_topic_cannot_be_forged_from_a_real_one():
    # given a real token for one topic, with its payload rewritten to name another
    subscription = SubscriptionFactory()
    other = SubscriptionFactory(subscriber=subscription.subscriber, topic=topic("special-offers"))
    good = make_unsubscribe_token(subscription.subscriber.public_id, "new-products")
    payload, signature = good.rsplit(":", 1)
    forged_payload = (
        base64.urlsafe_b64encode(
            json.dumps(
                {"s": subscription.subscriber.public_id.hex, "t": "special-offers"},
                separators=(",", ":"),
            ).encode()
        )
        .decode()
        .rstrip("=")
    )
    # when
    response = anonymous().post(f"/m/u/{forged_payload}:{signature}/", {})
    # then
    assert payload != forged_payload
    assert response.status_code == 400
    assert status_of(other) == SubscriptionStatus.SUBSCRIBED


def test_token_signed_with_previous_key_still_works():
    # given a link made before the key was rotated
    subscription = SubscriptionFactory()
    with override_settings(MARKETING_SIGNING_KEY="old-marketing-key"):
        path = url_for(subscription)
    # when
    with override_settings(
        MARKETING_SIGNING_KEY="new-marketing-key", MARKETING_SIGNING_FALLBACKS=["old-marketing-key"]
    ):
        response = anonymous().post(path, {"List-Unsubscribe": "One-Click"})
    # then
    assert response.status_code == 200
    assert status_of(subscription) == SubscriptionStatus.UNSUBSCRIBED


def test_a_token_signed_with_a_key_no_longer_listed_is_refused():
    subscription = SubscriptionFactory()
    with override_settings(MARKETING_SIGNING_KEY="retired-key"):
        path = url_for(subscription)
    with override_settings(MARKETING_SIGNING_KEY="new-key", MARKETING_SIGNING_FALLBACKS=[]):
        response = anonymous().post(path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 400
    assert status_of(subscription) == SubscriptionStatus.SUBSCRIBED


def test_unsubscribe_token_does_not_expire():
    # given a link from an old email
    subscription = SubscriptionFactory()
    path = url_for(subscription)
    # when it is used 400 days later
    later = time.time() + 400 * 86400
    with mock.patch("time.time", return_value=later):
        response = anonymous().post(path, {"List-Unsubscribe": "One-Click"})
    # then
    assert response.status_code == 200
    assert status_of(subscription) == SubscriptionStatus.UNSUBSCRIBED


def test_unsubscribe_url_does_not_leak_email_or_name():
    subscription = SubscriptionFactory()
    user = subscription.subscriber.user
    token = url_for(subscription).split("/")[3]
    payload = token.split(":")[0]
    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    for secret in (user.email, user.email.split("@")[0], user.full_name):
        assert secret not in token
        assert secret not in decoded
    # the payload is exactly the opaque public id and the topic (no primary key either)
    assert json.loads(decoded) == {
        "s": subscription.subscriber.public_id.hex,
        "t": "new-products",
    }
    assert len(url_for(subscription)) < 200


def test_header_unsubscribe_scopes_to_campaign_topic_and_page_offers_all():
    # given two topics
    subscription = SubscriptionFactory()
    other = SubscriptionFactory(subscriber=subscription.subscriber, topic=topic("special-offers"))
    # when the one-click URL of the first is posted
    page = anonymous().get(url_for(subscription))
    anonymous().post(url_for(subscription), {"List-Unsubscribe": "One-Click"})
    # then only that topic is off, and the page links to the preference centre (for "all")
    assert status_of(subscription) == SubscriptionStatus.UNSUBSCRIBED
    assert status_of(other) == SubscriptionStatus.SUBSCRIBED
    prefs_path = "/m/p/" + page.content.decode().split('href="/m/p/')[1].split('"')[0]
    prefs = anonymous().get(prefs_path)
    assert prefs.status_code == 200
    assert "Unsubscribe from everything" in prefs.content.decode()
