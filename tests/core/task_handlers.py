"""Outbox handlers used only by the request-id tests."""

import logging

from ipmart.core.request_id import current_request_id

logger = logging.getLogger(__name__)
SEEN: list[str] = []


def log_line(marker: str) -> None:
    """Write one log line naming `marker` (and remember the request id it ran under)."""
    SEEN.append(current_request_id())
    logger.warning("handled %s", marker)
