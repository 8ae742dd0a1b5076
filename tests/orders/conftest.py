"""The payment sandbox as contract tests meet it: a real `manage.py payment_sandbox` process, a
webhook receiver the tests control, the SDK client pointed at the sandbox (orders.gateway_client)
and a browser-less driver for the hosted page (requests, redirects not followed)."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
STORE_RETURN_URL = "http://127.0.0.1:8000/payments/return/?order=42"
# Webhook retries in the sandbox under test: short, so a retry shows up within a poll.
WEBHOOK_RETRY = "0.2,0.4,0.8,1.6"
# Sandbox seconds until a pending card completes by itself (tests move the clock instead).
PENDING_DELAY_SECONDS = 300

APPROVED = "4111 1111 1111 1111"
DECLINED = "4000 0000 0000 0002"
PENDING = "4000 0000 0000 9995"
GATEWAY_ERROR = "4000 0000 0000 0119"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(predicate, *, timeout: float = 10.0, what: str = "condition"):
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}", pytrace=False)
        time.sleep(0.02)


# --- webhook receiver ----------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedWebhook:
    headers: list[tuple[str, str]]
    body: bytes
    answered: int

    @property
    def event(self) -> dict:
        return json.loads(self.body)

    @property
    def checkout_id(self) -> str:
        return self.event["payment"]["hostedCheckoutSpecificOutput"]["hostedCheckoutId"]


class WebhookReceiver:
    """A small HTTP server that records every POST and answers 200, or the statuses queued for
    a checkout with `answer_next`."""

    def __init__(self) -> None:
        self.received: list[ReceivedWebhook] = []
        self._planned: dict[tuple[str, str | None], list[int]] = {}
        self._condition = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                # Recorded before answering: `received` is in the order the sandbox sent.
                with receiver._condition:
                    status = receiver._status_for(body)
                    receiver.received.append(
                        ReceivedWebhook(list(self.headers.items()), body, status)
                    )
                    receiver._condition.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/payments/webhook/"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _status_for(self, body: bytes) -> int:
        try:
            event = json.loads(body)
            checkout_id = event["payment"]["hostedCheckoutSpecificOutput"]["hostedCheckoutId"]
        except (ValueError, KeyError, TypeError):
            return 200
        with self._condition:
            for key in ((checkout_id, event.get("type")), (checkout_id, None)):
                planned = self._planned.get(key)
                if planned:
                    return planned.pop(0)
            return 200

    def answer_next(self, checkout_id: str, *statuses: int, event_type: str | None = None) -> None:
        """Answer the next webhooks about `checkout_id` (of `event_type` only, if given) with
        `statuses`, then 200 again."""
        with self._condition:
            self._planned[(checkout_id, event_type)] = list(statuses)

    def for_checkout(self, checkout_id: str) -> list[ReceivedWebhook]:
        with self._condition:
            return [hook for hook in self.received if _checkout_of(hook) == checkout_id]

    def wait_for(
        self, checkout_id: str, count: int, timeout: float = 10.0
    ) -> list[ReceivedWebhook]:
        wait_until(
            lambda: len(self.for_checkout(checkout_id)) >= count,
            timeout=timeout,
            what=f"{count} webhooks for {checkout_id}",
        )
        return self.for_checkout(checkout_id)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _checkout_of(hook: ReceivedWebhook) -> str | None:
    try:
        return hook.checkout_id
    except (ValueError, KeyError, TypeError):
        return None


@pytest.fixture(scope="session")
def webhook_receiver():
    receiver = WebhookReceiver()
    receiver.start()
    yield receiver
    receiver.stop()


# --- the sandbox process -------------------------------------------------------------------


class SandboxProcess:
    def __init__(self, process: subprocess.Popen, port: int, log_path: Path) -> None:
        self.process = process
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path

    def log(self) -> str:
        """What the process printed so far (read through its own file handle: the process's
        handle is in append mode, so reading never moves where it writes)."""
        return self.log_path.read_text("utf-8", "replace")

    def control(self, method: str, path: str, payload: dict | None = None) -> requests.Response:
        return requests.request(method, f"{self.url}/_control/{path}", json=payload, timeout=10)

    def events(self, checkout_id: str) -> list[dict]:
        answer = self.control("GET", f"events?hostedCheckoutId={checkout_id}")
        assert answer.status_code == 200, answer.text
        return answer.json()["events"]


def gateway_environment(settings, **extra) -> dict[str, str]:
    """The environment of a sandbox process: the same gateway settings as the tests' store."""
    return os.environ | {
        "DJANGO_SETTINGS_MODULE": "ipmart.settings.test",
        "GATEWAY_MERCHANT_ID": settings.GATEWAY_MERCHANT_ID,
        "GATEWAY_API_KEY_ID": settings.GATEWAY_API_KEY_ID,
        "GATEWAY_SECRET_API_KEY": settings.GATEWAY_SECRET_API_KEY,
        "GATEWAY_WEBHOOK_KEY_ID": settings.GATEWAY_WEBHOOK_KEY_ID,
        "GATEWAY_WEBHOOK_SECRET": settings.GATEWAY_WEBHOOK_SECRET,
        **extra,
    }


def start_sandbox(
    settings, *args: str, webhook_url: str = "", port: int | None = None
) -> SandboxProcess:
    """Start `manage.py payment_sandbox` (on `port`, e.g. the port of one that was stopped, to
    restart it; a free one otherwise) and wait until it answers."""
    port = port or free_port()
    env = gateway_environment(
        settings,
        GATEWAY_ENDPOINT=f"http://127.0.0.1:{port}",
        GATEWAY_SANDBOX_WEBHOOK_URL=webhook_url,
    )
    log_path = Path(tempfile.mkdtemp(prefix="payment-sandbox-")) / "sandbox.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "payment_sandbox", "--port", str(port), *args],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    sandbox = SandboxProcess(process, port, log_path)

    def answers() -> bool:
        if process.poll() is not None:
            pytest.fail(
                f"payment_sandbox exited with {process.returncode}:\n{sandbox.log()}", pytrace=False
            )
        try:
            return requests.get(sandbox.url + "/", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    try:
        wait_until(answers, timeout=30, what=f"payment_sandbox on port {port}")
    except BaseException:
        stop_sandbox(sandbox)
        raise
    return sandbox


def stop_sandbox(sandbox: SandboxProcess) -> int:
    if sandbox.process.poll() is None:
        sandbox.process.terminate()
        try:
            sandbox.process.wait(10)
        except subprocess.TimeoutExpired:
            sandbox.process.kill()
            sandbox.process.wait(10)
    return sandbox.process.returncode


def remove_log(sandbox: SandboxProcess) -> None:
    shutil.rmtree(sandbox.log_path.parent, ignore_errors=True)


@pytest.fixture(scope="session")
def sandbox(webhook_receiver):
    from django.conf import settings

    process = start_sandbox(
        settings,
        "--webhook-retry",
        WEBHOOK_RETRY,
        "--pending-delay",
        str(PENDING_DELAY_SECONDS),
        webhook_url=webhook_receiver.url,
    )
    yield process
    stop_sandbox(process)
    remove_log(process)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test that used the sandbox shows the tail of the sandbox's log."""
    outcome = yield
    report = outcome.get_result()
    process = getattr(item, "funcargs", {}).get("sandbox")
    if report.failed and isinstance(process, SandboxProcess):
        report.sections.append(
            ("payment_sandbox log (tail)", "\n".join(process.log().splitlines()[-60:]))
        )


@pytest.fixture
def gateway(settings, sandbox):
    """The SDK's merchant resource, built by orders.gateway_client, pointed at the sandbox."""
    from orders.gateway_client import merchant

    settings.GATEWAY_ENDPOINT = sandbox.url
    return merchant()


# --- requests the store would send -------------------------------------------------------


def new_reference() -> str:
    return f"T-{uuid.uuid4().hex[:12]}"


def checkout_request(
    *,
    amount: int = 12345,
    currency: str = "MYR",
    reference: str | None = None,
    return_url: str = STORE_RETURN_URL,
):
    from worldline.connect.sdk.v1.domain.create_hosted_checkout_request import (
        CreateHostedCheckoutRequest,
    )

    return CreateHostedCheckoutRequest().from_dictionary(
        {
            "order": {
                "amountOfMoney": {"amount": amount, "currencyCode": currency},
                "references": {"merchantReference": reference or new_reference()},
            },
            "hostedCheckoutSpecificInput": {
                "returnUrl": return_url,
                "locale": "en_GB",
                "showResultPage": False,
                "returnCancelState": True,
            },
            "cardPaymentMethodSpecificInput": {"authorizationMode": "SALE"},
        }
    )


@pytest.fixture
def create_checkout(gateway):
    """Create a hosted checkout through the SDK; returns the CreateHostedCheckoutResponse."""

    def create(**kwargs):
        return gateway.hostedcheckouts().create(checkout_request(**kwargs))

    return create


# --- the hosted page, driven without a browser ---------------------------------------------


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = None
        self.hidden: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = attributes.get("action")
        if tag == "input" and attributes.get("type") == "hidden":
            self.hidden[attributes["name"]] = attributes.get("value") or ""


class HostedPage:
    """The customer's browser on the hosted page: GET it, fill the form, POST it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()
        self.form: _FormParser | None = None

    def open(self) -> requests.Response:
        response = self.http.get(self.url, allow_redirects=False, timeout=10)
        if response.status_code == 200:
            self.form = _FormParser()
            self.form.feed(response.text)
        return response

    def submit(self, **fields: str) -> requests.Response:
        if self.form is None:
            assert self.open().status_code == 200
        data = {**self.form.hidden, **fields}
        response = self.http.post(
            urljoin(self.url, self.form.action), data=data, allow_redirects=False, timeout=10
        )
        if response.status_code == 200 and "<form" in response.text:
            self.form = _FormParser()
            self.form.feed(response.text)
        return response

    def pay(
        self, card: str, *, holder="Siti Aminah", expiry="12/30", cvc="123"
    ) -> requests.Response:
        return self.submit(action="pay", holder=holder, number=card, expiry=expiry, cvc=cvc)

    def cancel(self) -> requests.Response:
        return self.submit(action="cancel")


@pytest.fixture
def hosted_page(settings):
    def open_page(created) -> HostedPage:
        return HostedPage(settings.GATEWAY_REDIRECT_PREFIX + created.partial_redirect_url)

    return open_page


def return_parameters(response: requests.Response) -> dict[str, list[str]]:
    """The query of the 302 back to the store (asserts it is one)."""
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    parts = urlsplit(location)
    expected = urlsplit(STORE_RETURN_URL)
    assert (parts.scheme, parts.netloc, parts.path) == (
        expected.scheme,
        expected.netloc,
        expected.path,
    )
    return parse_qs(parts.query)
