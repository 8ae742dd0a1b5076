"""The sandbox's HTTP side: one threading HTTP server for the Connect v1 API, the hosted page
and the control plane, plus the webhook and clock threads. `Sandbox` wires them together; the
management command runs one."""

import ipaddress
import json
import logging
import re
import socket
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from . import pages
from .clock import Clock
from .errors import ApiError, error_response
from .idempotency import IdempotenceStore
from .signing import verify_request
from .state import Gateway
from .validation import validate_create_checkout, validate_refund
from .webhooks import WebhookDispatcher, compact_json

logger = logging.getLogger("payment_sandbox")

MAX_BODY_BYTES = 1024 * 1024
_API_PATH = re.compile(r"^/v1/(?P<merchant>[^/]+)(?P<rest>/.*)$")
_PAGE_PATH = re.compile(r"^/hostedcheckout/(?P<id>[A-Za-z0-9-]+)$")
_TOKEN_IN_QUERY = re.compile(r"([?&]t=)[^&]+")


class NotLoopback(ValueError):
    """The sandbox only listens on loopback addresses."""


def loopback_address(host: str) -> tuple[int, str]:
    """(address family, address to bind) for `host`, which must be a loopback address
    (127.0.0.0/8, ::1) or "localhost"; anything else raises NotLoopback."""
    if host == "localhost":
        return socket.AF_INET, "127.0.0.1"
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError as error:
        raise NotLoopback(f"{host!r} is not an IP address or 'localhost'") from error
    if not address.is_loopback:
        raise NotLoopback(f"{host} is not a loopback address")
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    return family, str(address)


def any_address(host: str) -> tuple[int, str]:
    """(address family, address to bind) for any IP address or "localhost" (the demo stack's
    `--allow-non-loopback`: the sandbox then answers everyone who can reach that address)."""
    try:
        return loopback_address(host)
    except NotLoopback:
        address = ipaddress.ip_address(host.strip("[]"))  # ValueError for a host name
        family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
        return family, str(address)


@dataclass(frozen=True)
class SandboxConfig:
    merchant_id: str
    api_key_id: str
    secret_api_key: str
    webhook_url: str
    webhook_key_id: str
    webhook_secret: str
    host: str = "127.0.0.1"
    port: int = 8001
    merchant_name: str = "IPmart"
    public_address: str = ""  # host:port the customer's browser uses; the bound address if empty
    retry_delays: tuple[float, ...] = (10.0, 60.0, 300.0, 1800.0, 7200.0)
    pending_delay_seconds: float = 60.0
    session_timeout_minutes: int = 180
    allowed_attempts: int = 3
    allow_non_loopback: bool = False  # only behind the command's explicit flag


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, handler, family, sandbox):
        self.address_family = family
        self.sandbox = sandbox
        super().__init__(address, handler)


class Sandbox:
    def __init__(self, config: SandboxConfig):
        if config.allow_non_loopback:
            family, bind_address = any_address(config.host)
        else:
            family, bind_address = loopback_address(config.host)
        self.config = config
        self.clock = Clock()
        self.idempotence = IdempotenceStore(self.clock)
        self.dispatcher = WebhookDispatcher(
            url=config.webhook_url,
            key_id=config.webhook_key_id,
            secret=config.webhook_secret,
            retry_delays=config.retry_delays,
            clock=self.clock,
        )
        self.httpd = _Server((bind_address, config.port), _Handler, family, self)
        port = self.httpd.server_address[1]
        host_in_url = f"[{bind_address}]" if family == socket.AF_INET6 else bind_address
        self.address = f"{host_in_url}:{port}"
        self.gateway = Gateway(
            merchant_id=config.merchant_id,
            merchant_name=config.merchant_name,
            public_address=config.public_address or self.address,
            clock=self.clock,
            dispatcher=self.dispatcher,
            pending_delay_seconds=config.pending_delay_seconds,
            default_session_timeout=config.session_timeout_minutes,
            default_attempts=config.allowed_attempts,
        )
        self.api_keys = {config.api_key_id: config.secret_api_key}
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def start(self) -> None:
        """Serve in background threads (returns at once)."""
        self.dispatcher.start()
        for target, name in (
            (self.httpd.serve_forever, "sandbox-http"),
            (self._tick, "sandbox-clock"),
        ):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.dispatcher.stop()
        for thread in self._threads:
            thread.join(5)

    def _tick(self) -> None:
        # Expiry and delayed completion happen even when nobody asks.
        while not self._stopping.wait(0.5):
            self.gateway.tick()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "IPmartPaymentSandbox/1.0"
    timeout = 60  # idle keep-alive connections

    # --- plumbing ----------------------------------------------------------------------------

    @property
    def sandbox(self) -> Sandbox:
        return self.server.sandbox

    def log_request(self, code="-", size="-") -> None:
        pass  # _respond logs one line per request with its duration

    def log_message(self, format, *args) -> None:
        logger.info("%s %s", self.address_string(), format % args)

    def _read_body(self) -> bytes | None:
        """The request body, or None if it cannot be read safely (chunked, too large)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return None
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            size = int(length)
        except ValueError:
            size = -1
        if not 0 <= size <= MAX_BODY_BYTES:
            return None
        return self.rfile.read(size)

    def _respond(self, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        elapsed = (time.monotonic() - self._started) * 1000
        path = _TOKEN_IN_QUERY.sub(r"\1…", self.path)
        logger.info(
            "%s %s %s %d %d %.1fms",
            self.client_address[0],
            self.command,
            path,
            status,
            len(body),
            elapsed,
        )

    def _json(self, status: int, payload, extra_headers=()) -> None:
        self._respond(
            status, compact_json(payload), [("Content-Type", "application/json"), *extra_headers]
        )

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        self._started = time.monotonic()
        body = self._read_body()
        if body is None:
            self.close_connection = True
            self._json(
                413,
                error_response(
                    413, "REQUEST_NOT_VALID", "send a Content-Length of at most 1 MiB, not chunked"
                ),
            )
            return
        path = urlsplit(self.path).path
        try:
            if path.startswith("/v1/"):
                self._api(body)
            elif path.startswith("/_control/"):
                self._control(path, body)
            else:
                self._page(path, body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away; nobody to answer
        except Exception:  # answer 500 rather than drop the connection
            logger.exception("sandbox error on %s %s", self.command, path)
            self.close_connection = True
            self._json(
                500, error_response(500, "INTERNAL_ERROR", "the sandbox failed; see its log")
            )

    # --- Connect v1 API --------------------------------------------------------------------

    def _api(self, body: bytes) -> None:
        sandbox = self.sandbox
        headers = list(self.headers.items())
        _, failure = verify_request(
            method=self.command,
            path_and_query=self.path,
            headers=headers,
            api_keys=sandbox.api_keys,
        )
        if failure is not None:
            logger.warning("refused %s %s: %s", self.command, self.path, failure.message)
            self._json(403, error_response(403, failure.error_id, failure.message))
            return
        match = _API_PATH.match(urlsplit(self.path).path)
        if match is None or match["merchant"] != sandbox.gateway.merchant_id:
            self._json(
                403,
                error_response(
                    403, "MERCHANT_NOT_ALLOWED", "this API key is not for that merchant"
                ),
            )
            return
        route = self._api_route(match["rest"])
        if route is None:
            self._json(
                404, error_response(404, "NOT_FOUND", f"no resource {self.command} {match['rest']}")
            )
            return
        handler, argument = route
        key = self.headers.get("X-GCS-Idempotence-Key") if self.command == "POST" else None
        if key:
            fingerprint = IdempotenceStore.fingerprint(self.command, self.path, body)
            try:
                replay = sandbox.idempotence.claim(sandbox.gateway.merchant_id, key, fingerprint)
            except ApiError as error:
                self._json(error.status, error.body())
                return
            if replay is not None:
                self._respond(
                    replay.status,
                    replay.body,
                    [
                        ("Content-Type", replay.content_type),
                        ("X-GCS-Idempotence-Request-Timestamp", str(replay.request_timestamp_ms)),
                    ],
                )
                return
        try:
            status, payload = handler(argument, body)
        except ApiError as error:
            status, payload = error.status, error.body()
        except BaseException:
            if key:
                sandbox.idempotence.finish(sandbox.gateway.merchant_id, key, 500, b"", "")
            raise
        encoded = compact_json(payload)
        if key:
            sandbox.idempotence.finish(
                sandbox.gateway.merchant_id, key, status, encoded, "application/json"
            )
        self._respond(status, encoded, [("Content-Type", "application/json")])

    def _api_route(self, rest: str):
        parts = rest.strip("/").split("/")
        if self.command == "POST" and parts == ["hostedcheckouts"]:
            return self._create_checkout, None
        if self.command == "GET" and len(parts) == 2 and parts[0] == "hostedcheckouts":
            return self._get_checkout, parts[1]
        if self.command == "GET" and len(parts) == 2 and parts[0] == "payments":
            return self._get_payment, parts[1]
        if (
            self.command == "POST"
            and len(parts) == 3
            and parts[0] == "payments"
            and parts[2] == "refund"
        ):
            return self._refund, parts[1]
        return None

    @staticmethod
    def _parse_json(body: bytes):
        try:
            return json.loads(body or b"null")
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ApiError(
                400, "REQUEST_NOT_VALID", f"the body is not valid JSON: {error}"
            ) from error

    def _create_checkout(self, _, body: bytes):
        gateway = self.sandbox.gateway
        data = self._parse_json(body)
        if gateway.take_create_failure():
            return 503, error_response(
                503, "SERVICE_UNAVAILABLE", "the gateway is temporarily unavailable"
            )
        gateway.wait_while_held()
        request = validate_create_checkout(
            data,
            default_session_timeout=gateway.default_session_timeout,
            default_attempts=gateway.default_attempts,
        )
        return 201, gateway.create_checkout(request)

    def _get_checkout(self, checkout_id: str, _):
        return 200, self.sandbox.gateway.checkout_status(checkout_id)

    def _get_payment(self, payment_id: str, _):
        return 200, self.sandbox.gateway.payment(payment_id)

    def _refund(self, payment_id: str, body: bytes):
        request = validate_refund(self._parse_json(body))
        if self.sandbox.gateway.take_refund_failure():
            return 500, error_response(500, "INTERNAL_ERROR", "the refund could not be processed")
        return 201, self.sandbox.gateway.refund(payment_id, request)

    # --- hosted page ---------------------------------------------------------------------

    def _page(self, path: str, body: bytes) -> None:
        gateway = self.sandbox.gateway
        if path in {"/", "/healthz"} and self.command in {"GET", "HEAD"}:
            text = f"IPmart payment sandbox for merchant {gateway.merchant_id}\n".encode()
            self._respond(200, text, [("Content-Type", "text/plain; charset=utf-8")])
            return
        if path == "/static/hosted-checkout.css" and self.command in {"GET", "HEAD"}:
            response = pages.stylesheet()
        elif (match := _PAGE_PATH.match(path)) and self.command in {"GET", "HEAD"}:
            query = dict(parse_qsl(urlsplit(self.path).query))
            response = pages.show(gateway, match["id"], query.get("t", ""))
        elif match and self.command == "POST":
            form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            response = pages.submit(gateway, match["id"], form)
        else:
            response = pages.not_found(gateway)
        self._respond(response.status, response.body, response.headers)

    # --- control plane -------------------------------------------------------------------

    def _control(self, path: str, body: bytes) -> None:
        try:
            data = self._parse_json(body) if body else {}
            if not isinstance(data, dict):
                raise ApiError(400, "REQUEST_NOT_VALID", "the body must be a JSON object")
            status, payload = self._control_route(path.strip("/").split("/")[1:], data)
        except ApiError as error:
            status, payload = error.status, error.body()
        self._json(status, payload)

    def _control_route(self, parts: list[str], data: dict):
        sandbox = self.sandbox
        gateway = sandbox.gateway
        method = self.command
        if method == "POST" and len(parts) == 2 and parts[0] == "checkouts":
            return 200, {"hostedCheckoutId": parts[1], "flags": gateway.set_flags(parts[1], data)}
        if method == "GET" and len(parts) == 2 and parts[0] == "checkouts":
            return 200, gateway.describe_checkout(parts[1])
        if method == "POST" and parts == ["fail-next-create"]:
            count = data.get("count", 1)
            if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= 100:
                raise ApiError(400, "REQUEST_NOT_VALID", "count must be 0 to 100", "count")
            gateway.fail_next_creates(count)
            return 200, {"failNextCreates": count}
        if method == "POST" and parts == ["fail-next-refund"]:
            count = data.get("count", 1)
            if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= 100:
                raise ApiError(400, "REQUEST_NOT_VALID", "count must be 0 to 100", "count")
            gateway.fail_next_refunds(count)
            return 200, {"failNextRefunds": count}
        if parts == ["hold-creates"] and method in {"GET", "POST"}:
            if method == "POST":
                gateway.hold_creates(bool(data.get("hold", True)))
            return 200, gateway.holds()
        if (
            method == "POST"
            and len(parts) == 3
            and parts[0] == "payments"
            and parts[2] == "complete"
        ):
            return 200, gateway.complete_payment(parts[1])
        if (
            method == "POST"
            and len(parts) == 3
            and parts[0] == "payments"
            and parts[2] == "reverse"
        ):
            return 200, gateway.reverse_payment(parts[1], data.get("status", "CHARGEBACKED"))
        if method == "POST" and parts == ["clock", "advance"]:
            minutes = data.get("minutes")
            if (
                not isinstance(minutes, (int, float))
                or isinstance(minutes, bool)
                or not 0 < minutes <= 10080
            ):
                raise ApiError(
                    400,
                    "REQUEST_NOT_VALID",
                    "minutes must be more than 0, at most 10080",
                    "minutes",
                )
            now = sandbox.clock.advance(timedelta(minutes=minutes))
            gateway.tick()
            return 200, {"now": now.isoformat()}
        if (
            method == "POST"
            and len(parts) == 3
            and parts[0] == "events"
            and parts[2] == "redeliver"
        ):
            delivery = sandbox.dispatcher.redeliver(parts[1])
            if delivery is None:
                raise ApiError(404, "NOT_FOUND", f"no event {parts[1]}")
            return 202, {"id": parts[1], "delivery": delivery.number}
        if method == "GET" and parts == ["events"]:
            query = dict(parse_qsl(urlsplit(self.path).query))
            events = sandbox.dispatcher.log()
            if "hostedCheckoutId" in query:
                events = [e for e in events if e["hostedCheckoutId"] == query["hostedCheckoutId"]]
            return 200, {"events": events}
        raise ApiError(
            404, "NOT_FOUND", f"no control endpoint {method} /_control/{'/'.join(parts)}"
        )
