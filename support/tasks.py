"""Outbox handlers of customer service. Each takes ids, loads rows and is safe to run twice: the
Notification row with a unique key is claimed before the email goes."""

from django.db import transaction
from django.utils import timezone

from .models import Inquiry, Message, Notification


def send_inquiry_email(inquiry_id: int, kind: str, message_id: int = 0) -> bool:
    """Send one support email (acknowledgement, reply, resolved) once. Returns True if sent."""
    from .emails import send_inquiry_email as send

    inquiry = Inquiry.objects.filter(pk=inquiry_id).first()
    if inquiry is None:
        return False
    message = Message.objects.filter(pk=message_id, inquiry=inquiry).first() if message_id else None
    key = f"{kind}:{inquiry_id}:{message_id}"
    with transaction.atomic():
        note, _ = Notification.objects.get_or_create(key=key, defaults={"inquiry": inquiry})
        note = Notification.objects.select_for_update().get(pk=note.pk)
        if note.sent_at is not None:
            return False
        send(inquiry, kind, message)
        note.sent_at = timezone.now()
        note.save(update_fields=["sent_at"])
    return True
