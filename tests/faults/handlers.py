"""Outbox handlers used only by fault tests."""

import os
import time
from pathlib import Path

from django.db import transaction


def fulfil_then_hang(order_id: int, marker: str) -> None:
    """The real fulfilment handler, held open mid-transaction the first time it runs (so a
    test can SIGKILL the worker there); runs straight through once the marker exists."""
    from orders.tasks import fulfil_order_task

    with transaction.atomic():
        fulfil_order_task(order_id)  # keys issued, fulfilment row written: not committed yet
        if not os.path.exists(marker):
            Path(marker).write_text(str(os.getpid()))
            time.sleep(120)  # the test kills the worker here
