"""Every email the store can send, rendered in English and Malay through the one sending helper
(`ipmart.core.mail.render_email`) with a realistic context: one-line subjects without a host
name, text and HTML parts, `<html lang>`, absolute links on SITE_URL that resolve, and no
English left in the Malay version.

Templates are discovered (every `*_subject.txt` under a folder named `email` in the project's
templates), so a new email without a context below fails `test_every_email_has_a_context`."""

import datetime
import re
import uuid
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import allauth
import pytest
from django.conf import settings
from django.urls import resolve, reverse
from django.utils import timezone

from accounts.models import User
from ipmart.core.mail import render_email
from orders.models import (
    DocumentKind,
    LicenceKey,
    Order,
    OrderLine,
    RejectionReason,
    Shipment,
    VerificationDocument,
)
from privacy.models import DataExport
from support.models import Inquiry, Message, Rating

TEMPLATES = Path(settings.BASE_DIR) / "templates"
SITE = "https://shop.ipmart.test"

# allauth's emails this configuration never sends (so we do not override them).
NOT_SENT = {
    "account/email/login_code": "ACCOUNT_LOGIN_BY_CODE_ENABLED is off",
    "account/email/password_reset_code": "ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED is off",
    "mfa/email/webauthn_added": "MFA_SUPPORTED_TYPES has no webauthn",
    "mfa/email/webauthn_removed": "MFA_SUPPORTED_TYPES has no webauthn",
    "socialaccount/email/account_connected": "allauth.socialaccount is not installed",
    "socialaccount/email/account_disconnected": "allauth.socialaccount is not installed",
}

# Words that are English and never Malay: one of them in a Malay email is a string we forgot.
ENGLISH_WORDS = {
    "the", "your", "you", "and", "of", "is", "was", "we", "our", "this", "for", "with",
    "please", "order", "hello", "thank", "if", "not", "here", "has", "have", "been", "are",
    "on", "it", "to", "from", "when", "who", "link", "account", "password", "email",
    "questions", "help", "view", "confirm", "reset", "download", "sign",
}  # fmt: skip
# Subjects that are the same in both languages, and why.
SAME_SUBJECT = {
    "support/email/reply": "'Re: <their subject> (<reference>)' is what mail readers expect"
}
# What may stay as it is in both languages.
ALLOWED = {"IPmart", "FAQ", "PDF", "JPEG", "PNG", "MB", "IP", "SST"}


def _user(language):
    return User(email="aina.rahman@mail.test", full_name="Aina Rahman", preferred_language=language)


def _order(language, *, shipping=False):
    return Order(
        number="IP-7K2M9Q",
        user=_user(language),
        email="aina.rahman@mail.test",
        total_sen=12_960,
        subtotal_sen=12_000,
        tax_sen=960,
        shipping_address="Aina Rahman\n1 Jalan Ampang\n50450 Kuala Lumpur" if shipping else "",
    )


def _order_context(language, **extra):
    order = extra.pop("order", None) or _order(language)
    return {
        "order": order,
        "order_url": SITE + reverse("orders:detail", args=[order.number]),
        "lines": [],
        "keys": [],
        "shipment": None,
        **extra,
    }


def _verification(language):
    return {
        "required_kinds": [DocumentKind.CARD_STATEMENT.label, DocumentKind.IDENTITY.label],
        "retention_days": 90,
        "max_files": 5,
        "max_mb": 10,
    }


def _paid(language):
    order = _order(language, shipping=True)
    line = OrderLine(order=order, product_name="Kaspersky Total Security 2026", quantity=1)
    key = LicenceKey(order_line=line, key="KTS26-4F7Q-99XZ-P2LM")
    return _order_context(language, order=order, lines=[line], keys=[key])


def _key_replaced(language):
    order = _order(language)
    line = OrderLine(order=order, product_name="Kaspersky Total Security 2026", quantity=1)
    key = LicenceKey(order_line=line, key="KTS26-8H3R-77WD-Q5NC")
    replaced = LicenceKey(order_line=line, key="KTS26-4F7Q-99XZ-P2LM")
    return _order_context(language, order=order, key=key, line=line, replaced=replaced)


def _shipped(language):
    order = _order(language, shipping=True)
    shipment = Shipment(order=order, carrier="Pos Laju", tracking_number="EP123456789MY")
    return _order_context(language, order=order, shipment=shipment)


def _rejected(language):
    order = _order(language)
    document = VerificationDocument(
        order=order,
        kind=DocumentKind.CARD_STATEMENT,
        rejection_reason=RejectionReason.NOT_MASKED,
        rejection_note="Kad 4111 ... 1111",
    )
    return _order_context(language, order=order, document=document, **_verification(language))


def _inquiry(language):
    return Inquiry(
        reference="SUP-7KQ2-M4XZ",
        name="Aina Rahman",
        email="aina.rahman@mail.test",
        subject="Kaspersky KTS26",
        language=language,
    )


def _support(language, *, guest=False, resolved=False, with_message=True):
    inquiry = _inquiry(language)
    return {
        "inquiry": inquiry,
        "message": Message(body="Kaspersky KTS26-4F7Q-99XZ-P2LM\n\nOK.") if with_message else None,
        "thread_url": SITE + reverse("support:guest" if guest else "support:inquiry",
                                     args=["t0k3n" if guest else inquiry.reference]),
        "rating_url": SITE + reverse("support:rate", args=["r4t1ng"]) if resolved else "",
        "is_guest": guest,
        "ratings": Rating.choices,
    }  # fmt: skip


def _breach_notice(language):
    """What privacy.breach_notices passes the notice: the officer's own words in both languages."""
    from privacy.breach_notices import notice_context
    from privacy.models import Breach

    breach = Breach(
        reference="BR-2026-001",
        summary="Orders exported to a wrong address",
        data_categories="contact details",
        discovered_at=timezone.make_aware(datetime.datetime(2026, 11, 27, 9, 30)),
        occurred_at=timezone.make_aware(datetime.datetime(2026, 11, 26, 22, 5)),
        affected_models=["orders.Order"],
        notice_happened_en="A list of orders was emailed to a courier by mistake.",
        notice_happened_ms="Senarai pesanan telah dihantar kepada kurier secara tersilap.",
        notice_measures_en="The courier deleted it and confirmed so in writing.",
        notice_measures_ms="Kurier telah memadamnya dan mengesahkannya secara bertulis.",
        notice_advice_en="Be careful with calls that ask for your order details.",
        notice_advice_ms="Berhati-hati dengan panggilan yang meminta butiran pesanan anda.",
    )
    return notice_context(breach, language, name="Aina Rahman")


def _account(language, **extra):
    """What accounts.adapters.AccountAdapter.send_mail passes allauth's templates."""
    return {
        "user": _user(language),
        "email": "aina.rahman@mail.test",
        "login_url": SITE + reverse("account_login"),
        "reset_url": SITE + reverse("account_reset_password"),
        "timestamp": timezone.make_aware(datetime.datetime(2026, 11, 29, 16, 40)),
        "ip": "203.0.113.7",
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
        **extra,
    }


def _confirm(language):
    key = "MQ:1tK9x2:abcDEF"
    return _account(language, activate_url=SITE + reverse("account_confirm_email", args=[key]))


CONTEXTS = {
    "orders/email/paid": _paid,
    "orders/email/shipped": _shipped,
    "orders/email/key_replaced": _key_replaced,
    "orders/email/refunded": lambda lang: _order_context(lang),
    "orders/email/payment_reversed": lambda lang: _order_context(lang, keys_revoked=True),
    "orders/email/verification_requested": lambda lang: _order_context(lang, **_verification(lang)),
    "orders/email/document_rejected": _rejected,
    "support/email/acknowledgement": lambda lang: _support(lang, guest=True, with_message=False),
    "support/email/reply": lambda lang: _support(lang),
    "support/email/resolved": lambda lang: _support(lang, resolved=True),
    "marketing/email/confirm": lambda lang: {
        "confirm_url": SITE + reverse("marketing:confirm", args=["c0nf1rm"]),
        "topics": ["Kaspersky", "Microsoft"],
    },
    "privacy/email/export_ready": lambda lang: {
        "user": _user(lang),
        "export": DataExport(expires_at=timezone.now() + datetime.timedelta(days=7)),
        "url": SITE + reverse("privacy_centre:export_download", args=[uuid.uuid4()]),
    },
    "privacy/email/closed": lambda lang: {},
    "privacy/email/breach_notice": lambda lang: _breach_notice(lang),
    "account/email/email_confirmation_signup": _confirm,
    "account/email/email_confirmation": _confirm,
    "account/email/password_reset_key": lambda lang: _account(
        lang,
        password_reset_url=SITE
        + reverse("account_reset_password_from_key", kwargs={"uidb36": "4", "key": "ck2-abc"}),
    ),
    "account/email/unknown_account": lambda lang: _account(
        lang, user=None, signup_url=SITE + reverse("account_signup")
    ),
    "account/email/account_already_exists": lambda lang: _account(
        lang,
        signup_url=SITE + reverse("account_signup"),
        password_reset_url=SITE + reverse("account_reset_password"),
    ),
    "account/email/email_changed": lambda lang: _account(
        lang, from_email="aina.old@mail.test", to_email="aina.rahman@mail.test"
    ),
    "account/email/email_confirm": _account,
    "account/email/email_deleted": lambda lang: _account(lang, deleted_email="aina.old@mail.test"),
    "account/email/password_changed": _account,
    "account/email/password_reset": _account,
    "account/email/password_set": _account,
    "mfa/email/totp_activated": _account,
    "mfa/email/totp_deactivated": _account,
    "mfa/email/recovery_codes_generated": _account,
}


def discovered() -> list[str]:
    found = []
    for path in TEMPLATES.rglob("*_subject.txt"):
        relative = path.relative_to(TEMPLATES).as_posix()
        if "/email/" in "/" + relative:
            found.append(relative.removesuffix("_subject.txt"))
    return sorted(found)


def allauth_emails() -> list[str]:
    root = Path(allauth.__file__).parent / "templates"
    return sorted(
        p.relative_to(root).as_posix().removesuffix("_subject.txt")
        for p in root.glob("*/email/*_subject.txt")
    )


def render(prefix: str, language: str):
    allauth_style = prefix.split("/")[0] in {"account", "mfa"}
    return render_email(
        f"{prefix}_message" if allauth_style else prefix,
        CONTEXTS[prefix](language),
        language=language,
        subject_template=f"{prefix}_subject.txt",
    )


class Page(HTMLParser):
    """Tags must balance (void elements aside); collects links, <html lang> and visible text."""

    VOID = {"meta", "br", "img", "hr", "link", "input"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.links: list[str] = []
        self.lang = None
        self.text: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.add(tag)
        if tag == "html":
            self.lang = attrs.get("lang")
        if tag == "a":
            self.links.append(attrs.get("href") or "")
        if tag == "img":
            self.errors.append(f"image {attrs.get('src')} (no remote images)")
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()

    def handle_data(self, data):
        if self.stack and self.stack[-1] in {"title", "style"}:
            return
        self.text.append(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    if page.stack:
        page.errors.append(f"unclosed {page.stack}")
    return page


def text_links(text: str) -> list[str]:
    return re.findall(r"https?://[^\s<>\"']+", text)


def english_left(text: str, context_values: list[str]) -> set[str]:
    for value in sorted(context_values, key=len, reverse=True):
        text = text.replace(value, " ")
    text = re.sub(r"https?://\S+|\S+@\S+", " ", text)
    words = set(re.findall(r"[A-Za-z]+", text))
    return {w for w in words if w.lower() in ENGLISH_WORDS and w not in ALLOWED}


def context_strings(context: dict) -> list[str]:
    """The customer's own data in the context (names, product names, notes): not ours to
    translate."""
    return [
        settings.SUPPORT_EMAIL,
        settings.SUPPORT_POSTAL_ADDRESS,
        *settings.SUPPORT_PHONE_NUMBERS,
        "Aina Rahman",
        "Kaspersky Total Security 2026",
        "Kaspersky KTS26",
        "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
        *[str(v) for v in context.values() if isinstance(v, str)],
    ]


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE
    # A variable a template names and the context lacks shows up instead of vanishing.
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "OPTIONS": {**settings.TEMPLATES[0]["OPTIONS"],
                                              "string_if_invalid": "MISSING[%s]"}}
    ]  # fmt: skip


def test_every_email_has_a_context():
    assert discovered() == sorted(CONTEXTS)


def test_every_allauth_email_this_store_sends_is_ours():
    ours = set(discovered())
    assert [name for name in allauth_emails() if name not in ours and name not in NOT_SENT] == []


@pytest.mark.parametrize("prefix", sorted(CONTEXTS))
def test_email_renders_in_both_languages(prefix):
    english, malay = render(prefix, "en"), render(prefix, "ms")
    for language, email in (("en", english), ("ms", malay)):
        assert email.subject and "\n" not in email.subject
        assert not re.search(r"127\.0\.0\.1|localhost|example\.com|testserver", email.subject)
        assert "MISSING[" not in email.subject + email.text + email.html
        assert email.text.strip() and email.html.strip()
        assert "{%" not in email.text + email.html and "{{" not in email.text + email.html
        page = parse(email.html)
        assert page.errors == []
        assert page.lang == language
        assert {"html", "head", "title", "body"} <= page.tags
        links = [link for link in page.links if not link.startswith("mailto:")]
        links += text_links(email.text)
        assert links, "every email links somewhere on the store"
        for link in links:
            assert link.startswith(SITE + "/"), link
            resolve(urlsplit(link).path)  # raises Resolver404 for a dead link
        assert settings.STORE_NAME in email.text and settings.STORE_NAME in email.html
        assert settings.SUPPORT_EMAIL in email.text and settings.SUPPORT_EMAIL in email.html
    assert malay.subject != english.subject or prefix in SAME_SUBJECT
    assert malay.text != english.text
    values = context_strings(CONTEXTS[prefix]("ms"))
    assert english_left(malay.subject, values) == set()
    assert english_left(malay.text, values) == set()
    assert english_left(" ".join(parse(malay.html).text), values) == set()
    # No sentence of the English version survives in the Malay one.
    for line in english.text.splitlines():
        line = line.strip()
        if len(line) > 24 and not text_links(line) and not any(v in line for v in values):
            assert line not in malay.text, line


def test_unknown_language_falls_back_to_english():
    assert (
        render_email("privacy/email/closed", {}, language="xx").subject
        == render_email("privacy/email/closed", {}, language="en").subject
    )
