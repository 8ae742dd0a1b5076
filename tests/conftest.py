"""Shared fixtures. Services (PostgreSQL, Redis, Chromium) are real; a test that needs one it
cannot reach is skipped with the reason, or fails when REQUIRE_SERVICES=1 (CI sets it)."""

import os
import shutil
import socket
from urllib.parse import urlparse

import pytest

# Playwright's sync API runs an event loop in the test thread; the ORM calls made after it in
# that thread are safe (the loop is idle while the test runs), so allow them.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")

# The store wired to a real payment sandbox process (contract and browser tests).
from tests.store_gateway import store, store_sandbox, webhook_proxy  # noqa: E402,F401


def services_required() -> bool:
    return os.environ.get("REQUIRE_SERVICES", "") not in {"", "0", "false", "no"}


def missing_service(reason: str):
    """Skip (laptop) or fail (CI) because a service is missing."""
    if services_required():
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}", pytrace=False)
    pytest.skip(f"SKIPPED LOUDLY: {reason}")


@pytest.fixture(autouse=True)
def _clear_cache():
    """Rate-limit counters and the cached policy id must not leak between tests."""
    from django.core.cache import cache

    from privacy.services import forget_current_policy

    cache.clear()
    forget_current_policy()
    yield
    cache.clear()
    forget_current_policy()


@pytest.fixture
def postgres(db):
    from django.db import connection

    if connection.vendor != "postgresql":
        missing_service("this test needs PostgreSQL: set DATABASE_URL=postgres://…")
    return connection


def _reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port or 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def redis_url(settings):
    url = os.environ.get("REDIS_URL", "")
    if not url or not _reachable(url):
        missing_service("this test needs Redis: set REDIS_URL=redis://127.0.0.1:6379/0")
    return url


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM) or shutil.which(CHROMIUM) is None:
        missing_service(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    console_errors: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and console_errors.append(msg.text))
    page.console_errors = console_errors
    yield page
    context.close()


def _reseed_reference_data() -> None:
    """Put back what data migrations seed (the first privacy policy, tax rates, staff roles).
    A transactional test (live_server, race tests) ends with a flush that empties every table,
    so the transactional tests after it would otherwise run without them."""
    import importlib

    from django.apps import apps

    from accounts.roles import sync_roles

    importlib.import_module(
        "privacy.migrations.0002_append_only_and_first_policy"
    ).publish_first_policy(apps, None)
    importlib.import_module("orders.migrations.0002_tax_rates_and_roles").tax_rates(apps, None)
    sync_roles(apps)
    importlib.import_module(
        "marketing.migrations.0002_ledger_append_only_roles_topics"
    ).seed_topics(apps, None)


@pytest.fixture(autouse=True)
def _reference_data_in_transactional_tests(request):
    if (
        {"transactional_db", "live_server"} & set(request.fixturenames)
        or request.node.get_closest_marker("django_db")
        and request.node.get_closest_marker("django_db").kwargs.get("transaction")
    ):
        request.getfixturevalue("transactional_db")
        _reseed_reference_data()
    yield
