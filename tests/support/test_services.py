"""Services and handlers: emails sent once through the outbox, due times, retention, the
personal-data declarations."""

import datetime

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from ipmart.core.models import OutboxMessage
from privacy import vault
from privacy.models import VaultFile
from support import personal_data
from support.models import Attachment, Category, Inquiry, Message, Notification, Status
from support.retention import delete_expired_inquiries
from support.services import reply_as_agent, submit_inquiry
from support.targets import due_times
from support.tasks import send_inquiry_email
from tests.factories import CustomerFactory, InquiryFactory, attach_file

pytestmark = pytest.mark.django_db


def test_the_acknowledgement_is_an_outbox_message_and_is_sent_once(run_outbox):
    # when
    inquiry = submit_inquiry(
        user=None,
        email="a@example.com",
        name="A",
        category=Category.OTHER,
        subject="Hi",
        body="Hello",
        language="en",
    )

    # then the email waits in the outbox with the state change
    [message] = OutboxMessage.objects.all()
    assert (message.handler, message.args) == (
        "support.tasks.send_inquiry_email",
        [inquiry.pk, "acknowledgement", 0],
    )
    run_outbox()
    assert len(mail.outbox) == 1
    # a handler run twice (a crash before done_at) sends nothing more
    assert send_inquiry_email(inquiry.pk, "acknowledgement", 0) is False
    assert len(mail.outbox) == 1
    assert Notification.objects.get().sent_at is not None


def test_a_failed_service_leaves_no_outbox_message():
    with pytest.raises(ValidationError):
        submit_inquiry(
            user=None,
            email="a@example.com",
            name="A",
            category=Category.OTHER,
            subject="Hi",
            body="",
            language="en",
        )
    assert OutboxMessage.objects.count() == Inquiry.objects.count() == 0


def test_each_reply_is_its_own_email(agent, run_outbox):
    inquiry = InquiryFactory()
    reply_as_agent(inquiry, body="One", acting_user=agent)
    reply_as_agent(inquiry, body="Two", acting_user=agent)
    run_outbox()
    assert [m.body.split("\n")[0] for m in mail.outbox] == ["One", "Two"]


def test_due_times_per_category_and_the_statutory_21_days(settings):
    settings.SUPPORT_FIRST_RESPONSE_HOURS = "order=2,other=10"
    settings.SUPPORT_RESOLUTION_HOURS = "order=24,complaint=1000,other=48"
    start = timezone.now()
    assert due_times("order", start) == (
        start + datetime.timedelta(hours=2),
        start + datetime.timedelta(hours=24),
    )
    assert due_times("billing", start) == (
        start + datetime.timedelta(hours=10),
        start + datetime.timedelta(hours=48),
    )
    assert due_times("complaint", start)[1] == start + datetime.timedelta(days=21)


def test_retention_deletes_finished_inquiries_past_the_period_only(settings):
    # given
    settings.SUPPORT_RETENTION_DAYS = 30
    now = timezone.now()
    old = now - datetime.timedelta(days=31)
    gone = InquiryFactory(status=Status.RESOLVED)
    open_old = InquiryFactory(status=Status.OPEN)
    recent = InquiryFactory(status=Status.CLOSED)
    Inquiry.objects.filter(pk__in=[gone.pk, open_old.pk]).update(updated_at=old)
    gone_file = attach_file(gone.messages.get())
    gone_files = {gone_file.file_id, gone_file.previews.get().file_id}
    attach_file(open_old.messages.get())

    # when / then: a dry run names it and changes nothing
    lines = delete_expired_inquiries(now=now, dry_run=True)
    assert len(lines) == 1 and gone.reference in lines[0] and "@" not in lines[0]
    assert Inquiry.objects.count() == 3
    assert VaultFile.objects.filter(shredded_at__isnull=False).count() == 0
    assert delete_expired_inquiries(now=now, dry_run=False) == lines
    assert set(Inquiry.objects.values_list("pk", flat=True)) == {open_old.pk, recent.pk}
    assert Message.objects.filter(inquiry_id=gone.pk).count() == 0
    # the expired inquiry's file and preview are crypto-shredded; the others' are untouched
    shredded = VaultFile.objects.filter(shredded_at__isnull=False)
    assert set(shredded.values_list("pk", flat=True)) == gone_files
    assert VaultFile.objects.filter(shredded_at__isnull=True).count() == 2


def test_export_and_erase_a_customers_support_data():
    # given
    customer = CustomerFactory()
    mine = InquiryFactory(user=customer, body="My words")
    attachment = attach_file(mine.messages.first(), "receipt.png")
    kept = vault.read_bytes(attachment.file)
    vault_files = [attachment.file_id, *attachment.previews.values_list("file_id", flat=True)]
    theirs = InquiryFactory(user=CustomerFactory())
    their_file = attach_file(theirs.messages.first())

    # when
    exported = personal_data.export_user(customer)
    files = list(personal_data.export_files(customer))
    personal_data.erase_user(customer)

    # then: the export holds the decrypted file, erasure crypto-shreds it (and its preview)
    assert [row["reference"] for row in exported["Inquiry"]] == [mine.reference]
    assert [row["body"] for row in exported["Message"]] == ["My words"]
    [(path, data)] = files
    assert path == f"inquiries/{mine.reference}/{attachment.pk}-receipt.png" and data == kept
    assert exported["Attachment"][0]["file_in_archive"] == path
    assert list(Inquiry.objects.values_list("pk", flat=True)) == [theirs.pk]
    assert list(Attachment.objects.values_list("pk", flat=True)) == [their_file.pk]
    shredded = VaultFile.objects.filter(pk__in=vault_files)
    assert shredded.count() == 2
    assert all(f.is_shredded and bytes(f.wrapped_key) == b"" for f in shredded)
    assert not VaultFile.objects.get(pk=their_file.file_id).is_shredded


def test_every_declared_model_and_field_exists():
    from django.apps import apps

    for declaration in personal_data.DECLARATIONS:
        model = apps.get_model(declaration["model"])
        for field in declaration["fields"]:
            model._meta.get_field(field)
    for rule in personal_data.RETENTION_RULES:
        from django.utils.module_loading import import_string

        assert callable(import_string(rule["run"]))
