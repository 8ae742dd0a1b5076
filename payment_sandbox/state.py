"""The sandbox's in-memory gateway: hosted checkouts, their payments and refunds, and the state
machine that moves them. Everything here is guarded by one lock; the HTTP layer (server.py) and
the hosted page (pages.py) call these methods and never touch the records directly.

Hosted checkout: IN_PROGRESS → PAYMENT_CREATED (the first payment attempt exists, even a
rejected one) | CANCELLED_BY_CONSUMER (Cancel, or sessionTimeout elapsed while the customer was
still on the page). A checkout is *closed* once the customer is done with it: a final outcome,
Cancel, exhausted attempts or expiry; a closed page accepts nothing more.

Payment (one per attempt, SALE only):
    CREATED ─► CAPTURED [COMPLETED, 900] ─ refund in full ─► REFUNDED [REFUNDED, 1800]
       ├─────► REJECTED [UNSUCCESSFUL, 100]
       └─────► CAPTURE_REQUESTED [PENDING_CONNECT_OR_3RD_PARTY, 800] ─ later ─► CAPTURED
    CAPTURED (refunded in part or not) ─ the customer's bank takes it back (control plane) ─►
       CHARGEBACKED [REVERSED, 1500] | REVERSED [REVERSED, 1510]
Status codes are Connect's legacy numbers; decisions must use status/statusCategory. Every
transition queues a webhook event `payment.<status lower>`.
"""

import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .clock import Clock
from .errors import ApiError
from .resources import (
    REVERSAL_STATUSES,
    checkout_status_response,
    payment_response,
    refund_response,
)
from .validation import CheckoutRequest, RefundRequest
from .webhooks import Event, WebhookDispatcher

# Statuses a payment does not leave by itself (a held-back "reorder" batch is sent then).
SETTLED_STATUSES = {"REJECTED", "CAPTURED", "REFUNDED", *REVERSAL_STATUSES}
APPROVE, DECLINE, PENDING, GATEWAY_ERROR = "approve", "decline", "pending", "gateway_error"
TEST_CARDS = {
    "4111111111111111": APPROVE,
    "4000000000000002": DECLINE,
    "4000000000009995": PENDING,
    "4000000000000119": GATEWAY_ERROR,
}
# Test flags per checkout, set through the control plane: name → check of the value.
FLAG_CHECKS = {
    "webhook": lambda v: (
        v in {"drop", "reorder", "tamper_body", "tamper_sig", "unknown_key", "wrong_api_version"}
        or (v.startswith("duplicate:") and v[10:].isdigit() and 1 <= int(v[10:]) <= 20)
    ),
    "amount": lambda v: v.startswith("mismatch:") and _is_int(v[9:]),
    "currency": lambda v: (
        v.startswith("mismatch:") and len(v) == 12 and v[9:].isalpha() and v[9:].isupper()
    ),
    "return": lambda v: v == "skip",
    "attempts": lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 10,
}


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def append_query(url: str, params: dict[str, str]) -> str:
    """`url` with `params` added to its query string, its own parameters kept."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


@dataclass
class Refund:
    id: str
    amount: int
    currency: str
    merchant_reference: str
    created_at: datetime


@dataclass
class Payment:
    id: str
    checkout_id: str
    amount: int
    currency: str
    merchant_reference: str
    status: str
    status_changed_at: datetime
    card_number: str
    card_expiry: str
    holder: str
    complete_due: float | None = None
    refunds: list[Refund] = field(default_factory=list)

    @property
    def refunded_amount(self) -> int:
        return sum(refund.amount for refund in self.refunds)


@dataclass
class Checkout:
    id: str
    returnmac: str
    page_token: str
    form_token: str
    request: CheckoutRequest
    created_at: datetime
    expires_at: datetime
    status: str = "IN_PROGRESS"
    payments: list[Payment] = field(default_factory=list)
    closed: bool = False
    flags: dict = field(default_factory=dict)

    @property
    def allowed_attempts(self) -> int:
        return self.flags.get("attempts", self.request.allowed_attempts)

    @property
    def attempts_left(self) -> int:
        return max(0, self.allowed_attempts - len(self.payments))

    @property
    def return_url(self) -> str:
        return append_query(
            self.request.return_url, {"hostedCheckoutId": self.id, "RETURNMAC": self.returnmac}
        )


@dataclass(frozen=True)
class PayOutcome:
    kind: str  # approve | decline | pending | gateway_error
    payment: Payment | None
    finished: bool  # the customer goes back to the store


class Gateway:
    def __init__(
        self,
        *,
        merchant_id: str,
        merchant_name: str,
        public_address: str,
        clock: Clock,
        dispatcher: WebhookDispatcher,
        pending_delay_seconds: float,
        default_session_timeout: int,
        default_attempts: int,
    ) -> None:
        self.merchant_id = merchant_id
        self.merchant_name = merchant_name
        self.public_address = public_address
        self.clock = clock
        self.dispatcher = dispatcher
        self.pending_delay_seconds = pending_delay_seconds
        self.default_session_timeout = default_session_timeout
        self.default_attempts = default_attempts
        self._lock = threading.RLock()
        self._checkouts: dict[str, Checkout] = {}
        self._payments: dict[str, Payment] = {}
        self._failing_creates = 0
        self._failing_refunds = 0
        self._creates_held = threading.Event()
        self._creates_held.set()  # set = not held
        self._holding = 0

    # --- server-to-server API ------------------------------------------------------------

    def create_checkout(self, request: CheckoutRequest) -> dict:
        """A new hosted checkout; answers a CreateHostedCheckoutResponse."""
        now = self.clock.now()
        checkout = Checkout(
            id=f"1001-{uuid.uuid4().hex}",
            returnmac=str(uuid.uuid4()),
            page_token=secrets.token_urlsafe(24),
            form_token=secrets.token_urlsafe(24),
            request=request,
            created_at=now,
            expires_at=now + timedelta(minutes=request.session_timeout_minutes),
        )
        with self._lock:
            self._checkouts[checkout.id] = checkout
        return {
            "RETURNMAC": checkout.returnmac,
            "hostedCheckoutId": checkout.id,
            "merchantReference": request.merchant_reference,
            "partialRedirectUrl": (
                f"{self.public_address}/hostedcheckout/{checkout.id}?t={checkout.page_token}"
            ),
        }

    def checkout_status(self, checkout_id: str) -> dict:
        """GetHostedCheckoutResponse."""
        with self._lock:
            self.tick()
            checkout = self._checkouts.get(checkout_id)
            if checkout is None:
                raise ApiError(404, "UNKNOWN_HOSTED_CHECKOUT", f"no hosted checkout {checkout_id}")
            return checkout_status_response(checkout)

    def payment(self, payment_id: str) -> dict:
        """PaymentResponse."""
        with self._lock:
            self.tick()
            return payment_response(self._get_payment(payment_id))

    def refund(self, payment_id: str, request: RefundRequest) -> dict:
        """Refund (part of) a captured payment; in full, the payment becomes REFUNDED.
        Answers a RefundResponse."""
        with self._lock:
            self.tick()
            payment = self._get_payment(payment_id)
            if payment.status != "CAPTURED":
                raise ApiError(
                    400,
                    "REFUND_NOT_ALLOWED",
                    f"payment {payment_id} is {payment.status}, not refundable",
                )
            if request.currency != payment.currency:
                raise ApiError(
                    400,
                    "REQUEST_NOT_VALID",
                    f"amountOfMoney.currencyCode must be the payment's currency {payment.currency}",
                    "amountOfMoney.currencyCode",
                )
            if request.amount > payment.amount - payment.refunded_amount:
                raise ApiError(
                    400,
                    "REQUEST_NOT_VALID",
                    "amountOfMoney.amount is more than the amount left to refund",
                    "amountOfMoney.amount",
                )
            refund = Refund(
                id=f"{payment.id}-R{len(payment.refunds) + 1}",
                amount=request.amount,
                currency=request.currency,
                merchant_reference=request.merchant_reference,
                created_at=self.clock.now(),
            )
            payment.refunds.append(refund)
            if payment.refunded_amount == payment.amount:
                self._transition(payment, "REFUNDED")
            return refund_response(refund, payment)

    # --- faults for contract tests -------------------------------------------------------

    def fail_next_creates(self, count: int) -> None:
        with self._lock:
            self._failing_creates = count

    def take_create_failure(self) -> bool:
        """True if this create must fail with 503 (one of the next N after fail-next-create)."""
        with self._lock:
            if self._failing_creates > 0:
                self._failing_creates -= 1
                return True
            return False

    def fail_next_refunds(self, count: int) -> None:
        with self._lock:
            self._failing_refunds = count

    def take_refund_failure(self) -> bool:
        """True if this refund must fail with 500 and do nothing (fail-next-refund)."""
        with self._lock:
            if self._failing_refunds > 0:
                self._failing_refunds -= 1
                return True
            return False

    def hold_creates(self, hold: bool) -> None:
        if hold:
            self._creates_held.clear()
        else:
            self._creates_held.set()

    def wait_while_held(self, limit_seconds: float = 30.0) -> None:
        """Creates wait here while held (so a test can send a concurrent duplicate)."""
        if self._creates_held.is_set():
            return
        with self._lock:
            self._holding += 1
        try:
            self._creates_held.wait(limit_seconds)
        finally:
            with self._lock:
                self._holding -= 1

    def holds(self) -> dict:
        with self._lock:
            return {"held": not self._creates_held.is_set(), "waiting": self._holding}

    # --- the hosted page -----------------------------------------------------------------

    def checkout_for_page(self, checkout_id: str, token: str) -> Checkout | None:
        """The checkout if `token` is its page token (compared in constant time), else None."""
        with self._lock:
            self.tick()
            checkout = self._checkouts.get(checkout_id)
        if checkout is None or not secrets.compare_digest(
            checkout.page_token.encode(), (token or "").encode()
        ):
            return None
        return checkout

    def pay(self, checkout: Checkout, *, card_number: str, holder: str, expiry: str) -> PayOutcome:
        """One payment attempt with a test card (card_number must be one of TEST_CARDS)."""
        kind = TEST_CARDS[card_number]
        with self._lock:
            self.tick()
            if checkout.closed:
                raise ValueError("checkout is closed")
            if kind == GATEWAY_ERROR:
                return PayOutcome(kind, None, finished=False)
            payment = self._new_payment(
                checkout, card_number=card_number, holder=holder, expiry=expiry
            )
            if kind == APPROVE:
                self._transition(payment, "CAPTURED")
                finished = True
            elif kind == PENDING:
                self._transition(payment, "CAPTURE_REQUESTED")
                if self.pending_delay_seconds > 0:
                    payment.complete_due = self.clock.time() + self.pending_delay_seconds
                finished = True
            else:
                self._transition(payment, "REJECTED")
                finished = checkout.attempts_left == 0
            if finished:
                checkout.closed = True
            return PayOutcome(kind, payment, finished)

    def cancel(self, checkout: Checkout) -> None:
        with self._lock:
            self.tick()
            if checkout.closed:
                raise ValueError("checkout is closed")
            checkout.status = "CANCELLED_BY_CONSUMER"
            checkout.closed = True

    # --- control plane -------------------------------------------------------------------

    def set_flags(self, checkout_id: str, flags: dict) -> dict:
        for name, value in flags.items():
            check = FLAG_CHECKS.get(name)
            if check is None:
                raise ApiError(400, "REQUEST_NOT_VALID", f"unknown flag {name!r}", name)
            if value is not None and not check(value):
                raise ApiError(400, "REQUEST_NOT_VALID", f"flag {name} cannot be {value!r}", name)
        with self._lock:
            checkout = self._checkouts.get(checkout_id)
            if checkout is None:
                raise ApiError(404, "UNKNOWN_HOSTED_CHECKOUT", f"no hosted checkout {checkout_id}")
            for name, value in flags.items():
                if value is None:
                    checkout.flags.pop(name, None)
                else:
                    checkout.flags[name] = value
            return dict(checkout.flags)

    def describe_checkout(self, checkout_id: str) -> dict:
        """What the control plane shows about a checkout (more than the API does)."""
        with self._lock:
            self.tick()
            checkout = self._checkouts.get(checkout_id)
            if checkout is None:
                raise ApiError(404, "UNKNOWN_HOSTED_CHECKOUT", f"no hosted checkout {checkout_id}")
            return {
                "hostedCheckoutId": checkout.id,
                "status": checkout.status,
                "closed": checkout.closed,
                "flags": dict(checkout.flags),
                "attemptsLeft": checkout.attempts_left,
                "expiresAt": checkout.expires_at.isoformat(),
                "returnUrl": checkout.return_url,
                "payments": [
                    {
                        "id": p.id,
                        "status": p.status,
                        "refunds": [
                            {"id": r.id, "amount": r.amount, "reference": r.merchant_reference}
                            for r in p.refunds
                        ],
                    }
                    for p in checkout.payments
                ],
            }

    def complete_payment(self, payment_id: str) -> dict:
        """Finish a pending (CAPTURE_REQUESTED) payment: it becomes CAPTURED."""
        with self._lock:
            payment = self._get_payment(payment_id)
            if payment.status != "CAPTURE_REQUESTED":
                raise ApiError(
                    409,
                    "REQUEST_NOT_VALID",
                    f"payment {payment_id} is {payment.status}, not pending",
                )
            self._complete(payment)
            return payment_response(payment)

    def reverse_payment(self, payment_id: str, status: str) -> dict:
        """The customer's bank takes a captured payment back: it becomes `status`
        (CHARGEBACKED or REVERSED), and the webhook `payment.<status lower>` is sent."""
        if status not in REVERSAL_STATUSES:
            raise ApiError(
                400,
                "REQUEST_NOT_VALID",
                f"status must be one of {', '.join(REVERSAL_STATUSES)}",
                "status",
            )
        with self._lock:
            self.tick()
            payment = self._get_payment(payment_id)
            if payment.status != "CAPTURED":
                raise ApiError(
                    409,
                    "REQUEST_NOT_VALID",
                    f"payment {payment_id} is {payment.status}, not captured",
                )
            self._transition(payment, status)
            return payment_response(payment)

    def tick(self) -> None:
        """Apply what the passing of time does: expire open checkouts, complete due payments."""
        with self._lock:
            now = self.clock.now()
            moment = self.clock.time()
            for checkout in self._checkouts.values():
                if not checkout.closed and now >= checkout.expires_at:
                    checkout.status = "CANCELLED_BY_CONSUMER"
                    checkout.closed = True
            for payment in self._payments.values():
                if payment.complete_due is not None and moment >= payment.complete_due:
                    self._complete(payment)

    # --- internals -----------------------------------------------------------------------

    def _get_payment(self, payment_id: str) -> Payment:
        payment = self._payments.get(payment_id)
        if payment is None:
            raise ApiError(404, "UNKNOWN_PAYMENT", f"no payment {payment_id}")
        return payment

    def _new_payment(
        self, checkout: Checkout, *, card_number: str, holder: str, expiry: str
    ) -> Payment:
        amount = checkout.request.amount
        currency = checkout.request.currency
        if "amount" in checkout.flags:
            amount += int(checkout.flags["amount"].split(":", 1)[1])
        if "currency" in checkout.flags:
            currency = checkout.flags["currency"].split(":", 1)[1]
        payment = Payment(
            id=f"{secrets.randbelow(10**14):014d}{len(checkout.payments) + 1:06d}",
            checkout_id=checkout.id,
            amount=amount,
            currency=currency,
            merchant_reference=checkout.request.merchant_reference,
            status="CREATED",
            status_changed_at=self.clock.now(),
            card_number=card_number,
            card_expiry=expiry,
            holder=holder,
        )
        checkout.payments.append(payment)
        checkout.status = "PAYMENT_CREATED"
        self._payments[payment.id] = payment
        self._publish(payment)
        return payment

    def _complete(self, payment: Payment) -> None:
        payment.complete_due = None
        self._transition(payment, "CAPTURED")

    def _transition(self, payment: Payment, status: str) -> None:
        payment.status = status
        payment.status_changed_at = self.clock.now()
        self._publish(payment)

    def _publish(self, payment: Payment) -> None:
        checkout = self._checkouts[payment.checkout_id]
        event = Event.for_payment(
            merchant_id=self.merchant_id,
            checkout_id=checkout.id,
            payment=payment_response(payment),
            now=self.clock.now(),
        )
        self.dispatcher.publish(
            event, flag=checkout.flags.get("webhook"), final=payment.status in SETTLED_STATUSES
        )
