"""Stable Message-IDs for email that must not arrive twice.

The store sends email at least once: an outbox handler that the SMTP server answered "250 OK"
but that died before recording it runs again, and the SMTP server cannot be asked whether it
took the first copy. What the store can do is send the same message again under the same
`Message-ID`, derived from what the email is about (an order and a kind, an outbox message),
never random: mail providers and clients that see the second copy recognise it as the first.

The id is an HMAC of those parts (so it reveals no order number or row id), at the domain of
DEFAULT_FROM_EMAIL."""

from email.utils import parseaddr

from django.conf import settings
from django.utils.crypto import salted_hmac


def stable_message_id(*parts: object) -> str:
    """`<hex@domain>`, the same for the same parts on every run (and every process)."""
    digest = salted_hmac(
        "ipmart.core.message_ids", "|".join(str(part) for part in parts), algorithm="sha256"
    ).hexdigest()[:40]
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "ipmart.local"
    return f"<{digest}@{domain}>"


def outbox_message_id(*parts: object) -> str | None:
    """The stable Message-ID of the email an outbox handler is sending now (the same on every
    run of that message), or None outside a handler. `parts` tell apart several emails sent by
    one handler."""
    from .outbox import running_message_id

    message = running_message_id()
    return None if message is None else stable_message_id("outbox", message, *parts)
