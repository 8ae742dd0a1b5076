"""A new customer ticks two topics at signup, confirms, receives a campaign, opens the
preference centre from the email and turns one topic off, in a real Chromium (at 360 px)."""

import re

import pytest
from django.core import mail

from marketing import services
from marketing.models import Subscription, SubscriptionStatus
from tests.factories import CampaignFactory, StaffFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long and unusual passphrase"


def statuses() -> dict[str, str]:
    return dict(
        Subscription.objects.filter(subscriber__user__email="aina@example.com").values_list(
            "topic__code", "status"
        )
    )


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_signup_with_two_topics_confirm_receive_and_turn_one_off(live_server, page, settings):
    settings.SITE_URL = live_server.url
    page.set_viewport_size({"width": 360, "height": 800})
    # given a visitor on the signup page: the topic boxes are unticked
    page.goto(live_server.url + "/accounts/signup/")
    boxes = page.locator("input[type=checkbox][name^=topic_]")
    assert boxes.count() == 4
    assert all(not boxes.nth(i).is_checked() for i in range(4))
    assert fits_the_screen(page)
    # when they sign up ticking two topics
    page.get_by_label("Full name").fill("Aina Rahman")
    page.get_by_label("Email").fill("aina@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.locator("#id_accept_privacy_policy").check()
    page.locator("#id_topic_new-products").check()
    page.locator("#id_topic_special-offers").check()
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/accounts/confirm-email/"))
    # then both wait for confirmation, and one confirmation email came
    assert statuses() == {
        "new-products": SubscriptionStatus.PENDING,
        "special-offers": SubscriptionStatus.PENDING,
    }
    confirmations = [m for m in mail.outbox if "/m/confirm/" in m.body]
    assert len(confirmations) == 1
    # when they open the confirmation link and press the button
    link = re.search(r"https?://\S+/m/confirm/\S+/", confirmations[0].body).group(0)
    page.goto(link)
    assert statuses()["new-products"] == SubscriptionStatus.PENDING  # opening changed nothing
    page.get_by_role("button", name="Yes, send me these emails").click()
    page.get_by_role("heading", name="Subscription confirmed").wait_for()
    assert set(statuses().values()) == {SubscriptionStatus.SUBSCRIBED}
    # when a campaign for one of the topics is sent
    mail.outbox.clear()
    services.schedule_campaign(CampaignFactory(), send_at=None, acting_user=StaffFactory())
    # then they receive it, with its preferences link
    assert [m.to for m in mail.outbox] == [["aina@example.com"]]
    preferences = re.search(r"https?://\S+/m/p/\S+/", mail.outbox[0].body).group(0)
    # when they open the preference centre from the email and turn one topic off
    page.goto(preferences)
    assert page.locator("#id_topic_new-products").is_checked()
    assert fits_the_screen(page)
    page.locator("#id_topic_new-products").uncheck()
    page.get_by_role("button", name="Save preferences").click()
    page.get_by_text("Your email preferences were saved.").wait_for()
    # then that topic is off at once and the other stays on
    assert statuses() == {
        "new-products": SubscriptionStatus.UNSUBSCRIBED,
        "special-offers": SubscriptionStatus.SUBSCRIBED,
    }
    assert not page.locator("#id_topic_new-products").is_checked()
    assert page.console_errors == []
