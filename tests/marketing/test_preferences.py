"""The preference centre: in /account/ when signed in, and through the signed link in every
promotional email without signing in."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from marketing import services
from marketing.models import (
    ConsentAction,
    ConsentMethod,
    ConsentRecord,
    Subscription,
    SubscriptionStatus,
    SuppressionReason,
)
from marketing.tokens import make_preferences_token, make_unsubscribe_token
from tests.factories import StaffFactory, SubscriberFactory, SubscriptionFactory, UserFactory
from tests.factories.marketing import topic

pytestmark = pytest.mark.django_db

ACCOUNT_URL = "/account/marketing/"


def link(subscriber) -> str:
    return reverse("marketing:preferences", args=[make_preferences_token(subscriber.public_id)])


def statuses(subscriber) -> dict[str, str]:
    return dict(
        Subscription.objects.filter(subscriber=subscriber).values_list("topic__code", "status")
    )


# --- in /account/


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(ACCOUNT_URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_account_page_shows_the_boxes_as_they_stand(client):
    subscription = SubscriptionFactory()
    client.force_login(subscription.subscriber.user)
    html = client.get(ACCOUNT_URL).content.decode()
    assert re.search(r'<input type="checkbox" name="topic_new-products"[^>]*checked', html)
    assert not re.search(r'<input type="checkbox" name="topic_special-offers"[^>]*checked', html)


def test_withdrawal_as_easy_as_grant(client):
    # given a signed-in subscriber
    subscription = SubscriptionFactory()
    client.force_login(subscription.subscriber.user)
    # when one POST turns the topic off
    response = client.post(ACCOUNT_URL, {}, REMOTE_ADDR="192.0.2.9")
    # then it is off at once, with its ledger row
    assert response.status_code == 302
    assert statuses(subscription.subscriber) == {"new-products": SubscriptionStatus.UNSUBSCRIBED}
    record = ConsentRecord.objects.get()
    assert (record.action, record.method, record.ip_address) == (
        ConsentAction.WITHDRAWN,
        ConsentMethod.PREFERENCE_CENTRE,
        "192.0.2.9",
    )


def test_a_signed_in_customer_turns_a_topic_on_at_once(client):
    user = UserFactory()
    client.force_login(user)
    client.post(ACCOUNT_URL, {"topic_special-offers": "on"})
    subscriber = user.marketing_subscriber
    assert statuses(subscriber) == {"special-offers": SubscriptionStatus.SUBSCRIBED}
    assert ConsentRecord.objects.get().action == ConsentAction.CONFIRMED


def test_unsubscribe_from_everything_in_the_account_suppresses_the_address(client):
    subscription = SubscriptionFactory()
    SubscriptionFactory(subscriber=subscription.subscriber, topic=topic("special-offers"))
    client.force_login(subscription.subscriber.user)
    client.post(ACCOUNT_URL, {"unsubscribe_all": "1"})
    assert set(statuses(subscription.subscriber).values()) == {SubscriptionStatus.UNSUBSCRIBED}
    assert services.is_suppressed(subscription.subscriber.user.email)


def test_staff_without_marketing_rights_see_only_their_own_preferences(client):
    staff = StaffFactory(role="support agent")
    other = SubscriptionFactory()
    client.force_login(staff)
    client.post(ACCOUNT_URL, {})
    assert statuses(other.subscriber) == {"new-products": SubscriptionStatus.SUBSCRIBED}


# --- through the emailed link


def test_the_emailed_link_shows_the_masked_address(client):
    subscription = SubscriptionFactory(subscriber__user__email="aina.ali@example.com")
    html = client.get(link(subscription.subscriber)).content.decode()
    assert "a***@example.com" in html
    assert "aina.ali@example.com" not in html


def test_turning_a_topic_off_from_the_link_is_immediate(client):
    subscription = SubscriptionFactory()
    client.post(link(subscription.subscriber), {})
    assert statuses(subscription.subscriber) == {"new-products": SubscriptionStatus.UNSUBSCRIBED}


def test_reenable_topic_via_link_requires_reconfirmation(
    client, django_capture_on_commit_callbacks
):
    # given a subscriber who left a topic
    subscription = SubscriptionFactory(status=SubscriptionStatus.UNSUBSCRIBED)
    # when they turn it on again from the emailed link
    with django_capture_on_commit_callbacks(execute=True):
        client.post(link(subscription.subscriber), {"topic_new-products": "on"})
    # then it waits for confirmation and one confirmation email goes out
    assert statuses(subscription.subscriber) == {"new-products": SubscriptionStatus.PENDING}
    assert len(mail.outbox) == 1
    assert "/m/confirm/" in mail.outbox[0].body
    assert ConsentRecord.objects.get().action == ConsentAction.GRANTED


def test_unsubscribe_from_everything_from_the_link(client):
    subscription = SubscriptionFactory()
    client.post(link(subscription.subscriber), {"unsubscribe_all": "1"})
    assert statuses(subscription.subscriber) == {"new-products": SubscriptionStatus.UNSUBSCRIBED}
    from marketing.models import Suppression

    assert Suppression.objects.get().reason == SuppressionReason.UNSUBSCRIBED_ALL


def test_a_confirmed_opt_in_lifts_an_unsubscribe_from_everything(client):
    subscriber = SubscriberFactory()
    services.unsubscribe_all(subscriber, method=ConsentMethod.PREFERENCE_CENTRE)
    assert services.is_suppressed(subscriber.user.email)
    services.request_subscriptions(
        subscriber.user, topics=[topic()], method=ConsentMethod.PREFERENCE_CENTRE
    )
    services.confirm_subscriptions(subscriber, topic_codes=["new-products"])
    assert not services.is_suppressed(subscriber.user.email)


def test_a_bounce_is_not_lifted_by_a_new_opt_in():
    subscriber = SubscriberFactory()
    services.suppress_email(subscriber.user.email, reason=SuppressionReason.HARD_BOUNCE)
    services.subscribe_topic(subscriber.user, topic=topic())
    assert services.is_suppressed(subscriber.user.email)


@pytest.mark.parametrize("kind", ["tampered", "unsubscribe-token", "expired"])
def test_a_bad_preferences_link_is_refused_and_changes_nothing(client, kind, settings):
    subscription = SubscriptionFactory()
    public_id = subscription.subscriber.public_id
    token = {
        "tampered": make_preferences_token(public_id)[:-2] + "zz",
        "unsubscribe-token": make_unsubscribe_token(public_id, "new-products"),
        "expired": make_preferences_token(public_id),
    }[kind]
    if kind == "expired":
        settings.MARKETING_PREFERENCES_LINK_DAYS = -1
    response = client.post(f"/m/p/{token}/", {})
    assert response.status_code == 400
    assert statuses(subscription.subscriber) == {"new-products": SubscriptionStatus.SUBSCRIBED}
    assert ConsentRecord.objects.count() == 0
