"""Every response carries an X-Request-ID (the trusted proxy's, else generated), every log line
written during the request carries it, and the production 500 page shows it."""

import io
import logging
import re

import pytest
from django.conf import settings as django_settings

from ipmart.core.request_id import RequestIdFilter

pytestmark = pytest.mark.django_db

GENERATED = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture
def log_lines():
    """The log lines as the configured console handler would write them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        logging.Formatter(django_settings.LOGGING["formatters"]["plain"]["format"])
    )
    root = logging.getLogger()
    root.addHandler(handler)
    yield lambda: stream.getvalue().splitlines()
    root.removeHandler(handler)


def test_the_console_handler_is_configured_with_the_request_id():
    assert django_settings.LOGGING["handlers"]["console"]["filters"] == ["request_id"]
    assert "%(request_id)s" in django_settings.LOGGING["formatters"]["plain"]["format"]
    assert django_settings.MIDDLEWARE[0] == "ipmart.core.request_id.RequestIdMiddleware"


def test_every_response_gets_a_generated_id(client):
    first, second = client.get("/shop/"), client.get("/healthz")
    assert GENERATED.match(first["X-Request-ID"]) and GENERATED.match(second["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_a_client_cannot_choose_its_id_without_a_trusted_proxy(client, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    response = client.get("/shop/", headers={"X-Request-ID": "forged-id-12345"})
    assert GENERATED.match(response["X-Request-ID"])


def test_the_trusted_proxys_id_is_kept_and_garbage_replaced(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    kept = client.get("/shop/", headers={"X-Request-ID": "edge-7f3a9c2e-0001"})
    assert kept["X-Request-ID"] == "edge-7f3a9c2e-0001"
    replaced = client.get("/shop/", headers={"X-Request-ID": "bad id\r\nX-Evil: 1"})
    assert GENERATED.match(replaced["X-Request-ID"])


def test_log_lines_written_during_a_request_carry_its_id(client, log_lines):
    response = client.post("/payments/webhook/", b"not a webhook", content_type="application/json")
    assert response.status_code == 400
    request_id = response["X-Request-ID"]
    lines = [line for line in log_lines() if "webhook rejected" in line]
    assert len(lines) == 1 and f"[{request_id}]" in lines[0]
    logging.getLogger("ipmart.test").warning("outside a request")
    assert "[-] ipmart.test outside a request" in log_lines()[-1]


def test_the_production_500_page_shows_the_request_id(client, settings, log_lines):
    settings.ROOT_URLCONF = "tests.ipmart.failing_urls"
    settings.DEBUG = False
    client.raise_request_exception = False
    response = client.get("/boom/")
    assert response.status_code == 500
    request_id = response["X-Request-ID"]
    assert GENERATED.match(request_id)
    page = response.content.decode()
    assert "Something went wrong" in page and request_id in page
    assert "a bug" not in page and "Traceback" not in page
    # and the log lines of that request, the error report included, carry the same id
    assert [line for line in log_lines() if "about to fail" in line][0].count(request_id) == 1
    assert any(
        f"[{request_id}] django.request Internal Server Error: /boom/" in line
        for line in log_lines()
    )


def test_the_store_uses_the_page():
    import ipmart.urls

    assert ipmart.urls.handler500 == "ipmart.core.request_id.server_error"
