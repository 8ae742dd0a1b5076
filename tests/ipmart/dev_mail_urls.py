"""The store's URLs plus the development mail viewer, which ipmart/urls.py adds only when DEBUG
is on (tests run with DEBUG off)."""

from django.urls import path

from ipmart.core import devmail
from ipmart.urls import urlpatterns as store_urlpatterns

urlpatterns = [
    *store_urlpatterns,
    path("dev/mail/", devmail.mail_list, name="dev_mail"),
    path("dev/mail/<str:name>/", devmail.mail_detail, name="dev_mail_detail"),
]
