"""Verification against the real payment sandbox: a first big order paid on the hosted page is
held (no key issued), and after VERIFICATION_MAX_REJECTIONS rejected documents it is refunded
through the gateway; its waiting documents are then shredded by the retention rule."""

from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from orders.models import AttemptStatus, LicenceKeyStatus, OrderStatus
from orders.retention import shred_expired_documents
from orders.services.verification import reject_document
from tests.factories import ProductFactory
from tests.orders.conftest import APPROVED, wait_until
from tests.orders.test_contract import Customer

from .verification_helpers import identity_png, staff, stored_files, upload, use_vault_dir

pytestmark = [pytest.mark.django_db(transaction=True)]


def test_a_held_order_is_refunded_after_too_many_rejections(
    client, store, store_sandbox, settings, tmp_path
):
    vault_dir = use_vault_dir(settings, tmp_path)
    settings.VERIFICATION_MAX_REJECTIONS = 2
    product = ProductFactory(licence=True, keys=1, price_sen=300_000)
    customer = Customer(client, store, product=product)

    page = customer.start_payment()
    customer.come_back(page.pay(APPROVED))
    wait_until(lambda: customer.refresh().status == OrderStatus.ON_HOLD, what="the hold")
    assert customer.keys() == [LicenceKeyStatus.RESERVED]
    assert customer.fulfilments() == 0

    for _ in range(3):
        assert (
            upload(client, customer.order, "identity", "ic.png", identity_png()).status_code == 302
        )
    reviewer = staff("verification reviewer")
    first, second, third = customer.order.documents.order_by("id")
    assert reject_document(first, acting_user=reviewer, reason="unreadable") is False
    assert reject_document(second, acting_user=reviewer, reason="name_mismatch") is True

    order = customer.refresh()
    assert order.status == OrderStatus.REFUNDED
    assert customer.attempts() == [AttemptStatus.REFUNDED]
    checkout_id = urlsplit(page.url).path.rsplit("/", 1)[-1]
    status = store_sandbox.control("GET", f"checkouts/{checkout_id}").json()
    assert [p["status"] for p in status["payments"]] == ["REFUNDED"]
    assert customer.fulfilments() == 0
    # the waiting third document goes with the closed order
    shred_expired_documents(now=timezone.now())
    third.refresh_from_db()
    assert third.shredded_at is not None
    assert len(stored_files(vault_dir)) == 4  # the two rejected ones wait for their retention
