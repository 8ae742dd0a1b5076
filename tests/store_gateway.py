"""The store under test wired to a real payment sandbox process: the sandbox posts its webhooks
to a small forwarding proxy in front of the live server, so a test can take the store's webhook
endpoint "down" (the proxy answers 503) and bring it back. Used by the contract tests and the
browser tests (tests/conftest.py makes the fixtures visible everywhere)."""

import copy
import http.client
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from tests.orders.conftest import start_sandbox, stop_sandbox


class StoreWebhookProxy:
    """Forwards each webhook byte for byte to the store, or answers 503 while `down`."""

    def __init__(self) -> None:
        self.target = ""
        self.down = False
        self.refused = 0
        # (status, seconds the store took) of every webhook forwarded to the store
        self.deliveries: list[tuple[int, float]] = []
        self.in_flight = 0
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if proxy.down or not proxy.target:
                    proxy.refused += 1
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                target = urlsplit(proxy.target)
                connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                started = time.monotonic()
                with proxy.lock:
                    proxy.in_flight += 1
                try:
                    connection.request("POST", target.path, body=body, headers=headers)
                    answer = connection.getresponse()
                    content = answer.read()
                finally:
                    with proxy.lock:
                        proxy.in_flight -= 1
                proxy.deliveries.append((answer.status, time.monotonic() - started))
                self.send_response(answer.status)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/payments/webhook/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="session")
def webhook_proxy():
    proxy = StoreWebhookProxy()
    yield proxy
    proxy.server.shutdown()


@pytest.fixture(scope="session")
def store_sandbox(webhook_proxy, django_db_blocker):
    from django.conf import settings

    process = start_sandbox(
        settings,
        "--webhook-retry",
        "0.3,0.6,1.2",
        "--pending-delay",
        "0",
        webhook_url=webhook_proxy.url,
    )
    yield process
    stop_sandbox(process)


@pytest.fixture
def store(settings, live_server, store_sandbox, webhook_proxy):
    """The store under test, pointed at the sandbox; the proxy forwards webhooks to it."""
    from ipmart.settings.base import gateway_form_action

    settings.GATEWAY_ENDPOINT = store_sandbox.url
    settings.GATEWAY_ALLOWED_REDIRECT_HOSTS = [f"127.0.0.1:{store_sandbox.port}"]
    policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
    policy["DIRECTIVES"]["form-action"] = gateway_form_action(
        settings.GATEWAY_ALLOWED_REDIRECT_HOSTS, allow_http=True
    )
    settings.CONTENT_SECURITY_POLICY = policy
    webhook_proxy.target = live_server.url + "/payments/webhook/"
    webhook_proxy.down = False
    webhook_proxy.deliveries.clear()
    yield live_server
    # The sandbox may still be retrying this test's webhooks: refuse them from now on and let
    # the ones already at the store finish, so none writes while the test database is flushed
    # (that flush and a late webhook's transaction deadlocked now and then).
    webhook_proxy.down = True
    deadline = time.monotonic() + 30
    while webhook_proxy.in_flight and time.monotonic() < deadline:
        time.sleep(0.05)
