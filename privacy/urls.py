from django.urls import path

from . import views

app_name = "privacy"

urlpatterns = [
    path("", views.policy, name="policy"),
    path("accept/", views.accept, name="accept"),
    path("versions/", views.policy_history, name="history"),
    path("versions/<str:version>/", views.policy_version, name="version"),
]
