"""Signup answers in the same time whether or not the email already has an account.

Without it the answer for a taken email came back in 26 ms against 378 ms for a new one, telling
anyone which emails are customers. Both answers already do the same expensive work (the password
is hashed once either way: accounts.forms.SignupForm.try_save; each sends one email through the
outbox). What remains differs by a few rows and by the hash's own spread on a busy machine
(tens of ms on PBKDF2's ~0.3 s), so on top of that every signup answer is held to a floor: a high
percentile of how long a new account's signup took in this process. Most answers of both kinds
finish under it and leave at the floor, so the two medians meet; `bench/signup_timing.py`
measures them."""

import threading
import time
from collections import deque


class SignupPacer:
    """The floor both signup answers wait for: the `PERCENTILE` of the last `SAMPLES` new-account
    signups (their own time, before any wait), never more than `MAX_WAIT` of waiting."""

    SAMPLES = 50
    PERCENTILE = 0.9
    MAX_WAIT = 1.0

    def __init__(self) -> None:
        self._created: deque[float] = deque(maxlen=self.SAMPLES)
        self._lock = threading.Lock()

    def floor(self) -> float:
        """Seconds a signup answer should take; 0 before any new account was seen."""
        with self._lock:
            taken = sorted(self._created)
        if not taken:
            return 0.0
        return taken[round(self.PERCENTILE * (len(taken) - 1))]

    def pace(self, *, created: bool, elapsed: float) -> float:
        """Wait until the answer has taken the floor; a new account's own time (`elapsed`,
        seconds since the request reached the view) teaches the floor. Returns the wait."""
        wait = min(self.floor() - elapsed, self.MAX_WAIT)
        if created:
            with self._lock:
                self._created.append(elapsed)
        if wait <= 0:
            return 0.0
        time.sleep(wait)
        return wait


SIGNUP_PACER = SignupPacer()
