"""The sandbox's hosted payment page, driven as a browser would (requests, redirects not
followed): what it shows, each test card's outcome as the SDK then reads it, cancel, retries,
expiry and the per-checkout control flags."""

import requests
from worldline.connect.sdk.v1.merchant.payments.get_payment_params import GetPaymentParams

from .conftest import (
    APPROVED,
    DECLINED,
    GATEWAY_ERROR,
    PENDING,
    HostedPage,
    return_parameters,
)


def status_of(gateway, created) -> dict:
    return gateway.hostedcheckouts().get(created.hosted_checkout_id).to_dictionary()


def assert_returned(response, created):
    """A 302 to the store's returnUrl with its own parameter kept and the two appended."""
    assert return_parameters(response) == {
        "order": ["42"],
        "hostedCheckoutId": [created.hosted_checkout_id],
        "RETURNMAC": [created.returnmac],
    }


# --- what the page shows ------------------------------------------------------------------


def test_the_page_shows_the_order_and_a_card_form(sandbox, create_checkout, hosted_page):
    created = create_checkout(amount=12345, currency="MYR")
    page = hosted_page(created)

    response = page.open()

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    html = response.text
    assert "IPmart" in html
    assert created.merchant_reference in html
    assert "MYR 123.45" in html
    for field in ('name="holder"', 'name="number"', 'name="expiry"', 'name="cvc"'):
        assert field in html
    assert 'value="pay"' in html and 'value="cancel"' in html
    assert "<script" not in html
    assert set(page.form.hidden) == {"t", "csrf_token"}
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "form-action 'self' http://127.0.0.1:8000" in policy
    assert response.headers["Cache-Control"] == "no-store"
    stylesheet = requests.get(sandbox.url + "/static/hosted-checkout.css", timeout=10)
    assert stylesheet.status_code == 200
    assert stylesheet.headers["Content-Type"] == "text/css; charset=utf-8"


def test_amounts_use_the_currencys_minor_units(create_checkout, hosted_page):
    yen = hosted_page(create_checkout(amount=5000, currency="JPY")).open().text
    dinar = hosted_page(create_checkout(amount=1234, currency="KWD")).open().text

    assert "JPY 5,000" in yen
    assert "KWD 1.234" in dinar


def test_a_wrong_or_missing_page_token_is_404(sandbox, create_checkout):
    created = create_checkout()
    good = "http://" + created.partial_redirect_url
    without_token = good.split("?")[0]

    wrong = requests.get(without_token + "?t=guessed", timeout=10)
    missing = requests.get(without_token, timeout=10)
    unknown = requests.get(
        f"{sandbox.url}/hostedcheckout/1001-{'0' * 32}?t=" + good.split("?t=")[1], timeout=10
    )

    assert (wrong.status_code, missing.status_code, unknown.status_code) == (404, 404, 404)
    assert "<form" not in wrong.text


def test_a_form_post_with_a_wrong_page_token_is_404_and_pays_nothing(
    gateway, create_checkout, hosted_page
):
    created = create_checkout()
    page = hosted_page(created)
    page.open()
    page.form.hidden["t"] = "guessed"

    response = page.pay(APPROVED)

    assert response.status_code == 404
    assert status_of(gateway, created) == {"status": "IN_PROGRESS"}


def test_a_form_post_without_the_form_token_is_refused(gateway, create_checkout, hosted_page):
    created = create_checkout()
    page = hosted_page(created)
    page.open()
    del page.form.hidden["csrf_token"]

    response = page.pay(APPROVED)

    assert response.status_code == 403
    assert status_of(gateway, created) == {"status": "IN_PROGRESS"}


# --- test cards ---------------------------------------------------------------------------


def test_approved_card_captures_and_returns_to_the_store(gateway, create_checkout, hosted_page):
    # given a checkout on the hosted page
    created = create_checkout(amount=12345, currency="MYR")

    # when the customer pays with the approved card (spaces as typed)
    response = hosted_page(created).pay(APPROVED)

    # then the browser goes back to the store with the checkout id and RETURNMAC
    assert_returned(response, created)
    # and the gateway reports a captured payment for the order's amount
    status = gateway.hostedcheckouts().get(created.hosted_checkout_id)
    assert status.status == "PAYMENT_CREATED"
    assert status.created_payment_output.payment_status_category == "SUCCESSFUL"
    payment = status.created_payment_output.payment
    assert payment.status == "CAPTURED"
    assert payment.status_output.status_category == "COMPLETED"
    assert payment.status_output.is_authorized is True
    assert payment.status_output.is_refundable is True
    assert payment.payment_output.amount_of_money.to_dictionary() == {
        "amount": 12345,
        "currencyCode": "MYR",
    }
    assert payment.payment_output.references.merchant_reference == created.merchant_reference
    card = payment.payment_output.card_payment_method_specific_output.card
    assert (card.card_number, card.expiry_date) == ("************1111", "1230")


def test_declined_card_rejects_and_lets_the_customer_try_again(
    gateway, create_checkout, hosted_page
):
    created = create_checkout()
    page = hosted_page(created)

    response = page.pay(DECLINED)

    assert response.status_code == 200
    assert "Your card was declined" in response.text
    assert "2 attempts left" in response.text
    status = gateway.hostedcheckouts().get(created.hosted_checkout_id)
    assert status.status == "PAYMENT_CREATED"
    assert status.created_payment_output.payment_status_category == "REJECTED"
    payment = status.created_payment_output.payment
    assert payment.status == "REJECTED"
    assert payment.status_output.status_category == "UNSUCCESSFUL"
    assert payment.status_output.is_authorized is False
    assert [error.id for error in payment.status_output.errors] == ["NOT_AUTHORISED"]


def test_declined_then_approved_in_the_same_checkout(gateway, create_checkout, hosted_page):
    # given a checkout whose first card was declined
    created = create_checkout()
    page = hosted_page(created)
    page.pay(DECLINED)
    rejected_id = status_of(gateway, created)["createdPaymentOutput"]["payment"]["id"]

    # when the customer pays again with the approved card
    response = page.pay(APPROVED)

    # then the browser returns and the checkout shows a new, captured payment
    assert_returned(response, created)
    payment = status_of(gateway, created)["createdPaymentOutput"]["payment"]
    assert payment["status"] == "CAPTURED"
    assert payment["id"] != rejected_id
    # and the declined one stays rejected
    assert gateway.payments().get(rejected_id, GetPaymentParams()).status == "REJECTED"


def test_after_the_allowed_attempts_the_customer_goes_back(gateway, create_checkout, hosted_page):
    created = create_checkout()
    page = hosted_page(created)

    first, second, third = page.pay(DECLINED), page.pay(DECLINED), page.pay(DECLINED)

    assert (first.status_code, second.status_code) == (200, 200)
    assert "1 attempt left" in second.text
    assert_returned(third, created)
    assert status_of(gateway, created)["createdPaymentOutput"]["payment"]["status"] == "REJECTED"
    closed = HostedPage(page.url).open()
    assert closed.status_code == 410


def test_pending_card_is_not_paid_until_completed(sandbox, gateway, create_checkout, hosted_page):
    # given a payment with the pending card
    created = create_checkout()
    response = hosted_page(created).pay(PENDING)
    assert_returned(response, created)
    pending = gateway.hostedcheckouts().get(created.hosted_checkout_id).created_payment_output

    # when the control plane completes it
    completed = sandbox.control("POST", f"payments/{pending.payment.id}/complete")

    # then it was pending (authorised, not captured) and is now captured
    assert pending.payment.status == "CAPTURE_REQUESTED"
    assert pending.payment.status_output.status_category == "PENDING_CONNECT_OR_3RD_PARTY"
    assert pending.payment.status_output.is_authorized is True
    assert pending.payment.status_output.is_refundable is False
    assert pending.payment_status_category == "STATUS_UNKNOWN"
    assert pending.payment.payment_output.amount_paid == 0
    assert completed.status_code == 200
    assert completed.json()["status"] == "CAPTURED"
    payment = status_of(gateway, created)["createdPaymentOutput"]["payment"]
    assert payment["status"] == "CAPTURED"
    assert payment["statusOutput"]["statusCategory"] == "COMPLETED"
    # and completing it twice is refused
    assert sandbox.control("POST", f"payments/{pending.payment.id}/complete").status_code == 409


def test_pending_card_completes_by_itself_after_the_delay(
    sandbox, gateway, create_checkout, hosted_page
):
    created = create_checkout()
    hosted_page(created).pay(PENDING)
    before = status_of(gateway, created)["createdPaymentOutput"]["payment"]["status"]

    assert sandbox.control("POST", "clock/advance", {"minutes": 6}).status_code == 200

    assert before == "CAPTURE_REQUESTED"
    assert status_of(gateway, created)["createdPaymentOutput"]["payment"]["status"] == "CAPTURED"


def test_gateway_error_card_shows_500_and_the_checkout_stays_in_progress(
    gateway, create_checkout, hosted_page
):
    created = create_checkout()
    page = hosted_page(created)

    response = page.pay(GATEWAY_ERROR)

    assert response.status_code == 500
    assert "Location" not in response.headers
    assert "not charged" in response.text
    assert status_of(gateway, created) == {"status": "IN_PROGRESS"}
    # and the customer can still pay on the page
    assert_returned(page.pay(APPROVED), created)


def test_any_other_card_is_a_form_error_and_no_payment(gateway, create_checkout, hosted_page):
    created = create_checkout()

    response = hosted_page(created).pay("5555 5555 5555 4444")

    assert response.status_code == 200
    assert "accepts only its test cards" in response.text
    assert status_of(gateway, created) == {"status": "IN_PROGRESS"}


def test_missing_or_bad_fields_are_form_errors(gateway, create_checkout, hosted_page):
    created = create_checkout()

    response = hosted_page(created).pay(APPROVED, holder="", expiry="13/30", cvc="12")

    assert response.status_code == 200
    for message in ("Enter the name on the card.", "MM/YY", "3 or 4 digit security code"):
        assert message in response.text
    assert status_of(gateway, created) == {"status": "IN_PROGRESS"}


def test_an_expired_card_is_a_form_error(gateway, create_checkout, hosted_page):
    created = create_checkout()

    response = hosted_page(created).pay(APPROVED, expiry="01/20")

    assert "This card has expired." in response.text
    assert status_of(gateway, created) == {"status": "IN_PROGRESS"}


# --- cancel and expiry --------------------------------------------------------------------


def test_cancel_returns_and_marks_the_checkout_cancelled(gateway, create_checkout, hosted_page):
    created = create_checkout()
    page = hosted_page(created)

    response = page.cancel()

    assert_returned(response, created)
    assert status_of(gateway, created) == {"status": "CANCELLED_BY_CONSUMER"}
    # and the page takes nothing more
    assert page.pay(APPROVED).status_code == 410
    assert status_of(gateway, created) == {"status": "CANCELLED_BY_CONSUMER"}


def test_a_checkout_expires_after_its_session_timeout(
    sandbox, gateway, create_checkout, hosted_page
):
    created = create_checkout()
    page = hosted_page(created)
    page.open()

    sandbox.control("POST", "clock/advance", {"minutes": 181})

    assert status_of(gateway, created) == {"status": "CANCELLED_BY_CONSUMER"}
    assert page.pay(APPROVED).status_code == 410


def test_a_paid_checkout_does_not_expire(sandbox, gateway, create_checkout, hosted_page):
    created = create_checkout()
    hosted_page(created).pay(APPROVED)

    sandbox.control("POST", "clock/advance", {"minutes": 181})

    assert status_of(gateway, created)["status"] == "PAYMENT_CREATED"


# --- control flags ------------------------------------------------------------------------


def test_return_skip_keeps_the_customer_on_the_gateway(
    sandbox, gateway, create_checkout, hosted_page
):
    created = create_checkout()
    sandbox.control("POST", f"checkouts/{created.hosted_checkout_id}", {"return": "skip"})

    response = hosted_page(created).pay(APPROVED)

    assert response.status_code == 200
    assert "Location" not in response.headers
    assert created.returnmac not in response.text
    assert status_of(gateway, created)["createdPaymentOutput"]["payment"]["status"] == "CAPTURED"


def test_amount_and_currency_mismatch_flags(sandbox, gateway, create_checkout, hosted_page):
    more = create_checkout(amount=12345)
    other_currency = create_checkout(amount=12345, currency="MYR")
    sandbox.control("POST", f"checkouts/{more.hosted_checkout_id}", {"amount": "mismatch:+1"})
    sandbox.control(
        "POST", f"checkouts/{other_currency.hosted_checkout_id}", {"currency": "mismatch:USD"}
    )

    hosted_page(more).pay(APPROVED)
    hosted_page(other_currency).pay(APPROVED)

    paid_more = status_of(gateway, more)["createdPaymentOutput"]["payment"]
    paid_other = status_of(gateway, other_currency)["createdPaymentOutput"]["payment"]
    assert paid_more["paymentOutput"]["amountOfMoney"] == {"amount": 12346, "currencyCode": "MYR"}
    assert paid_other["paymentOutput"]["amountOfMoney"] == {"amount": 12345, "currencyCode": "USD"}


def test_attempts_flag_sends_the_customer_back_after_one_decline(
    sandbox, gateway, create_checkout, hosted_page
):
    created = create_checkout()
    sandbox.control("POST", f"checkouts/{created.hosted_checkout_id}", {"attempts": 1})

    assert_returned(hosted_page(created).pay(DECLINED), created)


def test_control_flags_are_checked(sandbox, create_checkout):
    created = create_checkout()
    path = f"checkouts/{created.hosted_checkout_id}"

    bad_value = sandbox.control("POST", path, {"webhook": "explode"})
    unknown_flag = sandbox.control("POST", path, {"colour": "red"})
    unknown_checkout = sandbox.control("POST", "checkouts/1001-nope", {"return": "skip"})
    good = sandbox.control("POST", path, {"webhook": "duplicate:2", "return": "skip"})
    cleared = sandbox.control("POST", path, {"return": None})

    assert (bad_value.status_code, unknown_flag.status_code) == (400, 400)
    assert unknown_checkout.status_code == 404
    assert good.json()["flags"] == {"webhook": "duplicate:2", "return": "skip"}
    assert cleared.json()["flags"] == {"webhook": "duplicate:2"}
    described = sandbox.control("GET", path).json()
    assert described["flags"] == {"webhook": "duplicate:2"}
    assert described["status"] == "IN_PROGRESS"
    assert described["returnUrl"].endswith(f"&RETURNMAC={created.returnmac}")
