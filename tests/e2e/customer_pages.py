"""Every customer page, built from real rows (factories and services), for the browser tests
that walk them all: the 360 px / 1280 px fit (`test_phone_layout.py`) and the Malay pages
(`test_malay_pages.py`). A new customer page gets a line in `customer_pages()`."""

import datetime
import re
from dataclasses import dataclass

from django.test import Client
from django.utils import timezone

from marketing.tokens import make_preferences_token, make_unsubscribe_token
from orders.models import LicenceKey, LicenceKeyStatus, OrderStatus
from privacy.models import AcceptanceMethod, AccessAction, DataRequestChannel, DataRequestKind
from privacy.services import (
    accept_policy,
    get_current_policy,
    log_access,
    open_data_request,
    record_disclosure,
)
from support.models import Status
from support.tokens import guest_token, rating_token
from tests.factories import (
    AddressFactory,
    CategoryFactory,
    CustomerFactory,
    FaqEntryFactory,
    InquiryFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    StaffFactory,
    SubscriptionFactory,
)
from tests.factories.orders import cart_with

# Real-looking keys: 29 characters, five groups of five (the longest format the store sells).
KEYS = ("VK7JG-NPHTM-C97JM-9MPGT-3V66T", "W269N-WFGWX-YVC9B-4J6C9-T83GX")


@dataclass
class Shop:
    customer: object
    product: object
    licence: object
    order: object
    pages: list[tuple[str, str, bool]]  # (name, path, signed in)


def build_shop() -> Shop:
    """A customer with an address book, a cart holding a boxed product and a licence, a
    completed order with two licence keys, a paid physical order, privacy records of every kind
    the centre shows, and an inquiry with an answer; plus the FAQ."""
    customer = CustomerFactory(
        email="aina.rahman@example.com", full_name="Aina Rahman", preferred_language="en"
    )
    address = AddressFactory(user=customer, line1="12 Jalan Tun Razak", state="Selangor")
    AddressFactory(user=customer, line1="1-2-3 Shibuya", city="Tokyo", state="", country="JP")
    software = CategoryFactory(name="Software", slug="software")
    hardware = CategoryFactory(name="Hardware", slug="hardware")
    licence = ProductFactory(
        licence=True,
        keys=3,
        name="Office Home and Business 2024",
        slug="office-home-business-2024",
        category=software,
        price_sen=119900,
        summary="Word, Excel, PowerPoint and Outlook for one PC or Mac.",
        description="One licence key, delivered by email as soon as your payment is confirmed.",
    )
    product = ProductFactory(
        name="Wireless Keyboard and Mouse Set",
        slug="wireless-keyboard-mouse",
        category=hardware,
        price_sen=24900,
        summary="Quiet keys, long battery life.",
    )
    cart_with(customer, (product, 2), (licence, 1))

    now = timezone.now()
    fulfilled = OrderFactory(user=customer, status=OrderStatus.FULFILLED, paid_at=now)
    line = OrderLineFactory(order=fulfilled, product=licence, quantity=2)
    for key in KEYS:
        LicenceKey.objects.create(
            product=licence, key=key, status=LicenceKeyStatus.ISSUED, order_line=line
        )
    shipped = OrderFactory(
        user=customer,
        status=OrderStatus.PAID,
        paid_at=now - datetime.timedelta(days=2),
        shipping_address="Aina Rahman\n12 Jalan Tun Razak\n50400 Kuala Lumpur\nMalaysia",
    )
    OrderLineFactory(order=shipped, product=product, quantity=1)
    OrderFactory(user=customer, status=OrderStatus.CANCELLED)

    policy = get_current_policy()
    accept_policy(customer, policy=policy, method=AcceptanceMethod.SIGNUP, ip_address="203.0.113.9")
    record_disclosure(
        customer,
        recipient="Worldline",
        data_categories=["email address", "billing country", "customer number", "order amount"],
        purpose="Processing the card payment for your order",
        reference=fulfilled.number,
    )
    staff = StaffFactory(role="support agent")
    log_access(staff, action=AccessAction.VIEWED, target=address, subject=customer)
    open_data_request(
        customer, kind=DataRequestKind.CORRECTION, channel=DataRequestChannel.PRIVACY_CENTRE
    )

    FaqEntryFactory()
    inquiry = InquiryFactory(user=customer, status=Status.WAITING)
    guest = InquiryFactory()
    resolved = InquiryFactory(status=Status.RESOLVED)
    subscription = SubscriptionFactory(subscriber__user=customer)
    subscriber_id = subscription.subscriber.public_id

    pages = [
        ("home", "/", False),
        ("shop", "/shop/", False),
        ("category", "/shop/?category=software", False),
        ("search", "/shop/?q=office", False),
        ("product (licence)", f"/shop/{licence.slug}/", False),
        ("product (boxed)", f"/shop/{product.slug}/", False),
        ("faq", "/support/", False),
        ("inquiry form", "/support/ask/", False),
        ("guest thread", f"/support/t/{guest_token(guest)}/", False),
        ("rate an answer", f"/support/rate/{rating_token(resolved)}/", False),
        ("email preferences link", f"/m/p/{make_preferences_token(subscriber_id)}/", False),
        (
            "unsubscribe link",
            f"/m/u/{make_unsubscribe_token(subscriber_id, subscription.topic.code)}/",
            False,
        ),
        ("account closed", "/account/privacy/closed/", False),
        ("policy", "/privacy/", False),
        ("policy versions", "/privacy/versions/", False),
        ("policy version", f"/privacy/versions/{policy.version}/", False),
        ("login", "/accounts/login/", False),
        ("signup", "/accounts/signup/", False),
        ("password reset", "/accounts/password/reset/", False),
        ("empty cart", "/cart/", False),
        ("cart", "/cart/", True),
        ("checkout", "/checkout/", True),
        ("order list", "/orders/", True),
        ("order with keys", f"/orders/{fulfilled.number}/", True),
        ("order shipped", f"/orders/{shipped.number}/", True),
        ("receipt", f"/orders/{fulfilled.number}/receipt/", True),
        ("account", "/account/", True),
        ("profile", "/account/profile/", True),
        ("address book", "/account/addresses/", True),
        ("new address", "/account/addresses/new/", True),
        ("edit address", f"/account/addresses/{address.pk}/edit/", True),
        ("delete address", f"/account/addresses/{address.pk}/delete/", True),
        ("privacy centre", "/account/privacy/", True),
        ("close account", "/account/privacy/close/", True),
        ("marketing preferences", "/account/marketing/", True),
        ("inquiry thread", f"/support/inquiries/{inquiry.reference}/", True),
        ("email addresses", "/accounts/email/", True),
        ("password change", "/accounts/password/change/", True),
    ]
    return Shop(customer, product, licence, fulfilled, pages)


def open_context(browser, live_server, *, user=None, language="en", width=360, height=740):
    """A browser context in `language` (the language cookie, as the switcher sets it), signed
    in as `user` when given (a real session made by Django's test client)."""
    context = browser.new_context(
        locale="en-GB", viewport={"width": width, "height": height}, java_script_enabled=True
    )
    cookies = [{"name": "django_language", "value": language, "url": live_server.url}]
    if user is not None:
        client = Client()
        client.force_login(user)
        cookies.append(
            {
                "name": "sessionid",
                "value": client.cookies["sessionid"].value,
                "url": live_server.url,
            }
        )
    context.add_cookies(cookies)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.console_errors = errors
    return context, page


def visit(page, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, (url, response and response.status)
    assert not re.search(r"/accounts/(login|reauthenticate)/", page.url) or "/accounts/" in url, (
        f"{url} sent the browser to {page.url}"
    )
