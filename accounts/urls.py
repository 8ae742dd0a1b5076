from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("profile/", views.profile, name="profile"),
    path("addresses/", views.address_list, name="addresses"),
    path("addresses/new/", views.address_create, name="address_create"),
    path("addresses/<int:address_id>/edit/", views.address_edit, name="address_edit"),
    path("addresses/<int:address_id>/delete/", views.address_delete, name="address_delete"),
    path(
        "addresses/<int:address_id>/default-billing/",
        views.address_make_default,
        {"kind": "billing"},
        name="address_default_billing",
    ),
    path(
        "addresses/<int:address_id>/default-shipping/",
        views.address_make_default,
        {"kind": "shipping"},
        name="address_default_shipping",
    ),
]
