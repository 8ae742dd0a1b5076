from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupportConfig(AppConfig):
    name = "support"
    verbose_name = _("Customer service")

    def ready(self):
        # anymail delivers inbound email as a signal: the one way in for its webhook.
        from anymail.signals import inbound

        from .inbound import handle_inbound

        inbound.connect(handle_inbound, dispatch_uid="support.inbound")
