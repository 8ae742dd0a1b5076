"""The two endpoints the gateway's side reaches: the customer's return and the webhooks."""

import logging

from django.contrib import messages
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from . import gateway
from .models import AttemptStatus
from .services.payments import handle_return, handle_webhook

logger = logging.getLogger("orders.security")

RETURN_MESSAGES = {
    AttemptStatus.PAID: (messages.SUCCESS, _("Thank you, your payment was received.")),
    AttemptStatus.PENDING: (
        messages.INFO,
        _("We are confirming your payment with the bank. This page updates when it is done."),
    ),
    AttemptStatus.CREATED: (
        messages.INFO,
        _("We are confirming your payment with the bank. This page updates when it is done."),
    ),
    AttemptStatus.FAILED: (
        messages.ERROR,
        _("Your payment was declined. Your order is kept: you can try again."),
    ),
    AttemptStatus.CANCELLED: (
        messages.WARNING,
        _("You cancelled the payment. Your order is kept: you can pay or cancel it."),
    ),
    AttemptStatus.NEEDS_REVIEW: (
        messages.WARNING,
        _("Your payment needs a check by our team. We will email you."),
    ),
}


@never_cache
@require_GET
def payment_return(request):
    attempt = handle_return(
        hosted_checkout_id=request.GET.get("hostedCheckoutId", ""),
        returnmac=request.GET.get("RETURNMAC", ""),
    )
    if attempt is None:
        logger.warning("payment return refused: unknown checkout or RETURNMAC mismatch")
        return render(request, "orders/payment_return_invalid.html", status=400)
    level, text = RETURN_MESSAGES.get(attempt.status, (messages.INFO, _("Your order was updated.")))
    messages.add_message(request, level, text)
    return redirect("orders:detail", number=attempt.order.number)


@csrf_exempt  # authenticated by the gateway's signature over the raw body instead
@require_http_methods(["GET", "POST"])
def payment_webhook(request):
    if request.method == "GET":
        # Connect's endpoint verification: echo the challenge header.
        challenge = request.headers.get("X-GCS-Webhooks-Endpoint-Verification")
        if not challenge:
            return HttpResponseBadRequest("expected a verification challenge")
        return HttpResponse(challenge, content_type="text/plain")
    headers = [
        (name, value) for name, value in request.headers.items() if name.lower().startswith("x-gcs")
    ]
    try:
        event = gateway.parse_webhook(request.body, headers)
    except gateway.WebhookRejected as error:
        logger.warning("webhook rejected: %s", error)
        return HttpResponseBadRequest("webhook rejected")
    outcome = handle_webhook(event, key_id=request.headers.get("X-GCS-KeyId", ""))
    return HttpResponse(outcome, content_type="text/plain")
