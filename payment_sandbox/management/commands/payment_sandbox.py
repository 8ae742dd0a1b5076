"""`manage.py payment_sandbox`: run the local stand-in for the Worldline Connect API (see
payment_sandbox/__init__.py for what it serves). Loopback only, unless `--allow-non-loopback` (the
demo stack's container, behind the proxy) says otherwise with a loud warning; stops cleanly on
SIGTERM/SIGINT."""

import logging
import signal
import sys
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from payment_sandbox.server import (
    NotLoopback,
    Sandbox,
    SandboxConfig,
    any_address,
    loopback_address,
)

NON_LOOPBACK_WARNING = (
    "WARNING: the payment sandbox is listening on {host}, not a loopback address. It is a FAKE "
    "payment gateway with an unauthenticated control plane: anyone who reaches it can approve "
    "payments. Use it only for a demo, behind the proxy, on a private network."
)


def retry_schedule(text: str) -> tuple[float, ...]:
    """The --webhook-retry value as seconds: "1,2,5" → (1.0, 2.0, 5.0); empty: no retries."""
    try:
        delays = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError as error:
        raise CommandError(
            f"--webhook-retry must be seconds separated by commas, not {text!r}"
        ) from error
    if any(delay < 0 for delay in delays):
        raise CommandError("--webhook-retry delays cannot be negative")
    return delays


class Command(BaseCommand):
    help = "Run the payment sandbox (a local Worldline Connect stand-in) on a loopback address."
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--host", default="127.0.0.1", help="loopback address (default 127.0.0.1)"
        )
        parser.add_argument(
            "--allow-non-loopback",
            action="store_true",
            help="allow --host to be any address (demo containers only; logs a loud warning)",
        )
        parser.add_argument(
            "--port", type=int, default=8001, help="port (default 8001; 0 picks one)"
        )
        parser.add_argument(
            "--webhook-url",
            default=None,
            help="where webhooks go (default GATEWAY_SANDBOX_WEBHOOK_URL)",
        )
        parser.add_argument(
            "--webhook-retry",
            default="10,60,300,1800,7200",
            help="seconds before each retry of a failed webhook, comma separated",
        )
        parser.add_argument(
            "--pending-delay",
            type=float,
            default=60.0,
            help="seconds until a pending payment (card ...9995) completes; 0: only via the control plane",
        )
        parser.add_argument(
            "--session-timeout", type=int, default=180, help="checkout lifetime in minutes"
        )
        parser.add_argument("--attempts", type=int, default=3, help="payment attempts per checkout")
        parser.add_argument("--merchant-name", default="IPmart", help="shown on the hosted page")
        parser.add_argument(
            "--public-address",
            default="",
            help="host:port in partialRedirectUrl (default: the bound address)",
        )

    def handle(self, *args, **options):
        host = options["host"]
        try:
            loopback_address(host)
        except NotLoopback as error:
            if not options["allow_non_loopback"]:
                raise CommandError(
                    "The payment sandbox listens on loopback only (127.0.0.0/8, ::1, localhost) "
                    f"unless --allow-non-loopback is given: {error}"
                ) from error
            try:
                any_address(host)
            except ValueError as bad:
                raise CommandError(f"--host must be an IP address or 'localhost': {bad}") from bad
            self.stderr.write(NON_LOOPBACK_WARNING.format(host=host))
        if not 0 <= options["port"] <= 65535:
            raise CommandError("--port must be 0 to 65535")
        if not 1 <= options["attempts"] <= 10:
            raise CommandError("--attempts must be 1 to 10")
        if not 1 <= options["session_timeout"] <= 1440:
            raise CommandError("--session-timeout must be 1 to 1440 minutes")
        config = SandboxConfig(
            merchant_id=settings.GATEWAY_MERCHANT_ID,
            api_key_id=settings.GATEWAY_API_KEY_ID,
            secret_api_key=settings.GATEWAY_SECRET_API_KEY,
            webhook_url=(
                settings.GATEWAY_SANDBOX_WEBHOOK_URL
                if options["webhook_url"] is None
                else options["webhook_url"]
            ),
            webhook_key_id=settings.GATEWAY_WEBHOOK_KEY_ID,
            webhook_secret=settings.GATEWAY_WEBHOOK_SECRET,
            host=host,
            port=options["port"],
            merchant_name=options["merchant_name"],
            public_address=options["public_address"],
            retry_delays=retry_schedule(options["webhook_retry"]),
            pending_delay_seconds=max(0.0, options["pending_delay"]),
            session_timeout_minutes=options["session_timeout"],
            allowed_attempts=options["attempts"],
            allow_non_loopback=options["allow_non_loopback"],
        )
        self._log_to_stderr()
        try:
            sandbox = Sandbox(config)
        except OSError as error:
            raise CommandError(f"Cannot listen on {host}:{options['port']}: {error}") from error

        stop = threading.Event()

        def request_stop(signum, frame):
            stop.set()

        previous = {
            sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        sandbox.start()
        self.stdout.write(
            f"Payment sandbox listening on {sandbox.url}/ for merchant {config.merchant_id}; "
            f"webhooks to {config.webhook_url or '(nowhere)'}"
        )
        self.stdout.flush()
        try:
            while not stop.wait(0.5):
                pass
        finally:
            sandbox.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write("Payment sandbox stopped.")

    @staticmethod
    def _log_to_stderr() -> None:
        log = logging.getLogger("payment_sandbox")
        if not any(getattr(handler, "_sandbox", False) for handler in log.handlers):
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
            handler._sandbox = True
            log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
