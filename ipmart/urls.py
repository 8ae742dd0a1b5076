from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

from accounts import views as account_views
from ipmart.core import devmail, health, observability, views
from orders import views as shop_views

handler500 = "ipmart.core.request_id.server_error"

admin.site.site_header = "IPmart administration"
admin.site.site_title = "IPmart admin"

handler403 = "ipmart.core.refused.permission_denied"

urlpatterns = [
    path("", shop_views.home, name="home"),
    path("favicon.ico", views.favicon),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", observability.metrics, name="metrics"),
    path("", include("orders.urls")),
    path("privacy/", include("privacy.urls")),
    path("account/privacy/", include("privacy.centre_urls")),
    path("support/", include("support.urls")),
    path("account/marketing/", include("marketing.account_urls")),
    path("m/", include("marketing.urls")),
    path("account/", include("accounts.urls")),
    # allauth's signup, paced so that its time does not tell whether an email is taken
    path("accounts/signup/", account_views.signup, name="account_signup"),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]

if settings.DEBUG:
    urlpatterns += [
        path("dev/mail/", devmail.mail_list, name="dev_mail"),
        path("dev/mail/<str:name>/", devmail.mail_detail, name="dev_mail_detail"),
        # Product images in `make run` (production: the proxy or the storage serves them).
        *static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT),
    ]
