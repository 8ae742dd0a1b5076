from anymail.webhooks.mailgun import MailgunTrackingWebhookView
from django.urls import path

from . import views

app_name = "marketing"

urlpatterns = [
    path("u/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("p/<str:token>/", views.preferences, name="preferences"),
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    # Only the provider we use: anymail.urls would expose every provider's webhook.
    path(
        "anymail/mailgun/tracking/",
        MailgunTrackingWebhookView.as_view(),
        name="mailgun_tracking_webhook",
    ),
]
