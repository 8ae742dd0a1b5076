"""Bounces and complaints from the email provider, through django-anymail's tracking webhooks
(/m/anymail/mailgun/tracking/, verified by anymail with MAILGUN_WEBHOOK_SIGNING_KEY). Wired in
MarketingConfig.ready()."""

from . import services


def on_tracking_event(sender, event, esp_name, **kwargs) -> None:
    """A hard bounce ("bounced") or a complaint ("complained") suppresses the address; anything
    else is ignored. Each provider event is applied once (its id is stored)."""
    if event.event_type not in {"bounced", "complained"}:
        return
    event_id = event.event_id or f"{esp_name}:{event.message_id}:{event.event_type}"
    services.apply_provider_event(
        event_id=f"{esp_name}:{event_id}",
        event_type=event.event_type,
        email=event.recipient or "",
    )
