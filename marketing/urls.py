from django.urls import include, path

from . import views

app_name = "marketing"

urlpatterns = [
    path("u/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("p/<str:token>/", views.preferences, name="preferences"),
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    path("anymail/", include("anymail.urls")),
]
