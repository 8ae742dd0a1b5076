"""Every customer page fits a 360 px phone and a 1280 px desktop with no sideways scroll, in
English and Malay, in a real Chromium against the live store; the product page's "Add to cart"
is above the fold on a 360x740 phone; the phone header is one row with a menu; licence keys are
never split and each gets a copy button."""

import os

import pytest

from tests.e2e.customer_pages import KEYS, build_shop, open_context, visit

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# The widest element, to name the culprit when a page overflows.
WIDEST = """() => {
  const limit = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > limit + 0.5)
    .map(el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : ''));
  return wide.slice(0, 5);
}"""


def _overflow(page) -> tuple[int, int]:
    return page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )


@pytest.mark.parametrize("width", [360, 1280])
@pytest.mark.parametrize("language", ["en", "ms"])
def test_every_customer_page_fits_the_screen(live_server, browser, width, language):
    # given a shop with every kind of page filled with real data
    shop = build_shop()
    shots = os.environ.get("SCREENSHOT_DIR")
    too_wide = []
    for signed_in in (False, True):
        context, page = open_context(
            browser,
            live_server,
            user=shop.customer if signed_in else None,
            language=language,
            width=width,
        )
        for name, path, needs_user in shop.pages:
            if needs_user != signed_in:
                continue
            # when the page is shown
            visit(page, live_server.url + path)
            scroll_width, client_width = _overflow(page)
            # then nothing is wider than the screen
            if scroll_width > client_width:
                too_wide.append((name, scroll_width, page.evaluate(WIDEST)))
            if shots:
                slug = name.replace(" ", "-").replace("(", "").replace(")", "")
                page.screenshot(path=f"{shots}/{slug}-{language}-{width}.png", full_page=True)
        assert page.console_errors == []
        context.close()
    assert too_wide == [], "\n".join(map(str, too_wide))


def test_add_to_cart_is_above_the_fold_on_a_phone(live_server, browser):
    shop = build_shop()
    for language in ("en", "ms"):
        context, page = open_context(browser, live_server, language=language)
        for product in (shop.licence, shop.product):
            visit(page, f"{live_server.url}/shop/{product.slug}/")
            button = page.locator(".buy-panel button[type=submit]")
            box = button.bounding_box()
            assert box is not None and box["y"] + box["height"] < 740, (language, box)
        context.close()


def test_the_phone_header_is_one_row_with_a_menu_that_opens_by_keyboard(live_server, browser):
    shop = build_shop()
    context, page = open_context(browser, live_server, user=shop.customer)
    visit(page, live_server.url + "/shop/")
    header = page.locator(".site-header").bounding_box()
    assert header is not None and header["height"] < 70
    orders_link = page.get_by_role("link", name="Orders", exact=True)
    menu = page.locator(".site-menu > summary")
    assert (orders_link.is_visible(), menu.get_attribute("aria-expanded")) == (False, None)
    menu.focus()
    page.keyboard.press("Enter")
    assert orders_link.is_visible()
    orders_link.click()
    page.wait_for_url("**/orders/")
    # the cart stays one tap away, outside the menu
    assert page.locator(".site-header .cart-link").is_visible()
    # and at 1280 px there is no menu button: the links are in the header
    page.set_viewport_size({"width": 1280, "height": 800})
    assert (menu.is_visible(), orders_link.is_visible()) == (False, True)
    context.close()


def test_language_switch_is_one_click_and_comes_back_to_the_same_page(live_server, browser):
    shop = build_shop()
    context, page = open_context(browser, live_server, width=1280)
    visit(page, f"{live_server.url}/shop/{shop.product.slug}/")
    page.get_by_role("button", name="Bahasa Malaysia").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/shop/{shop.product.slug}/")
    assert page.locator("html").get_attribute("lang") == "ms"
    assert page.get_by_role("button", name="Tambah ke troli").is_visible()
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    context.close()


@pytest.mark.parametrize("width", [360, 1280])
def test_licence_keys_are_whole_on_one_line_with_a_copy_button(live_server, browser, width):
    shop = build_shop()
    context, page = open_context(browser, live_server, user=shop.customer, width=width)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    visit(page, f"{live_server.url}/orders/{shop.order.number}/")
    keys = page.locator("code.licence-key")
    assert keys.all_inner_texts() == list(KEYS)
    for key in keys.all():
        box = key.bounding_box()
        line_height = key.evaluate("el => parseFloat(getComputedStyle(el).lineHeight)")
        assert box is not None and box["height"] < 1.5 * line_height  # one line: not split
        panel = key.evaluate("el => el.closest('.panel').getBoundingClientRect().right")
        assert box["x"] >= 0 and box["x"] + box["width"] <= panel <= width  # inside its box
    copy = page.get_by_role("button", name="Copy").first
    copy.click()
    assert page.evaluate("navigator.clipboard.readText()") == KEYS[0]
    assert page.get_by_role("button", name="Copied").count() == 1
    context.close()


def test_without_javascript_there_is_no_copy_button(live_server, browser):
    shop = build_shop()
    client_context, _page = open_context(browser, live_server, user=shop.customer)
    cookies = client_context.cookies()
    client_context.close()
    context = browser.new_context(java_script_enabled=False, viewport={"width": 360, "height": 740})
    context.add_cookies(cookies)
    page = context.new_page()
    visit(page, f"{live_server.url}/orders/{shop.order.number}/")
    assert page.locator("code.licence-key").count() == 2
    assert page.get_by_role("button", name="Copy").count() == 0
    context.close()
