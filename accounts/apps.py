from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Customer accounts"

    def ready(self) -> None:
        from allauth.account.decorators import secure_admin_login
        from django.contrib import admin

        # The admin login goes through allauth's login so its rate limits and MFA stage apply
        # (the plain admin login ignores them: 30 wrong passwords then the right one got in).
        admin.site.login = secure_admin_login(admin.site.login)
