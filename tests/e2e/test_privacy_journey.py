"""A customer downloads their data and closes their account, in a real Chromium against the
live store (tasks run through the outbox, eagerly), on a phone-sized screen."""

import io
import os
import re
import zipfile

import pytest

from accounts.models import User
from privacy.models import AccountClosure
from tests.factories import AddressFactory, CustomerFactory
from tests.factories.accounts import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_customer_downloads_their_data_then_closes_their_account(live_server, page, tmp_path):
    # given a customer with an address, signed in on a 360 px wide phone
    customer = CustomerFactory(email="melur@example.com", full_name="Melur Aziz")
    AddressFactory(user=customer, line1="5 Jalan Melur")
    page.set_viewport_size({"width": 360, "height": 780})
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Email").fill(customer.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/account/$"))

    # when they open the privacy centre
    page.goto(live_server.url + "/account/privacy/")
    assert page.get_by_role("heading", name="What we hold about you").is_visible()
    assert _fits(page)
    shots = os.environ.get("SCREENSHOT_DIR") or str(tmp_path)  # to look at the page by hand
    page.screenshot(path=f"{shots}/privacy-centre-360.png", full_page=True)

    # and ask for their data: the store asks for the password again first
    page.get_by_role("button", name="Prepare my data").click()
    page.wait_for_url(re.compile(r"/accounts/reauthenticate/"))
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()

    # then the archive is ready and downloads as a zip holding their data
    page.wait_for_url(re.compile(r"/account/privacy/"))
    page.goto(live_server.url + "/account/privacy/")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download", exact=True).click()
    data = open(download_info.value.path(), "rb").read()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert "README.txt" in archive.namelist()
        accounts = archive.read("accounts.json").decode()
    assert "melur@example.com" in accounts and "5 Jalan Melur" in accounts

    # when they close their account (recently re-authenticated: no second password prompt)
    page.get_by_role("link", name="Close my account…").click()
    assert _fits(page)
    page.screenshot(path=f"{shots}/close-account-360.png", full_page=True)
    page.get_by_label("I understand that closing my account cannot be undone.").check()
    page.get_by_role("button", name="Close my account for good").click()

    # then they are logged out, told so, and the account is anonymised
    page.wait_for_url(re.compile(r"/account/privacy/closed/"))
    assert page.get_by_role("heading", name="Your account is closed").is_visible()
    user = User.objects.get(pk=customer.pk)
    assert (user.is_active, user.email.endswith("@closed.invalid")) == (False, True)
    assert AccountClosure.objects.filter(user=user).exists()

    # and they cannot sign in again
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Email").fill("melur@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    assert "/accounts/login/" in page.url
    assert page.console_errors == []
