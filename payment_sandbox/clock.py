"""The sandbox's clock: wall time plus an offset that the control plane can move forward, so
tests can expire checkouts, complete pending payments and fire webhook retries without waiting.
Request Date headers are checked against the real wall clock, not this one."""

import threading
import time
from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()
        self._listeners: list = []

    def time(self) -> float:
        with self._lock:
            return time.time() + self._offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC)

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._offset += delta.total_seconds()
            listeners = list(self._listeners)
        for listener in listeners:
            listener()
        return self.now()

    def on_advance(self, listener) -> None:
        """Call `listener()` after each advance (the webhook thread wakes up to look again)."""
        with self._lock:
            self._listeners.append(listener)


def connect_datetime(moment: datetime) -> str:
    """statusCodeChangeDateTime: YYYYMMDDhhmmss."""
    return moment.strftime("%Y%m%d%H%M%S")


def event_datetime(moment: datetime) -> str:
    """A webhook's `created`: yyyy-MM-dd'T'HH:mm:ss.SSSZ, e.g. 2025-05-01T10:00:00.000+0000."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"
