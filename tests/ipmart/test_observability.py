"""The metrics endpoint answers the internal network only and carries the stack's gauges; each
request is one log line with its id, user, status and duration (JSON in production)."""

import datetime
import json
import logging

import pytest
from django.utils import timezone

from ipmart.core.models import OutboxMessage
from ipmart.core.observability import oldest_outbox_age_seconds

from .project_process import run
from .test_settings import PRODUCTION_ENV

pytestmark = pytest.mark.django_db


def test_metrics_answer_the_internal_network_with_the_queue_and_outbox_gauges(client):
    # given an unfinished outbox message written ten minutes ago
    OutboxMessage.objects.create(
        handler="orders.tasks.nothing", created_at=timezone.now() - datetime.timedelta(minutes=10)
    )
    # when Prometheus scrapes from inside the stack
    response = client.get("/metrics", REMOTE_ADDR="172.30.57.20")
    # then
    assert response.status_code == 200
    text = response.content.decode()
    assert "django_http_requests_total_by_method_total" in text
    assert "ipmart_outbox_oldest_pending_age_seconds 6" in text  # ~600 s
    assert "# TYPE ipmart_celery_queue_length gauge" in text


@pytest.mark.parametrize(
    "meta",
    [
        {"REMOTE_ADDR": "203.0.113.7"},
        # relayed by the proxy: never, whatever the socket address
        {"REMOTE_ADDR": "172.30.57.10", "HTTP_X_FORWARDED_FOR": "10.0.0.5"},
    ],
)
def test_metrics_are_a_404_to_anyone_else(client, meta):
    assert client.get("/metrics", **meta).status_code == 404


def test_the_oldest_outbox_age_ignores_finished_messages():
    assert oldest_outbox_age_seconds() == 0.0
    OutboxMessage.objects.create(
        handler="x.y",
        created_at=timezone.now() - datetime.timedelta(hours=1),
        done_at=timezone.now(),
    )
    assert oldest_outbox_age_seconds() == 0.0


def test_celery_queue_length_is_read_from_the_broker(redis_url, settings):
    from ipmart.celery import app
    from ipmart.core.observability import celery_queue_length

    settings.CELERY_TASK_ALWAYS_EAGER = False
    previous = app.conf.broker_url
    app.conf.broker_url = redis_url
    try:
        with app.connection_for_write() as connection:
            channel = connection.default_channel
            channel.queue_declare(queue="celery", passive=False, durable=True, auto_delete=False)
            channel.queue_purge("celery")
            producer = connection.Producer()
            for _ in range(3):
                producer.publish({"x": 1}, routing_key="celery", serializer="json")
        assert celery_queue_length() == 3
        with app.connection_for_write() as connection:
            connection.default_channel.queue_purge("celery")
    finally:
        app.conf.broker_url = previous


def test_each_request_is_one_log_line_with_its_request_id(client, caplog, settings):
    settings.TRUSTED_PROXY_COUNT = 1  # behind the proxy, its X-Request-ID is kept
    with caplog.at_level(logging.INFO, logger="ipmart.request"):
        client.get("/shop/", HTTP_X_REQUEST_ID="abc-12345")
    (record,) = [r for r in caplog.records if r.name == "ipmart.request"]
    assert (record.request_id, record.status, record.path, record.user_id) == (
        "abc-12345",
        200,
        "/shop/",
        None,
    )
    assert record.duration_ms >= 0


def test_production_logs_json_lines():
    # when production settings log a line
    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('ipmart.request').info('GET / 200', "
        "extra={'request_id': 'r-1', 'status': 200, 'user_id': 7, 'duration_ms': 3.2})"
    )
    result = run(["-c", code], PRODUCTION_ENV)
    # then stderr holds one JSON object with the request's facts
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert line["message"] == "GET / 200"
    assert (line["request_id"], line["status"], line["user_id"]) == ("r-1", 200, 7)
    assert line["level"] == "INFO" and line["logger"] == "ipmart.request"


def test_an_empty_broker_queue_is_zero(redis_url, settings):
    from ipmart.celery import app
    from ipmart.core.observability import celery_queue_length

    settings.CELERY_TASK_ALWAYS_EAGER = False
    previous = app.conf.broker_url
    app.conf.broker_url = redis_url
    try:
        with app.connection_for_write() as connection:
            connection.default_channel.queue_purge("celery")
        assert celery_queue_length() == 0
    finally:
        app.conf.broker_url = previous
