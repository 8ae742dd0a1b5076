"""The sandbox's tests share the gateway fixtures with the store's contract tests
(tests/orders/conftest.py: a sandbox process, the store's SDK client pointed at it, a webhook
receiver, test cards)."""

from tests.orders.conftest import *  # noqa: F403
from tests.orders.conftest import (  # noqa: F401
    APPROVED,
    DECLINED,
    GATEWAY_ERROR,
    PENDING,
    HostedPage,
    checkout_request,
    new_reference,
    remove_log,
    return_parameters,
    start_sandbox,
    stop_sandbox,
    wait_until,
)
