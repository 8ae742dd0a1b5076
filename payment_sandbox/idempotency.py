"""X-GCS-Idempotence-Key handling. Keys are scoped to the merchant and kept 24 hours (sandbox
clock). The first request with a key claims it; a repeat while it is still being processed is a
409 whose only error has code 1409 (the SDK raises IdempotenceException); a repeat after it
finished replays the stored status and body with X-GCS-Idempotence-Request-Timestamp (the first
request's time in milliseconds). Answers of 5xx are not stored, so a retry after a gateway
failure is processed afresh. A repeat whose method, path or body differ is also a 1409 conflict
(the real gateway's answer to that is not documented)."""

import hashlib
import threading
from dataclasses import dataclass, field

from .errors import ApiError

KEEP_SECONDS = 24 * 3600


@dataclass
class _Entry:
    fingerprint: str
    first_seen_ms: int
    done: bool = False
    status: int = 0
    body: bytes = b""
    content_type: str = ""
    expires_at: float = field(default=0.0)


@dataclass(frozen=True)
class Replay:
    status: int
    body: bytes
    content_type: str
    request_timestamp_ms: int


class IdempotenceStore:
    def __init__(self, clock) -> None:
        self._clock = clock
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._lock = threading.Lock()

    @staticmethod
    def fingerprint(method: str, path: str, body: bytes) -> str:
        return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()

    def claim(self, merchant_id: str, key: str, fingerprint: str) -> Replay | None:
        """Claim `key` for a new request (returns None), or return the stored answer to replay.
        Raises ApiError(409) while the first request is in progress or if it was different."""
        now = self._clock.time()
        with self._lock:
            for stale in [
                k for k, e in self._entries.items() if e.expires_at and e.expires_at < now
            ]:
                del self._entries[stale]
            entry = self._entries.get((merchant_id, key))
            if entry is None:
                self._entries[(merchant_id, key)] = _Entry(fingerprint, int(now * 1000))
                return None
            if entry.fingerprint != fingerprint:
                raise ApiError(
                    409,
                    "DUPLICATE_REQUEST_IN_PROGRESS",
                    "this idempotence key was used for a different request (body mismatch)",
                )
            if not entry.done:
                raise ApiError(
                    409,
                    "DUPLICATE_REQUEST_IN_PROGRESS",
                    "a request with this idempotence key is still being processed",
                )
            return Replay(entry.status, entry.body, entry.content_type, entry.first_seen_ms)

    def finish(
        self, merchant_id: str, key: str, status: int, body: bytes, content_type: str
    ) -> None:
        """Store the answer to the request that claimed `key` (forget the key on a 5xx)."""
        with self._lock:
            entry = self._entries.get((merchant_id, key))
            if entry is None:
                return
            if status >= 500:
                del self._entries[(merchant_id, key)]
                return
            entry.done = True
            entry.status = status
            entry.body = body
            entry.content_type = content_type
            entry.expires_at = self._clock.time() + KEEP_SECONDS
