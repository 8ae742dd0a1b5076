"""Liveness and readiness probes for the orchestrator."""

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@never_cache
@require_GET
def healthz(request):
    """The process answers. Touches no database or broker, so a database outage does not make
    the orchestrator restart healthy web processes."""
    return JsonResponse({"status": "ok"})


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        return False


def _broker_ok() -> bool:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return True  # tasks run in-process: there is no broker to reach
    from ipmart.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        return False


@never_cache
@require_GET
def readyz(request):
    """Ready to serve: the database and the Celery broker answer. 503 otherwise."""
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    ready = all(checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )


def _metrics(request):
    from .observability import metrics

    return metrics(request)


class ProbeMiddleware:
    """Answers /healthz, /readyz and /metrics (internal network only) before anything else runs,
    so an orchestrator's probe or Prometheus on a container address works whatever
    ALLOWED_HOSTS lists and is never redirected to HTTPS. The same views are in the URLconf."""

    PROBES = {"/healthz": healthz, "/readyz": readyz, "/metrics": _metrics}

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        probe = self.PROBES.get(request.path_info)
        if probe is not None:
            return probe(request)
        return self.get_response(request)
