"""Every request gets an id: the trusted proxy's `X-Request-ID` when a proxy is in front
(TRUSTED_PROXY_COUNT > 0) and its value looks like an id, else a new one. It is in the
response's `X-Request-ID` header, on every log line written while the request runs (the
logging filter below), and on the production 500 page, so a customer's "error ABC123" finds the
log lines at once.

The id follows the work a request started into the Celery worker: an outbox message keeps the
id of the request that enqueued it (`OutboxMessage.request_id`, so a message the sweeper relays
later still carries it) and the runner sets it while the handler runs; any other task published
during a request carries it in a message header (`connect_celery_signals`). The worker's log
lines show it as the web's do."""

import contextlib
import contextvars
import logging
import re
import uuid
from collections.abc import Iterator

from django.conf import settings
from django.http import HttpResponseServerError
from django.template import loader

HEADER = "X-Request-ID"
_VALID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
_current: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def current_request_id() -> str:
    return _current.get()


@contextlib.contextmanager
def request_id_context(request_id: str | None) -> Iterator[None]:
    """Log lines written inside carry `request_id` (work a request started, run later in a
    worker); None or "" keeps the current one."""
    if not request_id:
        yield
        return
    token = _current.set(request_id)
    try:
        yield
    finally:
        _current.reset(token)


def _incoming(request) -> str | None:
    if settings.TRUSTED_PROXY_COUNT <= 0:
        return None  # nobody vouches for the header: a client could forge log correlation
    value = request.headers.get(HEADER, "")
    return value if _VALID.match(value) else None


class RequestIdMiddleware:
    """First in MIDDLEWARE, so the id exists before anything logs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = _incoming(request) or uuid.uuid4().hex
        request.request_id = request_id
        token = _current.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response[HEADER] = request_id
        return response


class RequestIdFilter(logging.Filter):
    """Adds `record.request_id` (the current request's id, "-" outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _current.get()
        return True


def server_error(request, template_name: str = "500.html"):
    """handler500: Django's page, plus the request id to quote to support. Rendered without
    the request's context processors (the database may be what failed)."""
    request_id = getattr(request, "request_id", None) or _current.get()
    html = loader.get_template(template_name).render({"request_id": request_id})
    response = HttpResponseServerError(html)
    response[HEADER] = request_id
    return response


# --- Celery: the id travels with a task as a message header and is set while the task runs.
CELERY_HEADER = "ipmart_request_id"


def _add_header(sender=None, headers=None, **kwargs) -> None:
    request_id = _current.get()
    if headers is not None and request_id != "-":
        headers.setdefault(CELERY_HEADER, request_id)


def _task_started(sender=None, task=None, **kwargs) -> None:
    request_id = getattr(task.request, CELERY_HEADER, None) if task is not None else None
    if request_id and _VALID.match(str(request_id)):
        task.request._ipmart_request_id_token = _current.set(str(request_id))


def _task_finished(sender=None, task=None, **kwargs) -> None:
    token = getattr(task.request, "_ipmart_request_id_token", None) if task is not None else None
    if token is not None:
        task.request._ipmart_request_id_token = None
        try:
            _current.reset(token)
        except ValueError:  # set in another context (should not happen): forget it
            _current.set("-")


def _filter_worker_handlers(sender=None, logger=None, **kwargs) -> None:
    """Celery's own logging setup (the worker's handlers, when it owns the root logger) gets
    the filter, so its format may name `%(request_id)s` (CELERY_WORKER_LOG_FORMAT)."""
    for handler in getattr(logger, "handlers", []):
        if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
            handler.addFilter(RequestIdFilter())


def connect_celery_signals() -> None:
    from celery import signals

    signals.before_task_publish.connect(_add_header, weak=False, dispatch_uid="ipmart-rid-pub")
    signals.task_prerun.connect(_task_started, weak=False, dispatch_uid="ipmart-rid-pre")
    signals.task_postrun.connect(_task_finished, weak=False, dispatch_uid="ipmart-rid-post")
    signals.after_setup_logger.connect(
        _filter_worker_handlers, weak=False, dispatch_uid="ipmart-rid-log"
    )
    signals.after_setup_task_logger.connect(
        _filter_worker_handlers, weak=False, dispatch_uid="ipmart-rid-task-log"
    )
