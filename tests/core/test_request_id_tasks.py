"""Work a request starts keeps the request's id in the worker's log lines: an outbox message
stores the enqueuing request's id, and its handler runs under it, whether the message went to
the broker at once (in a message header too) or was relayed later by the sweeper."""

import json
import logging
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.http import HttpResponse
from django.test import RequestFactory

from ipmart.core import outbox
from ipmart.core.models import OutboxMessage
from ipmart.core.request_id import (
    HEADER,
    RequestIdFilter,
    RequestIdMiddleware,
    current_request_id,
    request_id_context,
)
from tests.celery_app import forget_connections
from tests.core import task_handlers
from tests.orders.conftest import wait_until

ROOT = Path(__file__).resolve().parents[2]
HANDLER = "tests.core.task_handlers.log_line"


def _request_that_enqueues(marker: str) -> str:
    """A request through the real middleware whose view enqueues one message; returns the
    X-Request-ID it answered with."""

    def view(request):
        with transaction.atomic():
            outbox.enqueue(HANDLER, marker)
        return HttpResponse("ok")

    response = RequestIdMiddleware(view)(RequestFactory().post("/anything/"))
    return response[HEADER]


@pytest.mark.django_db
def test_a_message_keeps_the_enqueuing_requests_id_and_its_handler_runs_under_it(monkeypatch):
    # given a request that enqueued a message whose relay after commit was lost
    monkeypatch.setattr(outbox.transaction, "on_commit", lambda callback: None)
    task_handlers.SEEN.clear()
    request_id = _request_that_enqueues("unit")
    message = OutboxMessage.objects.get()
    assert (message.request_id, len(request_id)) == (request_id, 32)
    assert current_request_id() == "-"  # the request is over

    # when a runner outside any request (the sweeper's) runs it
    assert outbox.run_message(message.pk) is True

    # then the handler ran under the request's id, and the id is back to none afterwards
    assert task_handlers.SEEN == [request_id]
    assert current_request_id() == "-"


@pytest.mark.django_db
def test_a_message_enqueued_outside_a_request_has_no_id():
    with transaction.atomic():
        message = outbox.enqueue(HANDLER, "beat")
    assert OutboxMessage.objects.get(pk=message.pk).request_id == ""


def test_the_production_json_log_line_carries_the_id():
    from pythonjsonlogger.json import JsonFormatter

    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "handled %s", ("m",), None)
    with request_id_context("abc123def456"):
        RequestIdFilter().filter(record)
    line = json.loads(
        JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s").format(record)
    )
    assert (line["request_id"], line["message"]) == ("abc123def456", "handled m")


# --- a real worker process, its log lines read from its output


def _database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def broker(redis_url):
    """Tasks go to the broker, on a queue of this test's own (another worker on the same
    Redis, from another test run, must not take them)."""
    from ipmart.celery import app

    keys = ["broker_url", "result_backend", "task_always_eager", "task_default_queue"]
    previous = {key: app.conf[key] for key in keys}
    app.conf.update(
        broker_url=redis_url,
        result_backend=None,
        task_always_eager=False,
        task_default_queue=f"request-id-test-{uuid.uuid4().hex[:8]}",
    )
    forget_connections(app)
    yield app
    app.conf.update(**previous)
    forget_connections(app)


@pytest.fixture
def worker_log(broker, postgres, tmp_path):
    """A Celery worker process (the test settings, tasks through the broker) logging at INFO
    into a file; yields a function returning the file's lines."""
    log = tmp_path / "worker.log"
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "tests.faults.worker_settings",
        "CELERY_BROKER_URL": broker.conf.broker_url,
        "DATABASE_URL": _database_url(),
        "PYTHONPATH": str(ROOT),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "ipmart",
            "worker",
            "-P",
            "solo",
            "-l",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-Q",
            broker.conf.task_default_queue,
        ],
        cwd=ROOT,
        env=env,
        stdout=open(log, "ab"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
    )
    try:
        yield lambda: log.read_text(errors="replace").splitlines()
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _line_naming(lines, marker: str) -> str:
    found = [line for line in lines if f"handled {marker}" in line]
    return found[0] if len(found) == 1 else ""


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_the_worker_logs_a_handlers_line_with_the_enqueuing_requests_id(worker_log, monkeypatch):
    # given a request that enqueued a message, relayed to the broker after its commit
    relayed_at_once = f"relayed-{uuid.uuid4().hex[:8]}"
    first_id = _request_that_enqueues(relayed_at_once)
    # and another whose relay after commit was lost (the sweeper relays it, outside any request)
    later = f"swept-{uuid.uuid4().hex[:8]}"
    with monkeypatch.context() as patch:
        patch.setattr(outbox.transaction, "on_commit", lambda callback: None)
        second_id = _request_that_enqueues(later)
    assert current_request_id() == "-"
    assert outbox.relay_pending() == 1

    # when the worker has run both
    wait_until(
        lambda: OutboxMessage.objects.filter(done_at__isnull=False).count() == 2,
        timeout=180,
        what="the worker running both messages",
    )
    lines = wait_until(
        lambda: (
            lambda ls: ls if _line_naming(ls, later) and _line_naming(ls, relayed_at_once) else None
        )(worker_log()),
        timeout=20,
        what="the worker's log lines",
    )

    # then each handler's line in the worker's output carries its own request's id
    assert first_id != second_id
    assert f"[{first_id}] tests.core.task_handlers handled {relayed_at_once}" in _line_naming(
        lines, relayed_at_once
    )
    assert f"[{second_id}] tests.core.task_handlers handled {later}" in _line_naming(lines, later)
