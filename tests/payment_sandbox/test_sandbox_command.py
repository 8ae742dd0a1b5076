"""The `payment_sandbox` command as an operator meets it (loopback only, what it prints, clean
stop on signals) and the SDK client builder in orders.gateway_client."""

import re
import signal
import socket
import subprocess
import sys

import pytest
import requests
from django.core.management import CommandError, call_command

from orders.gateway_client import endpoint_url, get_client
from payment_sandbox.management.commands.payment_sandbox import retry_schedule
from payment_sandbox.server import NotLoopback, any_address, loopback_address

from .conftest import remove_log, start_sandbox, stop_sandbox


@pytest.mark.parametrize(
    "host", ["0.0.0.0", "::", "192.168.1.10", "10.0.0.1", "8.8.8.8", "example.com", ""]
)
def test_anything_but_loopback_is_refused(host):
    with pytest.raises(CommandError, match="loopback only"):
        call_command("payment_sandbox", host=host, port=0)


@pytest.mark.parametrize(
    ("host", "bound"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("127.8.9.10", "127.8.9.10"),
        ("::1", "::1"),
        ("localhost", "127.0.0.1"),
    ],
)
def test_loopback_addresses_are_accepted(host, bound):
    assert loopback_address(host)[1] == bound


def test_a_host_name_is_not_loopback():
    with pytest.raises(NotLoopback):
        loopback_address("my-laptop.local")


def test_retry_schedule_option():
    assert retry_schedule("1,2,5,30,120") == (1.0, 2.0, 5.0, 30.0, 120.0)
    assert retry_schedule("0.2, 0.5") == (0.2, 0.5)
    assert retry_schedule("") == ()
    with pytest.raises(CommandError):
        retry_schedule("1,soon")
    with pytest.raises(CommandError):
        retry_schedule("-1")


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_it_prints_its_address_logs_requests_and_stops_cleanly(settings, stop_signal):
    # given a running sandbox
    sandbox = start_sandbox(settings)
    try:
        # when it serves a request for a hosted page (with a token in the URL) and is signalled
        requests.get(f"{sandbox.url}/hostedcheckout/1001-abc?t=secret-token-value", timeout=10)
        sandbox.process.send_signal(stop_signal)
        code = sandbox.process.wait(15)
        log = sandbox.log()
    finally:
        stop_sandbox(sandbox)
        remove_log(sandbox)

    # then it said where it listens, logged the request on one line without the token, and
    # stopped with exit status 0
    assert f"Payment sandbox listening on {sandbox.url}/" in log
    assert re.search(r"127\.0\.0\.1 GET /hostedcheckout/1001-abc\?t=… 404 \d+ [\d.]+ms", log)
    assert "secret-token-value" not in log
    assert log.rstrip().endswith("Payment sandbox stopped.")
    assert code == 0


def test_it_says_when_the_port_is_taken(settings, sandbox):
    with pytest.raises(CommandError, match="Cannot listen on 127.0.0.1"):
        call_command("payment_sandbox", port=sandbox.port)


# --- orders.gateway_client -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "url"),
    [
        ("http://127.0.0.1:8001", "http://127.0.0.1:8001"),
        ("http://127.0.0.1:8001/", "http://127.0.0.1:8001"),
        (
            "https://api.connect.worldline-solutions.com",
            "https://api.connect.worldline-solutions.com",
        ),
        ("https://world.example:8443/", "https://world.example:8443"),
    ],
)
def test_endpoint_url_keeps_scheme_host_and_port(endpoint, url):
    assert endpoint_url(endpoint) == url


@pytest.mark.parametrize(
    "endpoint",
    ["127.0.0.1:8001", "ftp://host", "http://host/v1", "http://host/?x=1", "http://u@host"],
)
def test_endpoint_url_refuses_what_the_sdk_cannot_use(endpoint):
    with pytest.raises(ValueError, match="GATEWAY_ENDPOINT"):
        endpoint_url(endpoint)


def test_one_client_per_configuration(settings):
    settings.GATEWAY_ENDPOINT = "http://127.0.0.1:8001"
    first = get_client()
    same = get_client()
    settings.GATEWAY_ENDPOINT = "http://127.0.0.1:8002/"
    other = get_client()

    assert same is first
    assert other is not first


def test_a_non_loopback_address_needs_the_explicit_flag():
    # the demo stack's container binds every address, but only with --allow-non-loopback
    assert any_address("0.0.0.0") == (socket.AF_INET, "0.0.0.0")
    assert any_address("::")[1] == "::"
    assert any_address("localhost")[1] == "127.0.0.1"
    with pytest.raises(CommandError, match="IP address"):
        call_command("payment_sandbox", host="example.com", port=0, allow_non_loopback=True)


def test_with_the_flag_it_listens_on_any_address_and_says_so_loudly():
    process = subprocess.Popen(
        [sys.executable, "manage.py", "payment_sandbox", "--host", "0.0.0.0"]
        + ["--allow-non-loopback", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        listening = process.stdout.readline()
    finally:
        process.send_signal(signal.SIGTERM)
        _, errors = process.communicate(timeout=20)
    assert listening.startswith("Payment sandbox listening on http://0.0.0.0:")
    assert "WARNING: the payment sandbox is listening on 0.0.0.0" in errors
    assert "FAKE payment gateway" in errors
