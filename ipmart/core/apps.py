from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "ipmart.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        # Each app's admin_dashboard.py registers what its staff need to do now.
        from . import dashboard

        dashboard.autodiscover()
