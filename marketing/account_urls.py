from django.urls import path

from . import views

app_name = "marketing_centre"

urlpatterns = [path("", views.account_preferences, name="preferences")]
