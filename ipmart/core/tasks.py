"""Celery tasks of the outbox: the runner every relayed message goes through, and the sweeper
that beat runs; and the handler that emails staff alerts."""

import datetime

from celery import shared_task
from django.conf import settings

from . import outbox
from .alerts import send_staff_alert as _send_staff_alert


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_outbox_message(message_id: int) -> bool:
    return outbox.run_message(message_id)


@shared_task(ignore_result=True)
def relay_outbox_task() -> dict:
    relayed = outbox.relay_pending()
    purged = outbox.purge_done(older_than=datetime.timedelta(days=settings.OUTBOX_KEEP_DONE_DAYS))
    return {"relayed": relayed, "purged": purged}


def send_staff_alert(kind: str, subject: str, body: str) -> int:
    """Outbox handler of `ipmart.core.alerts.alert_staff`. Sending twice (a runner killed after
    the SMTP server took it) is possible but harmless for an alert to staff."""
    return _send_staff_alert(kind, subject, body)
