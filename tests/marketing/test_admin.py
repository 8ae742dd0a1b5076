"""Marketing in admin: the marketing manager composes, previews, tests, schedules and cancels
campaigns and watches progress; other roles cannot; the ledger is read-only and its views are
logged; secret fields never become lookups."""

import pytest
from django.contrib import admin
from django.core import mail

from marketing.models import (
    Campaign,
    CampaignStatus,
    ConsentMethod,
    ConsentRecord,
    Delivery,
    DeliveryStatus,
    Subscriber,
    Suppression,
    Topic,
    TopicVersion,
)
from marketing.services import unsubscribe_topic
from privacy.models import AccessLog
from tests.factories import CampaignFactory, StaffFactory, SubscriptionFactory, enrolled_in_mfa
from tests.factories.marketing import HTML_EN, HTML_MS, TEXT_EN, TEXT_MS, topic

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(client):
    user = enrolled_in_mfa(StaffFactory(role="marketing manager", email="promo.staff@ipmart.test"))
    client.force_login(user)
    return user


@pytest.fixture
def agent(client):
    user = enrolled_in_mfa(StaffFactory(role="support agent"))
    client.force_login(user)
    return user


def test_the_marketing_manager_opens_every_marketing_page(client, manager):
    for url in [
        "/admin/marketing/campaign/",
        "/admin/marketing/campaign/add/",
        "/admin/marketing/topic/",
        "/admin/marketing/consentrecord/",
        "/admin/marketing/suppression/",
    ]:
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize(
    "url",
    ["/admin/marketing/campaign/", "/admin/marketing/consentrecord/", "/admin/marketing/topic/"],
)
def test_a_support_agent_cannot_open_marketing(client, agent, url):
    assert client.get(url).status_code == 403


def test_a_support_agent_cannot_schedule_or_read_progress(client, agent):
    campaign = CampaignFactory()
    assert client.post(f"/admin/marketing/campaign/{campaign.pk}/schedule/").status_code == 403
    assert client.get(f"/admin/marketing/campaign/{campaign.pk}/progress/").status_code == 403
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT


def test_composing_a_campaign(client, manager):
    response = client.post(
        "/admin/marketing/campaign/add/",
        {
            "name": "December",
            "topic": topic().pk,
            "subject_en": "December deals",
            "subject_ms": "Tawaran Disember",
            "body_text_en": TEXT_EN,
            "body_text_ms": TEXT_MS,
            "body_html_en": HTML_EN,
            "body_html_ms": HTML_MS,
        },
    )
    assert response.status_code == 302
    campaign = Campaign.objects.get()
    assert (campaign.status, campaign.created_by) == (CampaignStatus.DRAFT, manager)


def test_scheduling_without_placeholders_is_refused(client, manager):
    campaign = CampaignFactory(body_html_en="<p>Buy!</p>")
    client.post(f"/admin/marketing/campaign/{campaign.pk}/schedule/")
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT
    page = client.get(f"/admin/marketing/campaign/{campaign.pk}/change/").content.decode()
    assert "Missing placeholders: body_html_en: unsubscribe_url" in page


def test_send_now_progress_and_the_page_polling_it(
    client, manager, django_capture_on_commit_callbacks
):
    # given two subscribers, one of whom leaves before sending
    staying, leaving = SubscriptionFactory(), SubscriptionFactory()
    campaign = CampaignFactory()
    # when
    with django_capture_on_commit_callbacks(execute=False):
        client.post(f"/admin/marketing/campaign/{campaign.pk}/schedule/")
    from marketing import sending

    sending.take_audience(campaign.pk)
    unsubscribe_topic(leaving.subscriber, topic=topic(), method=ConsentMethod.ONE_CLICK)
    half = client.get(f"/admin/marketing/campaign/{campaign.pk}/progress/").json()
    ids = sorted([staying.subscriber_id, leaving.subscriber_id])
    sending.send_batch(campaign.pk, ids[0], ids[1])
    done = client.get(f"/admin/marketing/campaign/{campaign.pk}/progress/").json()
    # then
    assert (half["status"], half["total"], half["done"], half["counts"]["queued"]) == (
        "sending",
        2,
        0,
        2,
    )
    assert done["status"] == "sent" and done["finished"] is True
    assert (done["counts"]["sent"], done["counts"]["skipped"]) == (1, 1)
    assert done["skipped_reasons"] == {"unsubscribed": 1}
    page = client.get(f"/admin/marketing/campaign/{campaign.pk}/change/").content.decode()
    assert "marketing/campaign_progress.js" in page
    assert f'data-progress-url="/admin/marketing/campaign/{campaign.pk}/progress/"' in page


def test_cancel(client, manager, django_capture_on_commit_callbacks):
    SubscriptionFactory()
    campaign = CampaignFactory()
    with django_capture_on_commit_callbacks(execute=False):
        client.post(f"/admin/marketing/campaign/{campaign.pk}/schedule/")
    from marketing import sending

    sending.take_audience(campaign.pk)
    client.post(f"/admin/marketing/campaign/{campaign.pk}/cancel/")
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.CANCELLED
    assert list(Delivery.objects.values_list("status", "skip_reason")) == [
        (DeliveryStatus.SKIPPED, "cancelled")
    ]


def test_preview_as_a_given_recipient_in_their_language(client, manager):
    subscription = SubscriptionFactory(
        subscriber__user__full_name="Farid Ahmad", subscriber__user__preferred_language="ms"
    )
    campaign = CampaignFactory()
    page = client.get(
        f"/admin/marketing/campaign/{campaign.pk}/preview/",
        {"email": subscription.subscriber.user.email},
    ).content.decode()
    assert "Barangan baharu" in page and "Hai Farid" in page
    assert "List-Unsubscribe-Post" in page
    assert mail.outbox == [] and Delivery.objects.count() == 0


def test_the_action_forms_are_not_nested_in_the_change_form(client, manager):
    # a <form> inside another is dropped by browsers (its button then posts nothing)
    campaign = CampaignFactory()
    page = client.get(f"/admin/marketing/campaign/{campaign.pk}/change/").content.decode()
    main_form_end = page.index("</form>", page.index('id="campaign_form"'))
    for action in ("campaign-test", "campaign-schedule", "campaign-cancel"):
        assert page.index(f'<form id="{action}"') > main_form_end
        assert f'form="{action}"' in page


def test_send_a_test_to_yourself(client, manager):
    campaign = CampaignFactory()
    client.post(f"/admin/marketing/campaign/{campaign.pk}/send-test/")
    assert [m.to for m in mail.outbox] == [[manager.email]]
    assert mail.outbox[0].subject == "[TEST] New arrivals"
    assert mail.outbox[0].extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT


def test_a_sent_campaign_cannot_be_edited(client, manager):
    campaign = CampaignFactory(status=CampaignStatus.SENT)
    client.post(
        f"/admin/marketing/campaign/{campaign.pk}/change/",
        {"name": "changed", "subject_en": "changed"},
    )
    campaign.refresh_from_db()
    assert (campaign.name, campaign.subject_en) != ("changed", "changed")


def test_changing_a_topics_text_in_admin_makes_a_new_version(client, manager):
    news = topic()
    v1 = news.current_version
    response = client.post(
        f"/admin/marketing/topic/{news.pk}/change/",
        {
            "code": news.code,
            "position": 0,
            "is_active": "on",
            "name_en": v1.name_en,
            "name_ms": v1.name_ms,
            "consent_text_en": "Email me about new products only.",
            "consent_text_ms": "Hantarkan e-mel kepada saya tentang produk baharu sahaja.",
            "versions-TOTAL_FORMS": "1",
            "versions-INITIAL_FORMS": "1",
            "versions-0-id": v1.pk,
            "versions-0-topic": news.pk,
        },
    )
    assert response.status_code == 302
    news.refresh_from_db()
    assert news.current_version.number == 2
    assert TopicVersion.objects.get(pk=v1.pk).consent_text_en == v1.consent_text_en


def test_the_ledger_is_read_only_and_opening_a_row_is_logged(client, manager):
    subscription = SubscriptionFactory()
    unsubscribe_topic(subscription.subscriber, topic=topic(), method=ConsentMethod.ONE_CLICK)
    record = ConsentRecord.objects.get()
    assert client.get("/admin/marketing/consentrecord/add/").status_code == 403
    page = client.get(f"/admin/marketing/consentrecord/{record.pk}/change/")
    assert page.status_code == 200
    assert client.post(f"/admin/marketing/consentrecord/{record.pk}/delete/").status_code == 403
    log = AccessLog.objects.get()
    assert (log.actor, log.subject, log.target_type) == (
        manager,
        subscription.subscriber.user,
        "marketing.consentrecord",
    )


@pytest.mark.parametrize("model", [Subscriber, Suppression])
def test_secret_fields_are_never_admin_lookups(model):
    assert model.SECRET_FIELDS
    model_admin = admin.site._registry.get(model)
    if model_admin is None:
        return
    lookups = {*model_admin.search_fields, *model_admin.list_filter, *(model_admin.ordering or [])}
    assert not set(model.SECRET_FIELDS) & {str(x).lstrip("-^=@") for x in lookups}


def test_topics_cannot_be_deleted_in_admin(client, manager):
    assert client.post(f"/admin/marketing/topic/{topic().pk}/delete/").status_code == 403
    assert Topic.objects.filter(code="new-products").exists()


def test_scheduling_for_later_in_admin(client, manager):
    campaign = CampaignFactory()
    client.post(
        f"/admin/marketing/campaign/{campaign.pk}/schedule/", {"send_at": "2030-01-02T09:30"}
    )
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SCHEDULED
    assert campaign.scheduled_at.isoformat() == "2030-01-02T01:30:00+00:00"  # 09:30 in KL
    assert Delivery.objects.count() == 0
