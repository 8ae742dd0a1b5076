"""Retention of verification documents with the clock moved forward: files and previews are
crypto-shredded DOCUMENT_RETENTION_DAYS after the decision (the decision row stays), waiting
documents go when their order is closed, a dry run changes nothing; the beat task and the
personal-data hooks (export, files, erasure) work on the same rows."""

import datetime
import json

import pytest
from django.utils import timezone

from orders import personal_data_documents
from orders.models import DocumentStatus, Order, OrderStatus, VerificationDocument
from orders.retention import shred_expired_documents
from orders.services.verification import approve_document
from privacy import vault
from privacy.models import VaultFile
from privacy.tasks import retention_task

from .verification_helpers import (
    held_order,
    identity_png,
    staff,
    statement_pdf,
    stored_files,
    upload,
    use_vault_dir,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def vault_dir(settings, tmp_path):
    return use_vault_dir(settings, tmp_path)


def _order_with_documents(client):
    order = held_order()
    client.force_login(order.user)
    upload(client, order, "card_statement", "statement.pdf", statement_pdf())
    upload(client, order, "identity", "ic.png", identity_png())
    return order, list(order.documents.order_by("id"))


def test_decided_documents_are_shredded_after_the_retention_period(client, vault_dir, settings):
    settings.DOCUMENT_RETENTION_DAYS = 30
    order, (statement, identity) = _order_with_documents(client)
    approve_document(statement, acting_user=staff("verification reviewer"))
    decided_at = VerificationDocument.objects.get(pk=statement.pk).decided_at
    assert len(stored_files(vault_dir)) == 4

    # a day before the end: nothing goes
    assert shred_expired_documents(now=decided_at + datetime.timedelta(days=29)) == []
    # dry run after the end: says what would go, changes nothing
    later = decided_at + datetime.timedelta(days=30, seconds=1)
    lines = shred_expired_documents(now=later, dry_run=True)
    assert lines == [f"document {statement.pk} of order {order.number}: past retention"]
    assert len(stored_files(vault_dir)) == 4
    # the real run shreds the decided one only
    assert shred_expired_documents(now=later) == lines
    statement.refresh_from_db()
    assert statement.shredded_at is not None
    assert statement.status == DocumentStatus.APPROVED and statement.decided_at == decided_at
    assert len(stored_files(vault_dir)) == 2  # the waiting identity document and its preview
    gone = VaultFile.objects.filter(shredded_at__isnull=False)
    assert gone.count() == 2 and {bytes(f.wrapped_key) for f in gone} == {b""}
    with pytest.raises(vault.VaultError):
        vault.read_bytes(statement.file)
    # running again changes nothing
    assert shred_expired_documents(now=later) == []


def test_waiting_documents_go_when_the_order_is_closed(client, vault_dir):
    order, documents = _order_with_documents(client)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.REFUNDED)
    lines = shred_expired_documents(now=timezone.now())
    assert len(lines) == 2 and all("waiting, order closed" in line for line in lines)
    assert stored_files(vault_dir) == []
    assert VerificationDocument.objects.filter(shredded_at__isnull=True).count() == 0


def test_the_one_retention_task_runs_the_rule(client, vault_dir, settings):
    settings.DOCUMENT_RETENTION_DAYS = 0
    order, (statement, _) = _order_with_documents(client)
    approve_document(statement, acting_user=staff("verification reviewer"))
    assert retention_task()["verification documents past retention"] == 1


def test_personal_data_hooks(client, vault_dir):
    order, (statement, identity) = _order_with_documents(client)
    exported = personal_data_documents.export_documents(order.user)
    json.dumps(exported)
    assert [row["kind"] for row in exported["VerificationDocument"]] == [
        "card_statement",
        "identity",
    ]
    files = dict(personal_data_documents.export_document_files(order.user))
    assert sorted(files) == [
        f"documents/{order.number}/{statement.pk}-card_statement.pdf",
        f"documents/{order.number}/{identity.pk}-identity.png",
    ]
    assert files[f"documents/{order.number}/{statement.pk}-card_statement.pdf"].startswith(b"%PDF")
    personal_data_documents.erase_documents(order.user)
    assert stored_files(vault_dir) == []
    assert list(VerificationDocument.objects.values_list("original_name", flat=True)) == ["", ""]
    assert dict(personal_data_documents.export_document_files(order.user)) == {}
    rule = personal_data_documents.RETENTION_RULES[0]
    assert rule["run"] == "orders.retention.shred_expired_documents"
