"""A worker is SIGKILLed in the middle of a fulfilment: its transaction never commits (no key
issued, no fulfilment row, no email), the outbox message stays pending, and once the runner's
lease has passed the beat sweeper hands it to another worker, which fulfils the order once and
emails the customer once."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from ipmart.core import outbox
from ipmart.core.models import OutboxMessage
from orders.models import Fulfilment, LicenceKey, LicenceKeyStatus, OrderStatus
from tests.celery_app import forget_connections
from tests.factories import LicenceKeyFactory, OrderFactory, OrderLineFactory, ProductFactory
from tests.faults.invariants import assert_store_invariants
from tests.orders.conftest import wait_until

pytestmark = [pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def broker(private_redis):
    """The test process publishes to the private Redis (workers consume from it)."""
    from ipmart.celery import app

    keys = ["broker_url", "result_backend", "task_always_eager"]
    previous = {key: app.conf[key] for key in keys}
    app.conf.update(broker_url=private_redis.url, result_backend=None, task_always_eager=False)
    forget_connections(app)
    yield app
    app.conf.update(**previous)
    forget_connections(app)


def start_worker_process(private_redis, tmp_path) -> subprocess.Popen:
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "tests.faults.worker_settings",
        "CELERY_BROKER_URL": private_redis.url,
        "DATABASE_URL": database_url(),
        "OUTBOX_RUN_LEASE_SECONDS": "2",
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "ipmart",
            "worker",
            "-P",
            "solo",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=open(tmp_path / "worker.log", "ab"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
    )


def test_worker_killed_mid_fulfilment_then_another_fulfils_once(
    private_redis, broker, tmp_path, settings, caplog
):
    from celery.contrib.testing.worker import start_worker

    settings.OUTBOX_RELAY_LEASE_SECONDS = 2  # the sweeper may relay again 2 s after a relay

    # given a paid order whose fulfilment message is queued
    product = ProductFactory(licence=True)
    order = OrderFactory(status=OrderStatus.PAID, paid_at=timezone.now())
    line = OrderLineFactory(order=order, product=product)
    LicenceKeyFactory(product=product, status=LicenceKeyStatus.RESERVED, order_line=line)
    marker = tmp_path / "started"
    worker = start_worker_process(private_redis, tmp_path)
    try:
        with transaction.atomic():
            message = outbox.enqueue(
                "tests.faults.handlers.fulfil_then_hang", order.pk, str(marker)
            )
        # when the worker is killed in the middle of the fulfilment's transaction
        wait_until(marker.exists, timeout=60, what="the worker starting the fulfilment")
        os.kill(int(marker.read_text()), signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
    # then nothing it did is left: no fulfilment, the key still reserved, no email
    assert worker.returncode == -signal.SIGKILL
    assert not Fulfilment.objects.filter(order=order).exists()
    assert list(LicenceKey.objects.filter(order_line=line).values_list("status", flat=True)) == [
        LicenceKeyStatus.RESERVED
    ]
    message.refresh_from_db()
    assert message.done_at is None and message.attempts == 1
    assert outbox.relay_pending() == 0  # still held by the dead runner's lease

    # when the lease has passed and beat's sweeper runs with another worker up
    def due_again() -> bool:
        held = OutboxMessage.objects.get(pk=message.pk)
        return held.locked_until < timezone.now() and held.relay_after <= timezone.now()

    wait_until(due_again, timeout=30, what="the dead runner's lease passing")
    with start_worker(broker, pool="solo", perform_ping_check=False, loglevel="WARNING"):
        assert outbox.relay_pending() == 1
        wait_until(
            lambda: (
                not OutboxMessage.objects.filter(done_at__isnull=True).exists()
                and len(mail.outbox) >= 1
            ),
            timeout=60,
            what="the order fulfilled and emailed by the second worker",
        )
    # then it is fulfilled once and emailed once
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED
    assert Fulfilment.objects.filter(order=order).count() == 1
    assert [m.to for m in mail.outbox] == [[order.email]]
    assert OutboxMessage.objects.get(pk=message.pk).attempts == 2
    assert_store_invariants(caplog.records)
