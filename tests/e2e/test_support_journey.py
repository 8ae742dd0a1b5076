"""Customer service in a real Chromium against the live store: a guest asks (attaching a PDF), an
agent answers in admin with a canned reply and opens the PDF's rendered preview, the guest reads
it from the emailed link, has a file with a full card number refused (the text stays), answers
with an image and downloads their PDF, the agent resolves it; a customer finds an answer through
the FAQ search. Also at a phone's width."""

import re

import pytest
from django.core import mail
from django.test import Client

from support.models import Inquiry, MessageKind, Status
from tests.factories import (
    CustomerFactory,
    FaqEntryFactory,
    MacroFactory,
    StaffFactory,
    enrolled_in_mfa,
)
from tests.factories import documents as files

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _signed_in(browser, live_server, user, **context_options):
    """A browser context holding `user`'s session (the admin asks only that staff have TOTP)."""
    client = Client()
    client.force_login(user)
    context = browser.new_context(locale="en-GB", **context_options)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.console_errors = errors
    return context, page


def _link(body: str, path: str) -> str:
    return re.search(rf"https?://\S+?({re.escape(path)}\S+)", body).group(1)


def test_guest_asks_agent_answers_with_a_canned_reply_guest_answers_agent_resolves(
    live_server, page, browser
):
    # given an agent and a canned reply that asks for the order number
    agent = enrolled_in_mfa(StaffFactory(role="support agent", full_name="Sam Support"))
    MacroFactory(
        name="Ask for the order number (test)",
        body="Could you tell us the order number?",
        sets_status=Status.WAITING,
    )

    # when a guest sends an inquiry
    page.goto(live_server.url + "/support/")
    page.get_by_role("link", name="Send us a message").first.click()
    page.get_by_label("Your name").fill("Siti Guest")
    page.get_by_label("Your email address").fill("siti@example.com")
    page.get_by_label("What is it about?").select_option("licence_key")
    page.get_by_label("Subject").fill("Key not working")
    page.get_by_label("Your message").fill("My key says <invalid>.")
    invoice = files.text_pdf(["Invoice IPM-ABCD-EFGH", "Card ending **** **** **** 1111"])
    page.get_by_label("Files (optional)").set_input_files(
        [{"name": "invoice.pdf", "mimeType": "application/pdf", "buffer": invoice}]
    )
    page.get_by_role("button", name="Send").click()

    # then they see a reference and get it by email with a personal link
    page.wait_for_url(re.compile(r"/support/ask/sent/"))
    inquiry = Inquiry.objects.get()
    assert page.get_by_text(inquiry.reference).is_visible()
    [acknowledgement] = mail.outbox
    guest_link = _link(acknowledgement.body, "/support/t/")

    # when the agent opens the queue and the inquiry, and picks the canned reply
    context, agent_page = _signed_in(browser, live_server, agent)
    agent_page.goto(live_server.url + "/admin/support/inquiry/")
    agent_page.get_by_role("link", name=inquiry.reference).click()
    agent_page.wait_for_url(re.compile(rf"/admin/support/inquiry/{inquiry.pk}/change/"))
    assert agent_page.get_by_text("My key says <invalid>.").is_visible()
    # the PDF is offered only as its rendered preview, a PNG served in a sandbox
    preview = agent_page.get_by_role("link", name="preview 1")
    shown = context.request.get(live_server.url + preview.get_attribute("href"))
    assert shown.status == 200 and shown.headers["content-type"] == "image/png"
    assert shown.body().startswith(b"\x89PNG") and b"%PDF" not in shown.body()
    assert "sandbox" in shown.headers["content-security-policy"]
    agent_page.get_by_label("Canned reply").select_option(label="Ask for the order number (test)")

    # then the reply box is filled by the page's script and the status chosen
    assert agent_page.get_by_label("Reply to the customer").input_value() == (
        "Could you tell us the order number?"
    )
    assert agent_page.get_by_label("Status").input_value() == Status.WAITING
    with agent_page.expect_navigation():
        agent_page.get_by_role("button", name="Save", exact=True).click()
    assert agent_page.get_by_text("Saved.").is_visible()
    inquiry.refresh_from_db()
    assert inquiry.status == Status.WAITING

    # when the guest opens the link in the reply email and answers
    reply_email = mail.outbox[-1]
    assert "Could you tell us the order number?" in reply_email.body
    page.goto(live_server.url + _link(reply_email.body, "/support/t/"))
    assert page.get_by_text("Could you tell us the order number?").is_visible()
    # a file showing a full card number is refused; the text stays on the page
    page.get_by_label("Your reply").fill("It is IPM-ABCD-EFGH.")
    card = files.text_pdf(["Card 4111 1111 1111 1111"])
    page.get_by_label("Files (optional)").set_input_files(
        [{"name": "card.pdf", "mimeType": "application/pdf", "buffer": card}]
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Send reply").click()
    assert page.get_by_text("The document shows a full card number.").is_visible()
    assert page.get_by_label("Your reply").input_value() == "It is IPM-ABCD-EFGH."
    # the refused form answers 400, which Chromium logs; that one is expected
    assert page.console_errors == [
        "Failed to load resource: the server responded with a status of 400 (Bad Request)"
    ]
    page.console_errors.clear()
    page.get_by_label("Files (optional)").set_input_files(
        [{"name": "screen.png", "mimeType": "image/png", "buffer": files.png(60, 40)}]
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Send reply").click()
    assert page.get_by_text("Your reply was added.").is_visible()
    # and the guest downloads their own PDF from the thread
    with page.expect_download() as download:
        page.get_by_role("link", name="invoice.pdf").click()
    assert open(download.value.path(), "rb").read() == invoice
    inquiry.refresh_from_db()
    assert inquiry.status == Status.OPEN

    # when the agent resolves it
    agent_page.reload()
    assert agent_page.get_by_text("It is IPM-ABCD-EFGH.").is_visible()
    agent_page.get_by_label("Status").select_option(Status.RESOLVED)
    with agent_page.expect_navigation():
        agent_page.get_by_role("button", name="Save", exact=True).click()
    assert agent_page.get_by_text("Saved.").is_visible()

    # then it is resolved and the guest can rate it with one click from the email
    inquiry.refresh_from_db()
    assert inquiry.status == Status.RESOLVED
    page.goto(live_server.url + _link(mail.outbox[-1].body, "/support/rate/"))
    page.get_by_label("Good: it solved my problem").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Send my rating").click()
    assert page.get_by_text("your rating is recorded").is_visible()
    inquiry.refresh_from_db()
    assert inquiry.rating == "good"
    assert [m.kind for m in inquiry.messages.all()] == [
        MessageKind.CUSTOMER,
        MessageKind.AGENT,
        MessageKind.CUSTOMER,
    ]
    assert [
        (a.original_name, a.content_type)
        for m in inquiry.messages.all()
        for a in m.attachments.all()
    ] == [("invoice.pdf", "application/pdf"), ("screen.png", "image/png")]
    assert guest_link  # the first link was given too
    assert page.console_errors == [] and agent_page.console_errors == []
    context.close()


def test_a_customer_finds_an_answer_through_the_faq_search_on_a_phone(live_server, browser):
    # given
    FaqEntryFactory(
        question="Where do I find my licence key?",
        answer="Your keys are in the payment email and on the order page.",
    )
    FaqEntryFactory(question="How do I pay?", answer="By card on the gateway's page.")
    customer = CustomerFactory()
    context, page = _signed_in(
        browser, live_server, customer, viewport={"width": 360, "height": 740}
    )

    # when
    page.goto(live_server.url + "/support/")
    page.get_by_role("searchbox", name="Search the FAQ").fill("licence key")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"\?q=licence"))

    # then the answer shows and the page does not scroll sideways
    assert page.get_by_text("Your keys are in the payment email").first.is_visible()
    assert not page.get_by_text("By card on the gateway").first.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert page.get_by_role("link", name="No: ask us").first.is_visible()
    assert page.console_errors == []
    context.close()
