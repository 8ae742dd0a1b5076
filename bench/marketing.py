"""`make bench`, marketing part: a campaign to N subscribers through the Celery worker, Redis and
a loopback SMTP server, against a plain loop sending the same number of pre-built messages over
one connection to the same server, in the same run. Prints emails/s of both, their ratio
(target >= 0.6) and the worker's peak RSS (target < 250 MB, and no growth from the small to the
large audience).

Needs Redis (the broker) and, to mean anything, PostgreSQL; without Redis it says so and
skips. Sizes: BENCH_MARKETING_SIZES (default "10000,50000")."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = [int(n) for n in os.environ.get("BENCH_MARKETING_SIZES", "10000,50000").split(",")]
# The worker as compose runs it (docker-compose.yml): BENCH_MARKETING_POOL=prefork:2 for processes.
POOL, CONCURRENCY = os.environ.get("BENCH_MARKETING_POOL", "threads:4").split(":")
RATIO_TARGET, RSS_TARGET_MB = 0.6, 250


# --- a minimal SMTP sink (stdlib only: make bench runs without the test extras)


class _Sink(asyncio.Protocol):
    received = 0

    def connection_made(self, transport):
        self.transport, self.buffer, self.in_data = transport, b"", False
        transport.write(b"220 sink ESMTP\r\n")

    def data_received(self, data):
        self.buffer += data
        while True:
            if self.in_data:
                end = self.buffer.find(b"\r\n.\r\n")
                if end < 0:
                    return
                self.buffer, self.in_data = self.buffer[end + 5 :], False
                _Sink.received += 1
                self.transport.write(b"250 2.0.0 queued\r\n")
                continue
            line_end = self.buffer.find(b"\r\n")
            if line_end < 0:
                return
            line, self.buffer = self.buffer[:line_end], self.buffer[line_end + 2 :]
            verb = line[:4].upper()
            if verb == b"EHLO":
                self.transport.write(b"250-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
            elif verb == b"DATA":
                self.in_data = True
                self.transport.write(b"354 go ahead\r\n")
            elif verb == b"QUIT":
                self.transport.write(b"221 bye\r\n")
                self.transport.close()
                return
            else:
                self.transport.write(b"250 OK\r\n")


def run_sink(port: int) -> None:
    async def serve():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_Sink, "127.0.0.1", port)
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_port(port: int) -> None:
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


# --- the worker's memory


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _family(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                todo.extend(int(c) for c in children)
        except OSError:
            pass
    return pids


class PeakRSS(threading.Thread):
    """Samples the worker (main process and pool children) every 100 ms."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak_total, self.peak_process, self.stop = pid, 0, 0, threading.Event()

    def run(self):
        while not self.stop.is_set():
            sizes = [_rss_kb(p) for p in _family(self.pid)]
            self.peak_total = max(self.peak_total, sum(sizes))
            self.peak_process = max(self.peak_process, max(sizes, default=0))
            time.sleep(0.1)


# --- the two measurements


def _audience(n: int, run: str):
    from django.contrib.auth import get_user_model

    from marketing.models import Subscriber, Subscription, SubscriptionStatus
    from marketing.services import save_topic

    User = get_user_model()
    topic = save_topic(  # a topic of its own: the audience is exactly the bench's subscribers
        None,
        code=f"bench-{run}",
        position=99,
        is_active=True,
        name_en="Bench",
        name_ms="Bench",
        consent_text_en="Bench.",
        consent_text_ms="Bench.",
    )
    for start in range(0, n, 5000):
        users = User.objects.bulk_create(
            [
                User(email=f"bench-{run}-{i}@example.com", full_name=f"Bench {i}", password="!")
                for i in range(start, min(n, start + 5000))
            ]
        )
        subscribers = Subscriber.objects.bulk_create([Subscriber(user=u) for u in users])
        Subscription.objects.bulk_create(
            [
                Subscription(
                    subscriber=s,
                    topic=topic,
                    status=SubscriptionStatus.SUBSCRIBED,
                    version=topic.current_version,
                )
                for s in subscribers
            ]
        )
    return topic


def _cleanup(run: str) -> None:
    from django.contrib.auth import get_user_model

    from marketing.models import Campaign, Subscriber, Subscription, Topic, TopicVersion

    Campaign.objects.filter(topic__code=f"bench-{run}").delete()
    Subscription.objects.filter(topic__code=f"bench-{run}").delete()
    Subscriber.objects.filter(user__email__startswith=f"bench-{run}-").delete()
    get_user_model().objects.filter(email__startswith=f"bench-{run}-").delete()
    Topic.objects.filter(code=f"bench-{run}").update(current_version=None)
    TopicVersion.objects.filter(topic__code=f"bench-{run}").delete()
    Topic.objects.filter(code=f"bench-{run}").delete()


def _campaign(topic, run: str):
    from marketing.models import Campaign

    text = "Hello {{ name }},\nNew arrivals.\nUnsubscribe: {{ unsubscribe_url }}\nPreferences: {{ preferences_url }}\n"
    html = '<p>Hello {{ name }},</p><p>New arrivals.</p><p><a href="{{ unsubscribe_url }}">Unsubscribe</a> <a href="{{ preferences_url }}">Preferences</a></p>'
    return Campaign.objects.create(
        name=f"bench {run}",
        topic=topic,
        subject_en="New arrivals",
        subject_ms="Barangan baharu",
        body_text_en=text,
        body_text_ms=text,
        body_html_en=html,
        body_html_ms=html,
    )


def plain_loop(n: int, port: int, campaign) -> float:
    """Emails/s of Django's SMTP backend sending n pre-built messages over one connection."""
    from django.core.mail import get_connection

    from marketing.models import Subscriber
    from marketing.rendering import CampaignRenderer

    subscriber = Subscriber()  # an unsaved one: only its public id goes into the links
    renderer = CampaignRenderer(campaign)
    messages = [
        renderer.message(subscriber, to_email=f"plain{i}@example.com", name="Bench", language="en")
        for i in range(n)
    ]
    connection = get_connection(
        "django.core.mail.backends.smtp.EmailBackend", host="127.0.0.1", port=port
    )
    started = time.perf_counter()
    connection.open()
    for message in messages:
        connection.send_messages([message])
    connection.close()
    return n / (time.perf_counter() - started)


def through_the_worker(n: int, port: int, run: str, env: dict) -> tuple[float, float, int, int]:
    """Emails/s of a campaign to n subscribers (schedule → sent), emails/s of the plain loop
    sending as many messages of the same campaign, and the worker's peak RSS (all its
    processes, and the largest one) in kB."""
    from marketing import services
    from marketing.models import Campaign, CampaignStatus, Delivery, DeliveryStatus

    topic = _audience(n, run)
    campaign = _campaign(topic, run)
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "ipmart",
            "worker",
            f"--pool={POOL}",
            f"--concurrency={CONCURRENCY}",
            "--prefetch-multiplier=1",
            "-l",
            "WARNING",
        ],
        cwd=ROOT,
        env={**env, "EMAIL_PORT": str(port)},
        start_new_session=True,
    )
    sampler = PeakRSS(worker.pid)
    sampler.start()
    try:
        time.sleep(4)  # the worker boots (not part of the measurement)
        started = time.perf_counter()
        services.schedule_campaign(campaign, send_at=None, acting_user=None)
        deadline = time.monotonic() + 60 + n / 20
        while time.monotonic() < deadline:
            if Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.SENT).exists():
                break
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
        sent = Delivery.objects.filter(campaign=campaign, status=DeliveryStatus.SENT).count()
        if sent != n:
            raise RuntimeError(f"the campaign sent {sent} of {n}")
        sampler.stop.set()
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
        loop_rate = plain_loop(n, port, campaign)
    finally:
        sampler.stop.set()
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=30)
        _cleanup(run)
    return n / elapsed, loop_rate, sampler.peak_total, sampler.peak_process


def marketing_bench() -> None:
    """Called by bench/run.py after the page measurements (Django is set up)."""
    from django.conf import settings

    if settings.CELERY_TASK_ALWAYS_EAGER:
        print("\nmarketing: skipped (no Redis broker on this machine)")
        return
    from ipmart.celery import app

    app.conf.task_always_eager = False
    port = _free_port()
    sink = subprocess.Popen(
        [sys.executable, str(Path(__file__)), "sink", str(port)], start_new_session=True
    )
    _wait_port(port)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ipmart.settings.bench",
        "MARKETING_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
    }
    rows = []
    try:
        for n in SIZES:
            run = f"{int(time.time())}-{n}"
            campaign_rate, loop_rate, total_kb, process_kb = through_the_worker(n, port, run, env)
            rows.append((n, campaign_rate, loop_rate, total_kb, process_kb))
    finally:
        os.killpg(sink.pid, signal.SIGTERM)
        sink.wait(timeout=10)
    database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(
        f"\nmarketing: campaign through a Celery worker ({POOL} x{CONCURRENCY}) + Redis + loopback SMTP vs a plain loop over one connection; database {database}"
    )
    print(
        f"{'recipients':>10}{'campaign/s':>12}{'plain/s':>10}{'ratio':>8}{'target':>8}"
        f"{'worker MB':>11}{'largest MB':>12}"
    )
    for n, campaign_rate, loop_rate, total_kb, process_kb in rows:
        ratio = campaign_rate / loop_rate
        verdict = "ok" if ratio >= RATIO_TARGET and total_kb / 1024 < RSS_TARGET_MB else "LOW"
        print(
            f"{n:>10}{campaign_rate:>12.0f}{loop_rate:>10.0f}{ratio:>8.3f}{RATIO_TARGET:>8}"
            f"{total_kb / 1024:>11.1f}{process_kb / 1024:>12.1f} {verdict}"
        )
    if len(rows) > 1:
        growth = rows[-1][3] / max(rows[0][3], 1)
        print(
            f"worker peak RSS {rows[-1][0]} vs {rows[0][0]} recipients: x{growth:.2f} (target: no growth, < x1.10) "
            + ("ok" if growth < 1.10 else "GROWS")
        )


if __name__ == "__main__" and sys.argv[1:2] == ["sink"]:
    run_sink(int(sys.argv[2]))
