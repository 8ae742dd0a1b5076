from django.urls import path

from . import views
from .inbound import SupportInboundWebhookView

app_name = "support"

urlpatterns = [
    path("", views.faq, name="faq"),
    path("ask/", views.ask, name="ask"),
    path("ask/sent/", views.sent, name="sent"),
    path("inquiries/<str:reference>/", views.inquiry_detail, name="inquiry"),
    path("t/<str:token>/", views.guest_thread, name="guest"),
    path("rate/<str:token>/", views.rate, name="rate"),
    # Mailgun's inbound route forwards replies here (anymail verifies the signature).
    path(
        "email/mailgun/inbound/",
        SupportInboundWebhookView.as_view(),
        name="mailgun_inbound",
    ),
]
