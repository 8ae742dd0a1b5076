"""Fault tests: real components broken on purpose (a private Redis stopped, a worker killed, the
sandbox restarted, the webhook endpoint down) and the store checked by one shared assertion
(`tests.faults.invariants.assert_store_invariants`). Marked `faults`; `make test` runs them."""

import shutil
import socket
import subprocess
import time

import pytest

from tests.celery_app import forget_connections
from tests.conftest import missing_service


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/faults/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.faults)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivateRedis:
    """A redis-server of the test's own on a free port, stopped and started by the test (never
    the shared one). No persistence: what it held is gone when it stops, as after a crash."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"private redis-server did not start on {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None


@pytest.fixture
def private_redis():
    if shutil.which("redis-server") is None:
        missing_service("fault tests need redis-server on PATH (apt-get install redis-server)")
    redis = PrivateRedis()
    redis.start()
    yield redis
    redis.stop()


@pytest.fixture
def celery_worker_on(private_redis):
    """A real Celery worker thread consuming from the private Redis; the store (live server
    threads and the test) publishes there too. Results are not stored (the outbox runner keeps
    none), so the private Redis is only the broker."""
    from celery.contrib.testing.worker import start_worker

    from ipmart.celery import app

    keys = ["broker_url", "result_backend", "task_always_eager"]
    previous = {key: app.conf[key] for key in keys}
    app.conf.update(broker_url=private_redis.url, result_backend=None, task_always_eager=False)
    forget_connections(app)
    try:
        with start_worker(
            app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=30
        ):
            yield app
            if private_redis.process is None:
                private_redis.start()  # let the worker shut down cleanly
    finally:
        app.conf.update(**previous)
        forget_connections(app)


class RestartableSandbox:
    """A payment sandbox of the test's own, restartable on the same port (it keeps its state
    in memory, so a restart forgets every checkout, as a gateway that purged them would)."""

    def __init__(self, settings, webhook_url: str) -> None:
        from tests.orders.conftest import start_sandbox

        self._settings = settings
        self._webhook_url = webhook_url
        self._args = ("--webhook-retry", "0.3,0.6,1.2", "--pending-delay", "0")
        self.process = start_sandbox(settings, *self._args, webhook_url=webhook_url)
        self.port, self.url = self.process.port, self.process.url

    def control(self, *args, **kwargs):
        return self.process.control(*args, **kwargs)

    def restart(self) -> None:
        from tests.orders.conftest import start_sandbox, stop_sandbox

        stop_sandbox(self.process)
        self.process = start_sandbox(
            self._settings, *self._args, webhook_url=self._webhook_url, port=self.port
        )

    def stop(self) -> None:
        from tests.orders.conftest import remove_log, stop_sandbox

        stop_sandbox(self.process)
        remove_log(self.process)


@pytest.fixture
def own_sandbox(settings, live_server, webhook_proxy):
    """The live store wired to a sandbox only this test uses (so it may restart it)."""
    import copy

    from ipmart.settings.base import gateway_form_action

    sandbox = RestartableSandbox(settings, webhook_proxy.url)
    settings.GATEWAY_ENDPOINT = sandbox.url
    settings.GATEWAY_ALLOWED_REDIRECT_HOSTS = [f"127.0.0.1:{sandbox.port}"]
    policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
    policy["DIRECTIVES"]["form-action"] = gateway_form_action(
        settings.GATEWAY_ALLOWED_REDIRECT_HOSTS, allow_http=True
    )
    settings.CONTENT_SECURITY_POLICY = policy
    webhook_proxy.target = live_server.url + "/payments/webhook/"
    webhook_proxy.down = False
    webhook_proxy.deliveries.clear()
    yield sandbox
    sandbox.stop()


class FaultyGateway:
    """Something listening where the gateway should be that either never answers ("stall":
    the connection is accepted and left hanging, as a gateway behind a dead load balancer) or
    answers 503 to everything ("error")."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.mode = "stall"
        self.requests = 0
        self._release = threading.Event()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                gateway.requests += 1
                if gateway.mode == "stall":
                    gateway._release.wait(60)
                    return
                body = b'{"errorId": "x", "errors": [{"code": "9999", "httpStatusCode": 503}]}'
                self.send_response(503)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def faulty_gateway(settings):
    settings.GATEWAY_CONNECT_TIMEOUT_SECONDS = 1
    settings.GATEWAY_SOCKET_TIMEOUT_SECONDS = 1
    gateway = FaultyGateway()
    yield gateway
    gateway.close()
