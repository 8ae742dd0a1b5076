"""Verification side effects through a real Redis broker and a real Celery worker: the emails go
through the outbox to the worker, and the one retention task run by the worker shreds the files."""

import time

import pytest
from django.core import mail

from orders.services.verification import reject_document, upload_document
from privacy.intake import validate_upload
from privacy.tasks import retention_task
from tests.factories import documents as files

from .test_worker import worker  # noqa: F401 (fixture)
from .verification_helpers import held_order, identity_png, staff, stored_files, use_vault_dir

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis]


def _wait_for_mail(count: int) -> None:
    deadline = time.monotonic() + 20
    while len(mail.outbox) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(mail.outbox) == count


def test_a_worker_emails_the_customer_and_shreds_on_schedule(worker, settings, tmp_path):  # noqa: F811
    vault_dir = use_vault_dir(settings, tmp_path)
    settings.DOCUMENT_RETENTION_DAYS = 0
    order = held_order()
    _wait_for_mail(1)  # "please confirm you are the cardholder"
    clean = validate_upload(files.upload("ic.png", identity_png()))
    document = upload_document(order, kind="identity", clean=clean, acting_user=order.user)
    assert len(stored_files(vault_dir)) == 2
    reject_document(document, acting_user=staff("verification reviewer"), reason="unreadable")
    _wait_for_mail(2)
    assert "not readable" in mail.outbox[1].body
    assert retention_task.delay().get(timeout=30)["verification documents past retention"] == 1
    document.refresh_from_db()
    assert document.shredded_at is not None
    assert stored_files(vault_dir) == []
