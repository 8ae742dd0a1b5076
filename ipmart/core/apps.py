from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "ipmart.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        # Before any admin module registers (ipmart.core is first in INSTALLED_APPS; admin
        # autodiscovery runs in django.contrib.admin's ready()), every ModelAdmin refuses
        # lookups, search and ordering on models' SECRET_FIELDS.
        from .admin_secrets import install

        install()

        from .observability import register_collector

        register_collector()

        # Each app's admin_dashboard.py registers what its staff need to do now.
        from . import dashboard

        dashboard.autodiscover()
