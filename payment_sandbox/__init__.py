"""The payment sandbox: a local stand-in for the Worldline Connect v1 API (the gateway that was
Global Collect), run as its own process so the store's SDK calls cross a real network boundary.

    python manage.py payment_sandbox [--host 127.0.0.1] [--port 8001]
        [--webhook-url URL] [--webhook-retry "10,60,300,1800,7200"] [--pending-delay 60]
        [--session-timeout 180] [--attempts 3] [--merchant-name IPmart] [--public-address HOST:PORT]

It listens on loopback only, reads GATEWAY_MERCHANT_ID, GATEWAY_API_KEY_ID,
GATEWAY_SECRET_API_KEY, GATEWAY_WEBHOOK_KEY_ID, GATEWAY_WEBHOOK_SECRET and
GATEWAY_SANDBOX_WEBHOOK_URL from the settings (the same the store uses), keeps everything in
memory and forgets it when it stops.

Modules: signing (v1HMAC and webhook signatures), errors (ErrorResponse bodies), validation
(request bodies), idempotency (X-GCS-Idempotence-Key), clock (movable time), state (checkouts,
payments, refunds and their state machine), resources (their Connect JSON), webhooks (events and
the delivery thread), pages (the hosted payment page, page_templates/ and page_static/), server (HTTP
routing and wiring).

Connect v1 API (v1HMAC-signed, `Date` within 5 minutes; otherwise 403 ErrorResponse):
    POST /v1/{merchantId}/hostedcheckouts               201 CreateHostedCheckoutResponse
    GET  /v1/{merchantId}/hostedcheckouts/{id}          200 GetHostedCheckoutResponse
    GET  /v1/{merchantId}/payments/{paymentId}          200 PaymentResponse
    POST /v1/{merchantId}/payments/{paymentId}/refund   201 RefundResponse
Bad bodies answer 400 naming the property; unknown ids 404. A POST with X-GCS-Idempotence-Key
replays its first answer (plus X-GCS-Idempotence-Request-Timestamp); a duplicate while the first
is in progress answers 409 with the single error code "1409" (the SDK's IdempotenceException).

Hosted page: GET /hostedcheckout/{id}?t={token} (wrong token: 404), the form posts back to the
same path. Test cards (spaces allowed; any future expiry, any 3-digit CVC):
    4111 1111 1111 1111   approved: payment CAPTURED (COMPLETED)
    4000 0000 0000 0002   declined: payment REJECTED (UNSUCCESSFUL); the customer may try again
                          until the allowed attempts (default 3) are used, then goes back
    4000 0000 0000 9995   approved but pending: payment CAPTURE_REQUESTED
                          (PENDING_CONNECT_OR_3RD_PARTY, not paid yet); CAPTURED after
                          --pending-delay seconds of sandbox time (0: only through the control plane)
    4000 0000 0000 0119   gateway error: HTTP 500 page, no payment, checkout stays IN_PROGRESS
Any other number is a form error. After a final outcome or Cancel the browser gets a 302 to
returnUrl with hostedCheckoutId and RETURNMAC appended. Cancel → CANCELLED_BY_CONSUMER; a checkout
still open after its sessionTimeout (minutes, default 180) → CANCELLED_BY_CONSUMER.

Webhooks: every payment transition POSTs `{apiVersion: "v1", id, created, merchantId,
type: "payment.<status lower>", payment}` to the webhook URL, signed with X-GCS-Signature and
X-GCS-KeyId, retried after each delay of --webhook-retry (seconds) on a non-2xx or connection
error, with the same event id, until a 2xx or the schedule runs out.

Control plane (sandbox only, JSON in and out, no authentication; loopback only):
    POST /_control/checkouts/{id}   flags for that checkout's future payments and events;
        {"webhook": "drop" | "duplicate:N" | "reorder" | "tamper_body" | "tamper_sig"
                    | "unknown_key" | "wrong_api_version",
         "amount": "mismatch:+1",   (payment made for the checkout's amount plus/minus N)
         "currency": "mismatch:USD",
         "return": "skip",          (no redirect back: a "you can close this window" page)
         "attempts": N}             (allowed payment attempts for this checkout, 1 to 10)
        A null value clears a flag. "reorder" holds the checkout's events back until its
        payment settles (CAPTURED, REJECTED, REFUNDED, CHARGEBACKED, REVERSED), then sends them newest first.
        "tamper_body" changes the amount after signing; "tamper_sig" sends a wrong signature;
        "unknown_key" signs with a key id the store does not know.
    GET  /_control/checkouts/{id}            status, flags, payments, returnUrl (with RETURNMAC)
    POST /_control/fail-next-create          {"count": N}: the next N creates answer 503
                                             (an idempotent retry then succeeds exactly once)
    POST /_control/fail-next-refund          {"count": N}: the next N refunds answer 500 and refund
                                             nothing (the idempotence key is forgotten, so a
                                             retry with it refunds exactly once)
    POST /_control/hold-creates              {"hold": true|false}: creates wait (at most 30 s)
    GET  /_control/hold-creates              {"held": bool, "waiting": N}
    POST /_control/payments/{id}/complete    a pending payment becomes CAPTURED
    POST /_control/payments/{id}/reverse     {"status": "CHARGEBACKED" (default) | "REVERSED"}:
                                             the customer's bank takes a CAPTURED payment back
                                             (statusCategory REVERSED); anything else: 409
    POST /_control/clock/advance             {"minutes": M}: expire checkouts, complete due
                                             pending payments, fire due webhook retries
    POST /_control/events/{eventId}/redeliver   send that event again, validly signed
    GET  /_control/events[?hostedCheckoutId=ID] every event with its deliveries and attempts
"""
