"""Every request gets an id: the trusted proxy's `X-Request-ID` when a proxy is in front
(TRUSTED_PROXY_COUNT > 0) and its value looks like an id, else a new one. It is in the
response's `X-Request-ID` header, on every log line written while the request runs (the
logging filter below), and on the production 500 page, so a customer's "error ABC123" finds the
log lines at once."""

import contextvars
import logging
import re
import uuid

from django.conf import settings
from django.http import HttpResponseServerError
from django.template import loader

HEADER = "X-Request-ID"
_VALID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
_current: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def current_request_id() -> str:
    return _current.get()


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
