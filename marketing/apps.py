from django.apps import AppConfig


class MarketingConfig(AppConfig):
    name = "marketing"
    verbose_name = "Marketing"

    def ready(self) -> None:
        from anymail.signals import tracking

        from .webhooks import on_tracking_event

        tracking.connect(on_tracking_event, dispatch_uid="marketing.tracking")
