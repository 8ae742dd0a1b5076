"""The privacy centre lives under /account/privacy/ (the customer's own records)."""

from django.urls import path

from . import views

app_name = "privacy_centre"

urlpatterns = [path("", views.privacy_centre, name="centre")]
