"""The privacy centre lives under /account/privacy/ (the customer's own records and rights)."""

from django.urls import path

from . import centre_views as views

app_name = "privacy_centre"

urlpatterns = [
    path("", views.privacy_centre, name="centre"),
    path("export/", views.export_request, name="export"),
    path("export/<uuid:public_id>/", views.export_download, name="export_download"),
    path("requests/", views.data_request, name="data_request"),
    path("marketing/stop/", views.stop_direct_marketing, name="stop_marketing"),
    path("close/", views.close_account_view, name="close"),
    path("closed/", views.account_closed, name="closed"),
]
