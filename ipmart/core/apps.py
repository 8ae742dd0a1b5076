from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "ipmart.core"
    label = "core"
    verbose_name = "Core"
