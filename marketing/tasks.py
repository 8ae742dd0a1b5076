"""Celery tasks and outbox handlers of marketing. Each takes ids, loads rows and calls
marketing.sending or marketing.services; each is safe to run twice (delivery rows guard the
sends)."""

from celery import shared_task

from . import emails, sending, services


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def take_audience(campaign_id: int) -> int:
    return sending.take_audience(campaign_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def send_batch(campaign_id: int, first_subscriber_id: int, last_subscriber_id: int) -> dict:
    return sending.send_batch(campaign_id, first_subscriber_id, last_subscriber_id)


def send_confirmation_email(subscriber_id: int, topic_codes: list[str]) -> None:
    emails.send_confirmation_email(subscriber_id, topic_codes)


@shared_task(ignore_result=True)
def start_due_campaigns_task() -> list[int]:
    return services.start_due_campaigns()


@shared_task(ignore_result=True)
def mark_stuck_deliveries_task() -> int:
    return services.mark_stuck_deliveries()
