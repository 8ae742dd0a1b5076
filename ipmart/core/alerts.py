"""Alerts to the people who run the store: an error log line at once, and an email to every
active store manager, sent through the outbox (so it commits with the state change that called
for it and survives a broker outage).

Any app may call `alert_staff` (a rescued order, an order sent to review, later a campaign that
stopped, a document that could not be scanned). Alerts carry references (order numbers, ids),
never personal data: they go to a mailbox and a log."""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage

from .message_ids import outbox_message_id
from .outbox import enqueue

logger = logging.getLogger("ipmart.alerts")

# The staff role whose members receive alerts (accounts.roles.STORE_MANAGER; named here so
# core does not import an app).
ALERT_ROLE = "store manager"


def alert_staff(subject: str, body: str, *, kind: str = "alert") -> None:
    """Log `subject` at ERROR level now and email it to the store managers after the current
    transaction commits (durably, through the outbox). Call it inside the service's
    transaction, like any other side effect."""
    logger.error("staff alert [%s]: %s", kind, subject)
    enqueue("ipmart.core.tasks.send_staff_alert", kind, subject[:200], body[:4000])


def alert_recipients() -> list[str]:
    users = get_user_model().objects.filter(is_active=True, is_staff=True, groups__name=ALERT_ROLE)
    return sorted(set(users.values_list("email", flat=True)))


def send_staff_alert(kind: str, subject: str, body: str) -> int:
    """Send one alert email to the store managers (the outbox runs this). Returns how many
    recipients it went to; with none, the log line is all there is."""
    recipients = alert_recipients()
    if not recipients:
        logger.warning("staff alert [%s] has no recipient (no active store manager)", kind)
        return 0
    message_id = outbox_message_id()  # a rerun of the message resends the same email
    EmailMessage(
        subject=f"[IPmart alert] {subject}",
        body=f"{body}\n\n{settings.SITE_URL}/admin/",
        to=recipients,
        headers={"Message-ID": message_id} if message_id else None,
    ).send()
    return len(recipients)
