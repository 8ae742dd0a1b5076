"""Webhook events and their delivery.

Every payment transition becomes an Event: a compact JSON envelope
`{apiVersion, id, created, merchantId, type, payment}` whose bytes are fixed when the event is
made. A background thread POSTs each delivery to the configured URL with `X-GCS-Signature`
(base64 HMAC-SHA256 of the body with the webhook secret) and `X-GCS-KeyId`; any non-2xx answer or
connection error is retried after each delay of the retry schedule, with the same event id and
the same bytes, until a 2xx or the schedule runs out. Due times follow the sandbox clock, so a
clock advance fires retries at once.

Per-checkout test flags change what is delivered (see the package docstring): drop,
duplicate:N, reorder, tamper_body, tamper_sig, unknown_key, wrong_api_version.
"""

import copy
import heapq
import http.client
import itertools
import json
import logging
import threading
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .clock import event_datetime
from .signing import webhook_signature

logger = logging.getLogger("payment_sandbox")

DEFAULT_RETRY_DELAYS = (10.0, 60.0, 300.0, 1800.0, 7200.0)
UNKNOWN_KEY_ID = "sandbox-unknown-key"
DELIVERY_MODES = {"tamper_body", "tamper_sig", "unknown_key", "wrong_api_version"}


def compact_json(value) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass
class Event:
    id: str
    type: str
    created: str
    checkout_id: str
    payment_id: str
    envelope: dict
    body: bytes
    deliveries: list["Delivery"] = field(default_factory=list)

    @classmethod
    def for_payment(cls, *, merchant_id: str, checkout_id: str, payment: dict, now) -> "Event":
        envelope = {
            "apiVersion": "v1",
            "id": str(uuid.uuid4()),
            "created": event_datetime(now),
            "merchantId": merchant_id,
            "type": f"payment.{payment['status'].lower()}",
            "payment": payment,
        }
        return cls(
            id=envelope["id"],
            type=envelope["type"],
            created=envelope["created"],
            checkout_id=checkout_id,
            payment_id=payment["id"],
            envelope=envelope,
            body=compact_json(envelope),
        )


@dataclass
class Delivery:
    event: Event
    number: int
    mode: str
    body: bytes
    headers: dict[str, str]
    state: str = "queued"  # queued | held | delivered | failed | dropped
    attempts: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "number": self.number,
            "mode": self.mode,
            "state": self.state,
            "attempts": self.attempts,
        }


def build_delivery(event: Event, number: int, mode: str, *, key_id: str, secret: str) -> Delivery:
    """The bytes and headers of one delivery; `mode` other than "normal" breaks it on purpose."""
    body = event.body
    signed = body
    sent_key_id = key_id
    signing_secret = secret
    if mode == "tamper_body":
        changed = copy.deepcopy(event.envelope)
        money = changed["payment"].get("paymentOutput", {}).get("amountOfMoney", {})
        money["amount"] = money.get("amount", 0) + 100
        body = compact_json(changed)  # signed stays the original bytes
    elif mode == "tamper_sig":
        signed = body + b" "
    elif mode == "unknown_key":
        sent_key_id = UNKNOWN_KEY_ID
        signing_secret = "not-the-webhook-secret"
    elif mode == "wrong_api_version":
        changed = copy.deepcopy(event.envelope)
        changed["apiVersion"] = "v2"
        body = signed = compact_json(changed)
    headers = {
        "Content-Type": "application/json",
        "X-GCS-Signature": webhook_signature(signing_secret, signed),
        "X-GCS-KeyId": sent_key_id,
    }
    return Delivery(event=event, number=number, mode=mode, body=body, headers=headers)


class WebhookDispatcher:
    """Queues deliveries and sends them from one background thread."""

    def __init__(
        self, *, url: str, key_id: str, secret: str, retry_delays, clock, timeout: float = 10.0
    ):
        self.url = url
        self.key_id = key_id
        self.secret = secret
        self.retry_delays = tuple(retry_delays)
        self.timeout = timeout
        self._clock = clock
        self._events: dict[str, Event] = {}
        self._held: dict[str, list[Event]] = {}  # checkout id → events kept back by "reorder"
        self._queue: list[tuple[float, int, Delivery]] = []
        self._sequence = itertools.count()
        self._condition = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
        clock.on_advance(self._wake)

    # --- queueing ------------------------------------------------------------------------

    def publish(self, event: Event, *, flag: str | None, final: bool) -> None:
        """Queue `event` as the checkout's webhook flag says. `final`: the payment reached a
        status it will not leave by itself (events held back by "reorder" go out then)."""
        with self._condition:
            self._events[event.id] = event
            if flag == "drop":
                delivery = self._new_delivery(event, "normal")
                delivery.state = "dropped"
                return
            if flag == "reorder":
                held = self._held.setdefault(event.checkout_id, [])
                held.append(event)
                delivery = self._new_delivery(event, "normal")
                delivery.state = "held"
                if final:
                    for held_event in reversed(self._held.pop(event.checkout_id)):
                        self._enqueue(held_event.deliveries[-1])
                return
            copies = 1
            mode = "normal"
            if flag and flag.startswith("duplicate:"):
                copies = int(flag.split(":", 1)[1])
            elif flag in DELIVERY_MODES:
                mode = flag
            for _ in range(copies):
                self._enqueue(self._new_delivery(event, mode))

    def redeliver(self, event_id: str) -> Delivery | None:
        """Send a validly signed copy of an earlier event again (a replay)."""
        with self._condition:
            event = self._events.get(event_id)
            if event is None:
                return None
            delivery = self._new_delivery(event, "normal")
            self._enqueue(delivery)
            return delivery

    def log(self) -> list[dict]:
        with self._condition:
            return [
                {
                    "id": event.id,
                    "type": event.type,
                    "created": event.created,
                    "hostedCheckoutId": event.checkout_id,
                    "paymentId": event.payment_id,
                    "deliveries": [delivery.as_dict() for delivery in event.deliveries],
                }
                for event in self._events.values()
            ]

    def _new_delivery(self, event: Event, mode: str) -> Delivery:
        delivery = build_delivery(
            event, len(event.deliveries) + 1, mode, key_id=self.key_id, secret=self.secret
        )
        event.deliveries.append(delivery)
        return delivery

    def _enqueue(self, delivery: Delivery, due: float | None = None) -> None:
        delivery.state = "queued"
        due = self._clock.time() if due is None else due
        heapq.heappush(self._queue, (due, next(self._sequence), delivery))
        self._condition.notify_all()

    # --- the thread ----------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _wake(self) -> None:
        with self._condition:
            self._condition.notify_all()

    def _run(self) -> None:
        while True:
            with self._condition:
                if self._stopping:
                    return
                if not self._queue:
                    self._condition.wait()
                    continue
                wait = self._queue[0][0] - self._clock.time()
                if wait > 0:
                    self._condition.wait(wait)
                    continue
                _, _, delivery = heapq.heappop(self._queue)
            self._attempt(delivery)

    def _post(self, delivery: Delivery) -> int:
        """POST one delivery; the answer's status. Header names go out exactly as the gateway
        spells them; no proxies (the receiver is on this machine), no redirects followed."""
        if not self.url:
            raise ValueError("no webhook URL configured")
        parts = urlsplit(self.url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"webhook URL {self.url!r} is not http(s)")
        connection_class = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        connection = connection_class(parts.hostname, parts.port, timeout=self.timeout)
        try:
            path = parts.path or "/"
            if parts.query:
                path += "?" + parts.query
            connection.request("POST", path, body=delivery.body, headers=delivery.headers)
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()

    def _attempt(self, delivery: Delivery) -> None:
        outcome = {"at": event_datetime(self._clock.now())}
        try:
            status = self._post(delivery)
            outcome["status"] = status
            ok = 200 <= status < 300
        except (OSError, http.client.HTTPException, ValueError) as error:  # refused, timed out
            outcome["error"] = f"{type(error).__name__}: {error}"
            ok = False
        with self._condition:
            delivery.attempts.append(outcome)
            tries = len(delivery.attempts)
            if ok:
                delivery.state = "delivered"
            elif tries <= len(self.retry_delays):
                self._enqueue(delivery, self._clock.time() + self.retry_delays[tries - 1])
            else:
                delivery.state = "failed"
        logger.info(
            "webhook %s %s delivery %d try %d → %s",
            delivery.event.type,
            delivery.event.id,
            delivery.number,
            tries,
            outcome.get("status", outcome.get("error")),
        )
