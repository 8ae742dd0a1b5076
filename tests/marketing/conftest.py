"""Real components for the marketing integration tests: an SMTP server on loopback (aiosmtpd)
whose received messages are parsed, and a Celery worker against the local Redis."""

import email
import email.policy
import socket
import threading

import pytest

from ipmart.celery import app
from tests.celery_app import forget_connections


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """What the loopback SMTP server received: (envelope recipients, parsed message)."""

    def __init__(self):
        self.received: list[tuple[list[str], email.message.EmailMessage]] = []
        self.lock = threading.Lock()
        self.port = 0

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.received.append((list(envelope.rcpt_tos), message))
        return "250 OK"

    def messages(self) -> list[email.message.EmailMessage]:
        with self.lock:
            return [m for _, m in self.received]

    def count(self) -> int:
        with self.lock:
            return len(self.received)


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    inbox.port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def smtp_settings(settings, smtp_server):
    """Campaigns go to the loopback server through Django's SMTP backend."""
    settings.MARKETING_EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    return smtp_server


@pytest.fixture
def celery_worker_thread(redis_url):
    """A real Celery worker (solo pool, in a thread of this process) on Redis."""
    from celery.contrib.testing.worker import start_worker

    keys = ["broker_url", "result_backend", "task_always_eager"]
    previous = {key: app.conf[key] for key in keys}
    app.conf.update(broker_url=redis_url, result_backend=redis_url, task_always_eager=False)
    forget_connections(app)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
            yield app
    finally:
        app.conf.update(**previous)
        forget_connections(app)
