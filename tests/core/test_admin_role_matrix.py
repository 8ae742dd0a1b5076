"""The role matrix: every admin URL (home, each changelist, add, change and history view, each
custom view) opened by every staff role. Pages a role may use answer 200; the others answer 403
in the admin's look, naming the roles that may. No page links to an admin page its viewer
cannot open. Actions are offered only to roles that may run them, and a forged request for
one changes nothing."""

import html
import re
from urllib.parse import urljoin, urlsplit

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from accounts.roles import ROLE_PERMISSIONS
from orders.models import (
    AttemptStatus,
    Fulfilment,
    LicenceKey,
    LicenceKeyStatus,
    OrderLine,
    OrderStatus,
    ProductKind,
)
from privacy.models import AccessLog
from tests.factories import (
    OrderFactory,
    OrderLineFactory,
    PaymentAttemptFactory,
    ProductFactory,
    UserFactory,
    staff_client,
)

from .admin_rows import ROW_MAKERS

pytestmark = pytest.mark.django_db

SUPERUSER = "superuser"
ROLES = [*sorted(ROLE_PERMISSIONS), SUPERUSER]
HREF = re.compile(r'href="([^"]+)"')


def _client_for(role):
    """A client logged in as a staff member in `role`, or as a superuser, past the MFA gate."""
    if role == SUPERUSER:
        return staff_client(is_superuser=True)[1]
    return staff_client(role)[1]


def _any(*perms):
    return ("any", perms)


def _all(*perms):
    return ("all", perms)


NEVER = ("all", ("-never-",))


def _allowed(role, rule) -> bool:
    if role == SUPERUSER:
        return rule != NEVER
    held = ROLE_PERMISSIONS[role]
    how, perms = rule
    return any(p in held for p in perms) if how == "any" else all(p in held for p in perms)


def _pages():
    """(url, rule) for every admin page."""
    superuser_request = RequestFactory().get("/admin/")
    superuser_request.user = UserFactory.build(is_staff=True, is_superuser=True)
    pages = [(reverse("admin:index"), ("all", ()))]
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        name = f"admin:{opts.app_label}_{opts.model_name}"
        view_rule = _any(
            f"{opts.app_label}.view_{opts.model_name}", f"{opts.app_label}.change_{opts.model_name}"
        )
        pages.append((reverse(f"{name}_changelist"), view_rule))
        add_rule = _all(f"{opts.app_label}.add_{opts.model_name}")
        if not model_admin.has_add_permission(superuser_request):
            add_rule = NEVER
        pages.append((reverse(f"{name}_add"), add_rule))
        obj = ROW_MAKERS[opts.label](1)[0]
        pages.append((reverse(f"{name}_change", args=[obj.pk]), view_rule))
        pages.append((reverse(f"{name}_history", args=[obj.pk]), view_rule))
    order = _shippable_order()
    product = ProductFactory(licence=True, keys=1)
    ship = _all("orders.change_order", "orders.add_shipment")
    pages += [
        (reverse("admin:orders_order_ship", args=[order.pk]), ship),
        (
            reverse("admin:orders_order_refund", args=[order.pk]),
            _all("orders.change_order", "orders.add_refund"),
        ),
        (reverse("admin:orders_order_ship_csv"), ship),
        (
            reverse("admin:orders_product_import_keys", args=[product.pk]),
            _all("orders.add_licencekey"),
        ),
        (reverse("admin:orders_order_change", args=[order.pk]), _any("orders.view_order")),
        (
            reverse("admin:orders_order_flag", args=[_flaggable_order().pk]),
            _all("orders.change_order"),
        ),
        (
            reverse("admin:orders_order_accept_payment", args=[_order_under_review().pk]),
            _all("orders.change_order"),
        ),
        (
            reverse("admin:orders_order_close_lost", args=[_order_charged_back().pk]),
            _all("orders.change_order"),
        ),
        (
            reverse("admin:orders_licencekey_replace", args=[_issued_key().pk]),
            _all("orders.change_order"),
        ),
    ]
    # Issue 8's campaign pages that answer a GET (schedule, cancel and test are POST-only).
    campaign = ROW_MAKERS["marketing.Campaign"](1)[0]
    view_campaign = _any("marketing.view_campaign", "marketing.change_campaign")
    pages += [
        (reverse("admin:marketing_campaign_preview", args=[campaign.pk]), view_campaign),
        (reverse("admin:marketing_campaign_progress", args=[campaign.pk]), view_campaign),
    ]
    # The data protection officer's breach notice page (preview, send, progress).
    breach = ROW_MAKERS["privacy.Breach"](1)[0]
    pages.append(
        (reverse("admin:privacy_breach_notify", args=[breach.pk]), _all("privacy.change_breach"))
    )
    return pages


def _flaggable_order():
    order = OrderFactory(status=OrderStatus.PAID, paid_at=timezone.now())
    OrderLineFactory(order=order, product=ProductFactory())
    return order


def _order_under_review():
    """A late payment on an expired order: its accept page offers the confirmation."""
    order = OrderFactory(status=OrderStatus.NEEDS_REVIEW, stock_released=True)
    OrderLineFactory(order=order, product=ProductFactory())
    PaymentAttemptFactory(
        order=order, status=AttemptStatus.PAID, gateway_payment_id="p1", pays_for_order=True
    )
    return order


def _order_charged_back():
    """A payment the bank took back: its close page offers the confirmation."""
    order = OrderFactory(status=OrderStatus.NEEDS_REVIEW, paid_at=timezone.now())
    OrderLineFactory(order=order, product=ProductFactory())
    PaymentAttemptFactory(
        order=order, status=AttemptStatus.REVERSED, gateway_payment_id="p1", pays_for_order=True
    )
    return order


def _issued_key():
    """A completed order's issued key, with a key left in the pool: its replace page offers the
    confirmation."""
    order = OrderFactory(status=OrderStatus.FULFILLED, paid_at=timezone.now())
    product = ProductFactory(licence=True, keys=1)
    line = OrderLineFactory(order=order, product=product)
    return LicenceKey.objects.create(
        product=product, key="ROLE-MATRIX-KEY", status=LicenceKeyStatus.ISSUED, order_line=line
    )


def _shippable_order():
    order = OrderFactory(
        status=OrderStatus.PAID, paid_at=timezone.now(), shipping_address="1 Jalan"
    )
    OrderLineFactory(order=order, product=ProductFactory())
    Fulfilment.objects.create(order=order)
    return order


def _links(page_url: str, body: str) -> set[str]:
    links = set()
    for href in HREF.findall(body):
        url = urljoin(page_url, html.unescape(href))
        parts = urlsplit(url)
        if parts.path.startswith("/admin/") and not parts.path.startswith("/admin/logout"):
            links.add(parts.path + (f"?{parts.query}" if parts.query else ""))
    return links


@pytest.mark.parametrize("role", ROLES)
def test_each_role_opens_its_pages_is_refused_the_others_and_sees_no_dead_link(role):
    pages = _pages()
    client = _client_for(role)
    checked: dict[str, int] = {}
    failures = []
    for url, rule in pages:
        response = client.get(url)
        checked[url] = response.status_code
        if _allowed(role, rule):
            if response.status_code != 200:
                failures.append(f"{url}: {response.status_code}, expected 200")
                continue
            body = response.content.decode()
            for link in sorted(_links(url, body)):
                # Who may open a page does not depend on its query string (filters, sorting):
                # one visit per path is enough.
                path = urlsplit(link).path
                if path in checked or link in checked:
                    continue
                # "View on site" leaves admin through a redirect: follow it to its end.
                linked = client.get(link, follow=path.startswith("/admin/r/"))
                checked[link] = checked[path] = linked.status_code
                if (
                    linked.status_code == 302
                    and urlsplit(linked["Location"]).path == urlsplit(link).path
                ):
                    continue  # a changelist dropping a stale filter
                if linked.status_code not in (200, 302):
                    failures.append(f"{url} links to {link}: {linked.status_code}")
        else:
            if response.status_code != 403:
                failures.append(f"{url}: {response.status_code}, expected 403")
                continue
            body = response.content.decode()
            if "IPmart administration" not in body or 'class="refused"' not in body:
                failures.append(f"{url}: 403 without the admin's look")
    assert failures == []


def _export(client, order):
    return client.post(
        reverse("admin:orders_order_changelist"),
        {"action": "export_csv", "_selected_action": [order.pk], "index": 0},
    )


@pytest.mark.parametrize("role", ROLES)
def test_the_export_action_is_offered_and_runs_only_for_roles_that_may(role):
    # given
    order = _shippable_order()
    client = _client_for(role)
    may = _allowed(role, _all("orders.change_order"))
    page = client.get(reverse("admin:orders_order_changelist"))
    # when
    response = _export(client, order)
    # then
    if not _allowed(role, _any("orders.view_order")):
        assert page.status_code == response.status_code == 403
        assert AccessLog.objects.filter(action="exported").count() == 0
        return
    assert ('value="export_csv"' in page.content.decode()) is may
    if may:
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert order.number in response.content.decode("utf-8-sig")
        assert AccessLog.objects.filter(action="exported", target_id=str(order.pk)).count() == 1
    else:
        assert response.get("Content-Type", "").startswith("text/html")
        assert AccessLog.objects.filter(action="exported").count() == 0


def test_an_order_offers_only_the_actions_its_state_allows():
    # given a manager and a completed order whose goods are shipped
    client = staff_client("store manager")[1]
    order = _shippable_order()
    ship_url = reverse("admin:orders_order_ship", args=[order.pk])
    assert (
        ship_url
        in client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    )
    # when it is shipped
    OrderLine.objects.filter(order=order, kind=ProductKind.PHYSICAL).update(
        shipped_at=timezone.now()
    )
    order.status = OrderStatus.FULFILLED
    order.save(update_fields=["status"])
    # then "Mark shipped" is no longer offered; "Refund" still is
    body = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert ship_url not in body
    assert reverse("admin:orders_order_refund", args=[order.pk]) in body


def test_asking_for_documents_is_offered_only_while_the_order_may_be_held():
    # given a paid order not delivered yet, and one already fulfilled
    client = staff_client("store manager")[1]
    paid = _flaggable_order()
    shipped = _shippable_order()  # has its fulfilment: too late to hold
    # then only the first offers the action (issue 7's flag, now among the order's actions)
    for order, offered in [(paid, True), (shipped, False)]:
        body = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
        assert (reverse("admin:orders_order_flag", args=[order.pk]) in body) is offered
