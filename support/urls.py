from django.urls import path

from . import views
from .inbound import SupportInboundWebhookView

app_name = "support"

urlpatterns = [
    path("", views.faq, name="faq"),
    path("ask/", views.ask, name="ask"),
    path("ask/sent/", views.sent, name="sent"),
    path("inquiries/<str:reference>/", views.inquiry_detail, name="inquiry"),
    path(
        "inquiries/<str:reference>/files/<int:attachment_id>/",
        views.attachment_download,
        name="attachment",
    ),
    path("t/<str:token>/", views.guest_thread, name="guest"),
    path(
        "t/<str:token>/files/<int:attachment_id>/",
        views.guest_attachment_download,
        name="guest_attachment",
    ),
    path("rate/<str:token>/", views.rate, name="rate"),
    # Mailgun's inbound route forwards replies here (anymail verifies the signature).
    path(
        "email/mailgun/inbound/",
        SupportInboundWebhookView.as_view(),
        name="mailgun_inbound",
    ),
]
