"""Telling the people affected by a breach: the data protection officer previews the notice in
each language, sends it once through the outbox, sees the progress; each person gets one email
in their language with what happened, when, which data, what we do, what they can do and the
officer's contact; the breach records when they were notified; an audit row names who sent it.
Only the officer (and superusers) may open the page."""

import datetime

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from accounts.roles import ROLE_PERMISSIONS
from ipmart.core.models import OutboxMessage, StaffChange
from ipmart.core.outbox import run_message
from orders.models import OrderStatus
from privacy.models import Breach, BreachAffected
from privacy.rights import close_account, list_affected_customers, record_breach, update_breach
from tests.factories import (
    CustomerFactory,
    OrderFactory,
    StaffFactory,
    enrolled_in_mfa,
    staff_client,
)

pytestmark = pytest.mark.django_db

NOTICE = {
    "notice_happened_en": "A delivery list was emailed to the wrong courier.",
    "notice_happened_ms": "Senarai penghantaran telah dihantar kepada kurier yang salah.",
    "notice_measures_en": "The courier deleted the list; we changed our process.",
    "notice_measures_ms": "Kurier telah memadam senarai itu; kami mengubah proses kami.",
    "notice_advice_en": "Be careful with calls asking for payment.",
    "notice_advice_ms": "Berhati-hati dengan panggilan yang meminta bayaran.",
}


@pytest.fixture
def dpo():
    return enrolled_in_mfa(StaffFactory(role="data protection officer"))


def _breach(dpo, *, notice=True) -> Breach:
    english = CustomerFactory(email="en.reader@example.com", full_name="Ellen Reader")
    malay = CustomerFactory(email="ms.reader@example.com", full_name="Mawar Pembaca")
    malay.preferred_language = "ms"
    malay.save()
    for customer in (english, malay):
        OrderFactory(user=customer, status=OrderStatus.FULFILLED, paid_at=timezone.now())
    breach = record_breach(
        summary="Courier list",
        data_categories="names, addresses",
        discovered_at=timezone.now() - datetime.timedelta(hours=3),
        occurred_at=timezone.now() - datetime.timedelta(days=1),
        acting_user=dpo,
        affected_models=["orders.Order"],
    )
    if notice:
        breach = update_breach(breach, data=NOTICE, acting_user=dpo)
    list_affected_customers(breach)
    return breach


def _url(breach):
    return reverse("admin:privacy_breach_notify", args=[breach.pk])


@override_settings(DPO_EMAIL="dpo@example.test", DPO_PHONE="+60 3-0000 1111")
def test_the_officer_previews_then_sends_each_person_one_notice_in_their_language(
    client, dpo, django_capture_on_commit_callbacks
):
    # given a breach with its notice written and two affected customers
    breach = _breach(dpo)
    client.force_login(dpo)
    # when the officer opens the page
    page = client.get(_url(breach))
    # then both languages are previewed, and nothing is sent yet
    text = page.content.decode()
    assert page.status_code == 200
    assert NOTICE["notice_happened_en"] in text and NOTICE["notice_happened_ms"] in text
    assert "Send the notice to 2 people" in text
    assert mail.outbox == [] and not OutboxMessage.objects.exists()
    # when they send it (the outbox runs the handlers after commit)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_url(breach))
    # then each person got one email, in their language, with every part of the notice
    assert response.status_code == 302
    by_recipient = {message.to[0]: message for message in mail.outbox}
    assert sorted(by_recipient) == ["en.reader@example.com", "ms.reader@example.com"]
    english, malay = by_recipient["en.reader@example.com"], by_recipient["ms.reader@example.com"]
    assert english.subject == (
        f"Important: a personal data breach that affects you ({breach.reference})"
    )
    for part in ("happened", "measures", "advice"):
        assert NOTICE[f"notice_{part}_en"] in english.body
        assert NOTICE[f"notice_{part}_ms"] in malay.body
        assert NOTICE[f"notice_{part}_en"] not in malay.body
    assert "Dear Ellen Reader," in english.body and "Your orders" in english.body
    assert "dpo@example.test" in english.body and "+60 3-0000 1111" in malay.body
    assert malay.subject.startswith("Penting:") and "Pesanan, bayaran, penghantaran" in malay.body
    html = dict((mime, body) for body, mime in malay.alternatives)["text/html"]
    assert NOTICE["notice_advice_ms"] in html and 'href="mailto:dpo@example.test"' in html
    # and the breach and each person's row record when, and an audit row names the officer
    breach.refresh_from_db()
    assert breach.notification_sent_at is not None and breach.people_notified_at is not None
    assert not BreachAffected.objects.filter(breach=breach, notified_at__isnull=True).exists()
    audit = StaffChange.objects.get(action="notify people")
    assert (audit.actor, audit.object_id, audit.detail) == (dpo, str(breach.pk), "2 people")
    assert OutboxMessage.objects.filter(done_at__isnull=False).count() == 2
    # and the page shows the progress
    assert "2 / 2" in client.get(_url(breach)).content.decode()

    # when the handlers run again and the officer presses send again
    for message in OutboxMessage.objects.all():
        OutboxMessage.objects.filter(pk=message.pk).update(done_at=None)
        assert run_message(message.pk) is True
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(_url(breach), follow=True)
    # then no one gets a second email and nothing new is queued
    assert len(mail.outbox) == 2
    assert OutboxMessage.objects.count() == 2
    assert "already been sent" in " ".join(str(m) for m in get_messages(again.wsgi_request))
    assert StaffChange.objects.filter(action="notify people").count() == 1


def test_an_incomplete_notice_is_refused_and_nothing_is_sent(
    client, dpo, django_capture_on_commit_callbacks
):
    breach = _breach(dpo, notice=False)
    client.force_login(dpo)
    assert "Write the notice on the breach first" in client.get(_url(breach)).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(_url(breach))
    breach.refresh_from_db()
    assert (breach.notification_sent_at, breach.people_notified_at) == (None, None)
    assert mail.outbox == [] and not OutboxMessage.objects.exists()
    assert not StaffChange.objects.filter(action="notify people").exists()


def test_a_closed_account_is_not_written_to(client, dpo, django_capture_on_commit_callbacks):
    breach = _breach(dpo)
    closed = BreachAffected.objects.get(breach=breach, user__email="ms.reader@example.com").user
    with django_capture_on_commit_callbacks(execute=True):
        close_account(closed)
    mail.outbox.clear()
    client.force_login(dpo)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(_url(breach))
    assert [message.to for message in mail.outbox] == [["en.reader@example.com"]]
    breach.refresh_from_db()
    assert breach.people_notified_at is not None


@pytest.mark.parametrize("role", sorted(ROLE_PERMISSIONS))
def test_only_the_data_protection_officer_may_open_or_send(
    dpo, role, django_capture_on_commit_callbacks
):
    breach = _breach(dpo)
    client = staff_client(role)[1]
    allowed = role == "data protection officer"
    assert client.get(_url(breach)).status_code == (200 if allowed else 403)
    if not allowed:
        with django_capture_on_commit_callbacks(execute=True):
            assert client.post(_url(breach)).status_code == 403
        assert mail.outbox == [] and not OutboxMessage.objects.exists()


def test_anonymous_customers_and_superusers(client, dpo):
    breach = _breach(dpo)
    response = client.get(_url(breach))
    assert response.status_code == 302 and "login" in response.url
    client.force_login(CustomerFactory())
    response = client.get(_url(breach))
    assert response.status_code == 302 and "login" in response.url
    client.force_login(enrolled_in_mfa(StaffFactory(is_superuser=True)))
    assert client.get(_url(breach)).status_code == 200


@pytest.fixture
def smtp_inbox(settings):
    """A real SMTP server on loopback (aiosmtpd, as the marketing tests use) behind Django's
    SMTP backend."""
    from aiosmtpd.controller import Controller

    from tests.marketing.conftest import Inbox, free_port

    inbox = Inbox()
    inbox.port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = (
        "127.0.0.1",
        inbox.port,
        False,
    )
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    try:
        yield inbox
    finally:
        controller.stop()


def test_the_notice_arrives_over_smtp_as_text_and_html_once_per_person(
    dpo, smtp_inbox, django_capture_on_commit_callbacks
):
    from privacy.breach_notices import notify_affected_people

    # given
    breach = _breach(dpo)
    # when the officer sends, and every outbox message is then run once more
    with django_capture_on_commit_callbacks(execute=True):
        assert notify_affected_people(breach, acting_user=dpo) == 2
    for message in OutboxMessage.objects.all():
        run_message(message.pk)
    OutboxMessage.objects.update(done_at=None)
    for message in OutboxMessage.objects.all():
        run_message(message.pk)
    # then the SMTP server got one message per person, each with a text and an HTML part
    received = {str(message["To"]): message for message in smtp_inbox.messages()}
    assert smtp_inbox.count() == 2
    assert sorted(received) == ["en.reader@example.com", "ms.reader@example.com"]
    malay = received["ms.reader@example.com"]
    assert str(malay["Subject"]).startswith("Penting: pelanggaran data peribadi")
    assert NOTICE["notice_happened_ms"] in malay.get_body(("plain",)).get_content()
    assert NOTICE["notice_advice_ms"] in malay.get_body(("html",)).get_content()
