"""What operators watch: one log line per request (JSON in production) and the Prometheus
metrics endpoint, readable from the internal network only.

`/metrics` serves django-prometheus's request, response and latency metrics plus two gauges read
when scraped: the Celery queue length (messages waiting in the broker) and the age of the oldest
unfinished outbox message (`ipmart.core.models.OutboxMessage`), the first sign of a stuck relay
or worker. Each gunicorn process keeps its own request counters; the two gauges are read from
the broker and the database, so any process answers them for the whole stack."""

import ipaddress
import logging
import time

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django_prometheus.exports import ExportToDjangoView
from prometheus_client.core import REGISTRY, GaugeMetricFamily

request_logger = logging.getLogger("ipmart.request")

PROBE_PATHS = {"/healthz", "/readyz", "/metrics"}


def request_id(request: HttpRequest) -> str:
    """The request's id: set by the request-id middleware when there is one, else the
    X-Request-ID header (the proxy sets one per request)."""
    return str(getattr(request, "request_id", "") or request.META.get("HTTP_X_REQUEST_ID", ""))


class RequestLogMiddleware:
    """One line per request: method, path, status, duration, user id and request id (JSON keys
    with the production log format). Probes and scrapes are not logged."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.monotonic()
        response = self.get_response(request)
        if request.path_info not in PROBE_PATHS:
            user = getattr(request, "user", None)
            request_logger.info(
                "%s %s %s",
                request.method,
                request.path_info,
                response.status_code,
                extra={
                    "request_id": request_id(request),
                    "method": request.method,
                    "path": request.path_info,
                    "status": response.status_code,
                    "duration_ms": round((time.monotonic() - started) * 1000, 1),
                    "user_id": user.pk if user is not None and user.is_authenticated else None,
                },
            )
        return response


def _internal(request: HttpRequest) -> bool:
    """From an allowed network and not relayed by the proxy (which adds X-Forwarded-For)."""
    if "HTTP_X_FORWARDED_FOR" in request.META:
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(
        address in ipaddress.ip_network(network, strict=False)
        for network in settings.METRICS_ALLOWED_NETWORKS
    )


def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format, for the internal network only (404 to anyone else)."""
    if not _internal(request):
        raise Http404
    return ExportToDjangoView(request)


def celery_queue_length() -> int | None:
    """Messages waiting in the default Celery queue; None when tasks run in-process or the
    broker does not answer."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return None
    from kombu.exceptions import ChannelError

    from ipmart.celery import app

    try:
        with app.connection_for_read() as connection:
            queue = app.conf.task_default_queue
            try:
                declared = connection.default_channel.queue_declare(queue=queue, passive=True)
            except ChannelError:  # NOT_FOUND: nothing was ever queued (or all was taken)
                return 0
            return int(declared.message_count)
    except Exception:
        return None


def oldest_outbox_age_seconds() -> float:
    """Seconds since the oldest unfinished outbox message was written (0 when none waits)."""
    from ipmart.core.models import OutboxMessage

    oldest = (
        OutboxMessage.objects.filter(done_at__isnull=True)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    return max(0.0, (timezone.now() - oldest).total_seconds()) if oldest else 0.0


class StackCollector:
    """Gauges read at scrape time (registered once, by CoreConfig.ready)."""

    def describe(self):
        # Names only: registering must not touch the broker or the database.
        yield GaugeMetricFamily("ipmart_celery_queue_length", "")
        yield GaugeMetricFamily("ipmart_outbox_oldest_pending_age_seconds", "")

    def collect(self):
        queue = GaugeMetricFamily(
            "ipmart_celery_queue_length", "Messages waiting in the Celery broker's default queue."
        )
        length = celery_queue_length()
        if length is not None:
            queue.add_metric([], length)
        yield queue
        age = GaugeMetricFamily(
            "ipmart_outbox_oldest_pending_age_seconds",
            "Age of the oldest outbox message not finished yet (0 when none).",
        )
        try:
            age.add_metric([], oldest_outbox_age_seconds())
        except Exception:  # the database is down: say nothing rather than fail the scrape
            pass
        yield age


_registered = False


def register_collector() -> None:
    global _registered
    if not _registered:
        REGISTRY.register(StackCollector())
        _registered = True
