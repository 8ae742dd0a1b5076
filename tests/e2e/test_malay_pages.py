"""Every customer page in Malay, in a real Chromium against the live store: no text the English
page also shows, apart from brand names, codes, numbers, prices, dates and what comes from data
(product and category names, the customer's name, address and email, order numbers, keys)."""

import re

import pytest
from django.conf import settings

from tests.e2e.customer_pages import KEYS, build_shop, open_context, visit

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# What a reader meets on the page: text nodes (a closed <select> shows only its chosen option),
# and the words assistive technology reads out or a phone shows in a stacked table.
PAGE_TEXT = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || el.closest('script, style, template')) continue;
    const option = el.closest('option');
    if (option && !option.selected) continue;
    out.push(node.textContent);
  }
  for (const attr of ['placeholder', 'aria-label', 'title', 'alt', 'data-label']) {
    for (const el of document.querySelectorAll('[' + attr + ']')) out.push(el.getAttribute(attr));
  }
  for (const el of document.querySelectorAll('input[type=submit][value], input[type=button][value]')) {
    out.push(el.value);
  }
  document.title && out.push(document.title);
  return out.map(s => s.replace(/\\s+/g, ' ').trim()).filter(Boolean);
}"""

# The same in both languages, on purpose. Each entry says why.
ALLOWED = {
    "IPmart",  # brand
    "ipmart.com.my",  # the domain
    "©",
    "CSRF",  # the policy names the cookie by its technical name, in both languages
    "English",  # each language's name is written in that language, on both pages
    "Bahasa Malaysia",
    "Worldline",  # the payment provider's name (a disclosure's recipient)
    "Status",  # the Malay word is "Status"
    "Menu",  # the Malay word is "Menu"
}
# Numbers, prices, codes, dates whose month abbreviation is the same in Malay (Jan, Feb, Apr,
# Jun, Jul, Sep, Nov), percentages, email addresses, order numbers and references.
PATTERNS = [
    re.compile(r"^[\W\d_]+$"),
    re.compile(r"^(RM|MYR) ?[\d,.]+$"),
    re.compile(r"^(· )?\d{1,2} [A-Z][a-z]{2,8} \d{4}(, \d\d:\d\d)?$"),
    re.compile(r"^\d{1,2}:\d\d$"),
    re.compile(r"^[\w.+-]+@[\w.-]+$"),
    re.compile(r"^IPM-[A-Z0-9-]+$"),
    re.compile(r"^[A-Z0-9]{2,}(-[A-Z0-9]+)+$"),  # references, keys, version codes
    re.compile(r"^[0-9a-f]{64}$"),  # the policy's SHA-256 fingerprint
    re.compile(r"^·$|^[|/•–—]$"),
]


def _data_strings(shop) -> set[str]:
    """Words that come from the shop's rows, the same whatever the page's language."""
    customer = shop.customer
    strings = {customer.full_name, customer.email, *KEYS, settings.SUPPORT_POSTAL_ADDRESS}
    for product in (shop.product, shop.licence):
        strings |= {product.name, product.summary, product.description, product.category.name}
        strings.add(product.name[:2])  # the letters on a product without a picture
    for address in customer.addresses.all():
        # the country's name is not data: it is shown in the page's language
        strings |= {address.line1, address.city, address.state, address.postcode, address.full_name}
        strings.add(f"{address.postcode} {address.city}")
    for order in customer.orders.all():
        strings.add(order.number)
        strings |= {line for line in order.billing_address.splitlines() if line}
        strings |= {line for line in order.shipping_address.splitlines() if line}
        strings |= {line.product_name for line in order.lines.all()}
    for inquiry in customer.inquiries.all():
        strings |= {inquiry.subject, inquiry.reference, inquiry.name}
        strings |= {message.body for message in inquiry.messages.all()}
    strings |= {"Guest Person", "Where is my key?", "I paid but I cannot find my licence key."}
    return strings


def _page_text(browser, live_server, shop, language: str) -> dict[str, list[str]]:
    texts = {}
    for signed_in in (False, True):
        context, page = open_context(
            browser,
            live_server,
            user=shop.customer if signed_in else None,
            language=language,
            width=1280,
        )
        for name, path, needs_user in shop.pages:
            if needs_user == signed_in:
                visit(page, live_server.url + path)
                assert page.locator("html").get_attribute("lang") == language
                texts[name] = page.evaluate(PAGE_TEXT)
        context.close()
    return texts


def _allowed(text: str, data: set[str]) -> bool:
    if text in ALLOWED or text in data or any(p.match(text) for p in PATTERNS):
        return True
    # a sentence made only of data and punctuation ("Aina Rahman, 12 Jalan Tun Razak")
    rest = text
    for item in sorted(data | ALLOWED, key=len, reverse=True):
        rest = rest.replace(item, " ")
    return not re.search(r"[A-Za-z]{2,}", rest)


def test_no_english_is_left_on_the_malay_pages(live_server, browser):
    # given a shop with every kind of page filled with real data
    shop = build_shop()
    data = _data_strings(shop)

    # when every customer page is read in English and in Malay
    english = _page_text(browser, live_server, shop, "en")
    malay = _page_text(browser, live_server, shop, "ms")

    # then the Malay page shows nothing the English one shows, apart from the allowed
    leaks = {}
    for name, lines in malay.items():
        same = sorted({line for line in lines if line in set(english[name])})
        same = [line for line in same if not _allowed(line, data)]
        if same:
            leaks[name] = same
    assert leaks == {}, "\n".join(f"{name}: {lines}" for name, lines in leaks.items())
    # and country names are Malay (django-countries has no Malay: locale/ms/countries.po)
    assert ("Japan" in english["address book"], "Jepun" in malay["address book"]) == (True, True)


def test_the_malay_checkout_words_are_not_the_sign_out_words(live_server, browser):
    shop = build_shop()
    context, page = open_context(browser, live_server, user=shop.customer, language="ms")
    visit(page, live_server.url + "/cart/")
    checkout = page.locator("main a[href='/checkout/']").inner_text()
    page.locator(".site-menu > summary").click()
    sign_out = page.locator(".main-nav form button").inner_text()
    assert (checkout, sign_out) == ("Teruskan ke pembayaran", "Log keluar")
    context.close()


def test_the_signup_password_error_shows_once_in_the_pages_language(live_server, browser):
    for language, expected in [
        ("en", "This password is too short. It must contain at least 12 characters."),
        (
            "ms",
            "Kata laluan ini terlalu pendek. Ia mesti mengandungi sekurang-kurangnya 12 aksara.",
        ),
    ]:
        context, page = open_context(browser, live_server, language=language)
        visit(page, live_server.url + "/accounts/signup/")
        page.locator("#id_full_name").fill("Siti Nurhaliza")
        page.locator("#id_email").fill(f"siti.{language}@example.com")
        page.locator("#id_password1").fill("kucing123")
        page.locator("#id_password2").fill("kucing123")
        page.locator("#id_accept_privacy_policy").check()
        page.locator("main form button[type=submit]").click()
        page.wait_for_load_state()
        errors = page.locator("#id_password1 ~ .error").all_inner_texts()
        assert errors == [expected]
        context.close()
