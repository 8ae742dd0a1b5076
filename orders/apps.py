from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from . import signals

        user_logged_in.connect(signals.merge_cart_on_login, dispatch_uid="orders.merge_cart")
