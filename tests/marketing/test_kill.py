"""Kill test: SIGKILL a worker process (and its pool children) in the middle of a
2,000-recipient campaign, start a new worker; every recipient gets at most one email and the
delivery rows account for all of them (sent, or "unknown" for the few caught mid-send)."""

import collections
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

from ipmart.celery import app
from ipmart.core import outbox
from marketing import services
from marketing.models import (
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from marketing.sending import CLAIM_CHUNK
from tests.celery_app import forget_connections
from tests.factories import CampaignFactory, StaffFactory
from tests.factories.marketing import topic

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
RECIPIENTS = 2000


def _audience(n: int) -> None:
    from django.contrib.auth import get_user_model

    User = get_user_model()
    users = User.objects.bulk_create(
        [
            User(email=f"kill{i}@example.com", full_name=f"Person {i}", password="!")
            for i in range(n)
        ]
    )
    subscribers = Subscriber.objects.bulk_create([Subscriber(user=u) for u in users])
    news = topic()
    Subscription.objects.bulk_create(
        [
            Subscription(
                subscriber=s,
                topic=news,
                status=SubscriptionStatus.SUBSCRIBED,
                version=news.current_version,
            )
            for s in subscribers
        ]
    )


def _database_url() -> str:
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{s['USER']}{password}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _start_worker(redis_url: str, smtp_port: int, log: Path) -> subprocess.Popen:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_"))},
        "DJANGO_SETTINGS_MODULE": "ipmart.settings.local",
        "DEBUG": "0",
        "SECRET_KEY": django_settings.SECRET_KEY,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "MARKETING_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "MARKETING_BATCH_SIZE": "100",
        "OUTBOX_RUN_LEASE_SECONDS": "4",
        "OUTBOX_RELAY_LEASE_SECONDS": "4",
        "LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "ipmart",
            "worker",
            "--pool=prefork",
            "--concurrency=2",
            "--prefetch-multiplier=1",
            "-l",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _kill(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


@pytest.fixture
def broker(redis_url, settings):
    """This process publishes to Redis (not eagerly) so a separate worker runs the tasks."""
    keys = ["broker_url", "result_backend", "task_always_eager"]
    previous = {key: app.conf[key] for key in keys}
    app.conf.update(broker_url=redis_url, result_backend=None, task_always_eager=False)
    forget_connections(app)
    import redis

    redis.Redis.from_url(redis_url).delete("celery")  # no stale messages from earlier runs
    settings.OUTBOX_RELAY_LEASE_SECONDS = 4
    yield redis_url
    app.conf.update(**previous)
    forget_connections(app)


def test_a_worker_killed_mid_campaign_loses_or_duplicates_nothing_unaccounted(
    postgres, broker, smtp_server, settings, tmp_path
):
    import asyncio

    # the loopback server takes a few milliseconds per message, like a real one
    original = smtp_server.handle_DATA

    async def slow(server, session, envelope):
        await asyncio.sleep(0.004)
        return await original(server, session, envelope)

    smtp_server.handle_DATA = slow
    # given 2,000 confirmed subscribers and a running worker
    _audience(RECIPIENTS)
    campaign = CampaignFactory()
    log = tmp_path / "worker.log"
    first = _start_worker(broker, smtp_server.port, log)
    try:
        # when the campaign starts and the worker is SIGKILLed mid-way
        services.schedule_campaign(campaign, send_at=None, acting_user=StaffFactory())
        deadline = time.monotonic() + 90
        while smtp_server.count() < 300 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert smtp_server.count() >= 300, log.read_text()[-3000:]
        _kill(first)
        received_before_kill = smtp_server.count()
        assert received_before_kill < RECIPIENTS
    finally:
        if first.poll() is None:
            _kill(first)
    # and a new worker starts; beat's jobs (outbox sweeper, stuck-row reaper) run meanwhile
    second = _start_worker(broker, smtp_server.port, log)
    try:
        settings.MARKETING_STUCK_AFTER_SECONDS = 8
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.SENT:
                break
            time.sleep(2)
            outbox.relay_pending()
            services.mark_stuck_deliveries()
        status = Campaign.objects.get(pk=campaign.pk).status
        rows = collections.Counter(Delivery.objects.values_list("status", flat=True))
        assert status == CampaignStatus.SENT, (rows, log.read_text()[-3000:])
    finally:
        _kill(second)
    # then nobody got two emails
    received = collections.Counter(m["To"] for m in smtp_server.messages())
    assert max(received.values()) == 1
    # and the rows account for everyone: sent, or unknown (caught between claim and record)
    by_email = dict(Delivery.objects.values_list("subscriber__user__email", "status"))
    assert len(by_email) == RECIPIENTS
    assert set(by_email.values()) <= {DeliveryStatus.SENT, DeliveryStatus.UNKNOWN}
    sent = {e for e, s in by_email.items() if s == DeliveryStatus.SENT}
    unknown = {e for e, s in by_email.items() if s == DeliveryStatus.UNKNOWN}
    assert sent <= set(received)  # every row marked sent was received
    assert set(received) <= sent | unknown  # every email received has its row
    assert len(unknown) <= 2 * CLAIM_CHUNK  # at most one claimed chunk per pool process
    assert len(received) >= RECIPIENTS - len(unknown)
