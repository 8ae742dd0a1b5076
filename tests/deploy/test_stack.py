"""The compose stack really serves: HTTPS through the proxy to two web processes, a customer signs
up, verifies by email, buys a licence on the demo gateway's hosted page and sees the key; the
session works on either web process; the application's database role cannot defeat the
append-only triggers; `check --deploy` passes in the web service's environment.

Run by `.ci/run` (`make test-deploy`); needs PostgreSQL, Redis, Chromium and Debian's caddy."""

from __future__ import annotations

import email
import os
import re
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from email import policy

import pytest

from tests.conftest import CHROMIUM, missing_service

from .stack import ROOT, Stack, free_port

pytestmark = pytest.mark.deploy

PASSWORD = "a long and unusual passphrase"
APPROVED = "4111 1111 1111 1111"


def _reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class Inbox:
    """The demo mail catcher's stand-in: an SMTP server keeping every message."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[email.message.EmailMessage] = []
        inbox = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                inbox.messages.append(
                    email.message_from_bytes(envelope.content, policy=policy.default)
                )
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def wait_for(self, to: str, timeout: float = 30) -> email.message.EmailMessage:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.messages:
                if to in message["To"]:
                    return message
            time.sleep(0.2)
        raise AssertionError(f"no email to {to} within {timeout}s")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    if shutil.which("caddy") is None:
        missing_service("the deploy test needs Debian's caddy (apt-get install caddy)")
    if not _reachable(5432) or not _reachable(6379):
        missing_service("the deploy test needs PostgreSQL and Redis on 127.0.0.1")
    if not os.path.exists(CHROMIUM):
        missing_service(f"the deploy test needs Chromium at {CHROMIUM}")
    inbox = Inbox()
    stack = Stack(
        workdir=tmp_path_factory.mktemp("stack"),
        database=f"ipmart_deploy_{os.getpid()}",
        smtp_port=inbox.port,
    )
    stack.inbox = inbox
    try:
        stack.drop_database()
        stack.start()
        yield stack
    finally:
        stack.stop()
        inbox.controller.stop()
        stack.drop_database()


def _https_context(stack) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(stack.root_certificate))


def test_the_proxy_serves_https_with_its_certificate_and_redirects_http(stack):
    # when: the store's home page through the proxy, verified against Caddy's CA
    with urllib.request.urlopen(
        f"https://localhost:{stack.https_port}/", context=_https_context(stack), timeout=10
    ) as answer:
        body = answer.read().decode()
        assert answer.status == 200
        assert answer.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "IPmart" in body
    # and plain HTTP on the proxy is sent to HTTPS
    request = urllib.request.Request(f"http://localhost:{stack.http_port}/shop/")
    opener = urllib.request.build_opener(_NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as redirect:
        opener.open(request, timeout=10)
    assert redirect.value.code in {301, 308}
    assert redirect.value.headers["Location"].startswith("https://localhost")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _raw_get(port: int, path: str, headers: dict[str, str], source: str = "127.0.0.1") -> str:
    """One HTTP/1.0 request from `source` to a web process; the status line and headers."""
    with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0)) as s:
        lines = [f"GET {path} HTTP/1.0", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
        s.sendall("\r\n".join(lines).encode())
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    return answer.decode(errors="replace")


def _status(answer: str) -> int:
    return int(answer.split(" ", 2)[1])


def test_only_the_proxy_may_say_a_request_came_over_https(stack):
    headers = {"Host": "localhost", "X-Forwarded-Proto": "https"}
    # from the proxy's address the header is believed: the login page is served
    trusted = _raw_get(stack.ports["web"], "/accounts/login/", headers)
    assert _status(trusted) == 200, trusted[:300]
    # from any other address it is not: redirected to HTTPS
    claimed = _raw_get(stack.ports["web"], "/accounts/login/", headers, source="127.0.0.2")
    assert _status(claimed) == 301, claimed[:300]
    assert "Location: https://localhost/accounts/login/" in claimed


def test_the_healthcheck_works_whatever_the_allowed_hosts(stack):
    # ALLOWED_HOSTS is "localhost"; the compose healthcheck calls 127.0.0.1
    assert stack.healthcheck("web") and stack.healthcheck("web2")
    ready = _raw_get(stack.ports["web2"], "/readyz", {"Host": "10.1.2.3:8000"})
    assert _status(ready) == 200, ready[:300]


def test_check_deploy_passes_in_the_web_services_environment(stack):
    output = stack.run(
        [*stack.command("migrate")[:2], "check", "--deploy", "--fail-level", "WARNING"],
        stack.environment("web"),
    )
    assert "System check identified no issues" in output


def test_the_document_vault_is_shared_by_web_and_worker_on_the_private_volume(stack):
    # given: a document stored by a web process (its environment: keys and folder from compose)
    python = stack.command("migrate")[0]
    stored = stack.run(
        [
            python,
            "-c",
            "import django; django.setup(); from privacy import vault;"
            " print(vault.store(b'statement bytes').pk)",
        ],
        stack.environment("web"),
    )
    pk = int(stored.strip().splitlines()[-1])
    # then: only ciphertext is on the `documents` volume's folder, never under static or media
    blobs = [p for p in (stack.var_dir / "private" / "vault").rglob("*") if p.is_file()]
    assert len(blobs) == 1 and b"statement bytes" not in blobs[0].read_bytes()
    # and the worker (retention shredding) reads it with the same keys and folder
    read = stack.run(
        [
            python,
            "-c",
            "import django; django.setup(); from privacy import vault;"
            f" from privacy.models import VaultFile; f = VaultFile.objects.get(pk={pk});"
            " print(vault.read_bytes(f).decode()); vault.shred(f)",
        ],
        stack.environment("worker"),
    )
    assert read.strip().splitlines()[-1] == "statement bytes"
    assert not blobs[0].exists()


def test_product_images_stored_by_a_web_process_are_served_by_the_proxy(stack):
    # given: a product image rendition saved by a web process (its MEDIA_ROOT from compose)
    python = stack.command("migrate")[0]
    saved = stack.run(
        [
            python,
            "-c",
            "import django; django.setup(); from django.core.files.base import ContentFile;"
            " from django.core.files.storage import default_storage;"
            " from orders.images import demo_product_image;"
            " print(default_storage.save('products/deploy/320.webp',"
            " ContentFile(demo_product_image('deploy', 'Deploy test', width=320))))",
        ],
        stack.environment("web"),
    )
    name = saved.strip().splitlines()[-1]
    stored = (stack.var_dir / "media" / name).read_bytes()
    # when: a browser asks the proxy for it at MEDIA_URL
    with urllib.request.urlopen(
        f"https://localhost:{stack.https_port}/media/{name}",
        context=_https_context(stack),
        timeout=10,
    ) as answer:
        # then: the proxy serves the very file, typed and not sniffable
        assert answer.status == 200
        assert answer.read() == stored
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
    # and the private volume is not reachable through the media address
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(
            f"https://localhost:{stack.https_port}/media/../private/vault/",
            context=_https_context(stack),
            timeout=10,
        )
    assert refused.value.code == 404


def test_the_application_role_cannot_defeat_the_append_only_triggers(stack):
    import psycopg2

    env = stack.environment("web")
    database_url = env["DATABASE_URL"]
    assert stack.app_role in database_url
    app = psycopg2.connect(database_url)
    app.autocommit = True
    attempts = {
        "disable": "ALTER TABLE privacy_accesslog DISABLE TRIGGER ALL",
        "drop": "DROP TRIGGER privacy_accesslog_append_only ON privacy_accesslog",
        "truncate": "TRUNCATE privacy_accesslog",
        "truncate policies": "TRUNCATE privacy_policyversion CASCADE",
        "replica": "SET session_replication_role = replica",
        "update policy": "UPDATE privacy_policyversion SET body_en = 'changed'",
        "delete policy": "DELETE FROM privacy_policyversion",
        "drop table": "DROP TABLE privacy_accesslog",
    }
    refused = {}
    for name, statement in attempts.items():
        with app.cursor() as cursor:
            try:
                cursor.execute(statement)
                refused[name] = False
            except psycopg2.Error:
                refused[name] = True
    # but it can read and write ordinary rows
    with app.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM privacy_policyversion")
        assert cursor.fetchone()[0] >= 1
        cursor.execute("UPDATE orders_product SET name = name WHERE false")
        # granting itself more is a no-op (PostgreSQL only warns): it still holds no TRUNCATE
        cursor.execute("GRANT TRUNCATE ON privacy_accesslog TO PUBLIC")
        cursor.execute(
            "SELECT has_table_privilege(current_user, 'privacy_accesslog', 'TRUNCATE'),"
            " has_table_privilege(current_user, 'privacy_policyversion', 'TRUNCATE')"
        )
        assert cursor.fetchone() == (False, False)
    app.close()
    assert refused == dict.fromkeys(attempts, True)


def test_a_customer_signs_up_verifies_buys_a_licence_and_the_session_spans_both_web_processes(
    stack,
):
    from playwright.sync_api import sync_playwright

    # given: the demo catalogue, loaded through the application role
    stack.run(
        [*stack.command("migrate")[:2], "seed_catalogue", "--allow-production"],
        stack.environment("web"),
    )
    base = f"https://localhost:{stack.https_port}"
    customer = "aina@example.com"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        try:
            context = browser.new_context(locale="en-GB", ignore_https_errors=True)
            page = context.new_page()
            errors: list[str] = []
            page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))

            # signs up
            page.goto(base + "/accounts/signup/")
            page.get_by_label("Full name").fill("Nurul Aina")
            page.get_by_label("Email").fill(customer)
            page.get_by_label("Password", exact=True).fill(PASSWORD)
            page.get_by_label("Password (again)").fill(PASSWORD)
            page.locator("#id_accept_privacy_policy").check()
            page.locator("main form button[type=submit]").click()
            page.wait_for_url(re.compile(r"/accounts/confirm-email/"))

            # verifies from the mail catcher (sent by the web process over SMTP)
            message = stack.inbox.wait_for(customer)
            body = message.get_body(preferencelist=("plain",)).get_content()
            link = re.search(r"https://\S+/accounts/confirm-email/\S+/", body).group(0)
            assert link.startswith(base), link
            page.goto(link)
            page.locator("main form button[type=submit]").click()
            page.wait_for_url(re.compile(r"/accounts/login/"))

            # signs in
            page.get_by_label("Email").fill(customer)
            page.get_by_label("Password").fill(PASSWORD)
            page.locator("main form button[type=submit]").click()
            page.wait_for_url(re.compile(r"/account/$"))

            # buys a licence
            page.goto(base + "/shop/windows-11-pro/")
            page.get_by_role("button", name="Add to cart").click()
            page.get_by_role("link", name="Check out").click()
            page.wait_for_url(re.compile(r"/account/addresses/new/"))
            page.get_by_label("Address line 1").fill("8 Jalan Tun Razak")
            page.get_by_label("City").fill("Kuala Lumpur")
            page.get_by_label("Postcode").fill("50400")
            page.get_by_role("button", name="Save address").click()
            page.wait_for_url(re.compile(r"/checkout/"))
            page.get_by_role("button", name="Place order and pay").click()

            # on the demo gateway's hosted page, over HTTPS through the proxy
            page.wait_for_url(re.compile(r"/hostedcheckout/"))
            assert page.url.startswith(f"https://payment.localhost:{stack.https_port}/"), page.url
            page.get_by_label("Name on card").fill("Nurul Aina")
            page.get_by_label("Card number").fill(APPROVED)
            page.get_by_label("Expiry (MM/YY)").fill("12/30")
            page.get_by_label("CVC").fill("123")
            page.get_by_role("button", name=re.compile(r"^Pay")).click()
            page.wait_for_url(re.compile(r"/orders/IPM-"))
            assert page.get_by_text("Thank you, your payment was received.").is_visible()

            # the worker fulfils the order (outbox → broker → worker): the key appears
            deadline = time.monotonic() + 60
            while not page.locator("code.licence-key").count():
                assert time.monotonic() < deadline, "no licence key after 60 s\n" + stack.logs()
                time.sleep(1)
                page.reload()
            key = page.locator("code.licence-key").inner_text()
            assert key
            # and the key email went out through SMTP from the worker
            key_mail = None
            deadline = time.monotonic() + 30
            while key_mail is None and time.monotonic() < deadline:
                key_mail = next(
                    (
                        m
                        for m in stack.inbox.messages
                        if key in m.get_body(preferencelist=("plain",)).get_content()
                    ),
                    None,
                )
                time.sleep(0.5)
            assert key_mail is not None, "no key email\n" + stack.logs()
            assert errors == []

            cookies = {c["name"]: c["value"] for c in context.cookies(base)}
        finally:
            browser.close()

    # the session continues on each web process (both read the same database and cache)
    assert "__Host-sessionid" in cookies
    cookie = f"__Host-sessionid={cookies['__Host-sessionid']}"
    for service in ("web", "web2"):
        answer = _raw_get(
            stack.ports[service],
            "/account/",
            {"Host": "localhost", "X-Forwarded-Proto": "https", "Cookie": cookie},
        )
        assert _status(answer) == 200, f"{service}: {answer[:300]}"
        assert "Hello, Nurul" in answer, service


def test_metrics_are_internal_and_web_logs_are_json_lines_with_the_proxys_request_id(stack):
    import json

    # through the proxy: not there
    with pytest.raises(urllib.error.HTTPError) as hidden:
        urllib.request.urlopen(
            f"https://localhost:{stack.https_port}/metrics",
            context=_https_context(stack),
            timeout=10,
        )
    assert hidden.value.code == 404
    # from inside (Prometheus on the stack's network): the gauges, read from broker and database
    scrape = _raw_get(stack.ports["web"], "/metrics", {"Host": "10.0.0.9:8000"})
    assert _status(scrape) == 200, scrape[:300]
    assert re.search(r"^ipmart_celery_queue_length \d", scrape, re.M), scrape[-2000:]
    assert re.search(r"^ipmart_outbox_oldest_pending_age_seconds \d", scrape, re.M)
    # one JSON line per request, carrying the id the proxy set
    urllib.request.urlopen(
        f"https://localhost:{stack.https_port}/privacy/", context=_https_context(stack), timeout=10
    ).read()
    time.sleep(0.5)
    lines = [
        json.loads(line)
        for process in stack.processes
        if process.name in {"web", "web2"}
        for line in process.log.read_text().splitlines()
        if line.startswith("{")
    ]
    requests = [line for line in lines if line.get("path") == "/privacy/"]
    assert requests, "no JSON request line\n" + stack.logs()
    assert re.fullmatch(r"[0-9a-f-]{36}", requests[-1]["request_id"])
    assert requests[-1]["status"] == 200 and "duration_ms" in requests[-1]


def test_the_stack_names_nothing_the_repository_lacks(stack):
    for name, spec in stack.services.items():
        for volume in spec.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
    processes = {process.name: process.popen.poll() for process in stack.processes}
    assert processes == dict.fromkeys(processes), "a service exited\n" + stack.logs()
    assert subprocess.run(["caddy", "version"], capture_output=True).returncode == 0
