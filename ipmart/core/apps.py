from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "ipmart.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from .observability import register_collector

        register_collector()
