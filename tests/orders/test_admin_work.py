"""A store manager's day in the orders admin: finding orders, shipping from a CSV (all or
nothing), exporting (formula-safe, access-logged), key imports checked against the product's
pattern, low key pools alerting once per crossing, the admin home's counts, refusals naming
the role that may, and the order's History showing its events."""

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ipmart.core.csv_export import escape_cell
from ipmart.core.models import StaffChange
from ipmart.core.money import format_ringgit, parse_ringgit
from orders.models import Fulfilment, LicenceKey, OrderEvent, OrderStatus, Shipment
from orders.services.catalogue import KeyImportError, import_licence_keys
from orders.services.checkout import place_order
from privacy.models import AccessLog
from tests.factories import (
    AddressFactory,
    CustomerFactory,
    LicenceKeyFactory,
    OrderFactory,
    OrderLineFactory,
    PaymentAttemptFactory,
    ProductFactory,
    StaffFactory,
    cart_with,
    enrolled_in_mfa,
    staff_client,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager():
    return enrolled_in_mfa(StaffFactory(role="store manager", email="manager@ipmart.test"))


def _waiting(name="Aina Rahman", **kwargs):
    customer = CustomerFactory(full_name=name)
    order = OrderFactory(
        user=customer,
        status=OrderStatus.PAID,
        paid_at=timezone.now(),
        shipping_address="1 Jalan Ampang",
        **kwargs,
    )
    OrderLineFactory(order=order, product=ProductFactory(name="Keyboard"))
    Fulfilment.objects.create(order=order)
    return order


def _listed(client, query: str) -> list[str]:
    response = client.get(reverse("admin:orders_order_changelist") + query)
    assert response.status_code == 200
    return sorted(o.number for o in response.context["cl"].result_list)


def test_money_reads_and_parses_in_ringgit():
    assert format_ringgit(164274) == "RM 1,642.74"
    assert format_ringgit(5) == "RM 0.05"
    assert parse_ringgit("RM 1,642.74") == 164274
    assert parse_ringgit("12") == 1200
    for bad in ["12.345", "abc", "", "NaN"]:
        with pytest.raises(ValueError):
            parse_ringgit(bad)


def test_orders_are_found_by_name_payment_reference_and_key_end(client, manager):
    # given
    aina = _waiting("Aina Rahman")
    bob = _waiting("Bob Lim")
    PaymentAttemptFactory(order=bob, merchant_reference="IPM-REF-778899")
    line = OrderLineFactory(order=aina)
    LicenceKeyFactory(
        product=line.product, key="ABCDE-12345-XYZ9", status="issued", order_line=line
    )
    client.force_login(manager)
    # then
    assert _listed(client, "?q=rahman") == [aina.number]
    assert _listed(client, "?q=IPM-REF-778899") == [bob.number]
    assert _listed(client, "?q=XYZ9") == [aina.number]
    assert _listed(client, "?q=XY") == []  # too short to match a key's end
    assert _listed(client, f"?q={bob.number}") == [bob.number]


def test_orders_filter_by_date_range_kind_country_and_awaiting_shipping(client, manager):
    old = _waiting(billing_country="SG")
    old.placed_at = timezone.now() - timezone.timedelta(days=40)
    old.save(update_fields=["placed_at"])
    new = _waiting()
    done = OrderFactory(status=OrderStatus.FULFILLED)
    OrderLineFactory(order=done)  # a licence
    client.force_login(manager)
    today = timezone.localdate().isoformat()
    assert _listed(client, f"?placed_at__range_since={today}") == sorted([new.number, done.number])
    assert _listed(client, "?country=SG") == [old.number]
    assert _listed(client, "?kind=licence") == [done.number]
    assert _listed(client, "?awaiting=shipping") == sorted([old.number, new.number])


def _csv(text: str):
    return SimpleUploadedFile("ship.csv", text.encode(), content_type="text/csv")


def test_three_orders_ship_from_a_csv(client, manager, django_capture_on_commit_callbacks):
    orders = [_waiting(f"Customer {n}") for n in range(3)]
    rows = "order,carrier,tracking\n" + "".join(
        f"{o.number},Pos Laju,EP{n:09d}MY\n" for n, o in enumerate(orders)
    )
    client.force_login(manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:orders_order_ship_csv"), {"file": _csv(rows)})
    assert response.status_code == 302
    for n, order in enumerate(orders):
        order.refresh_from_db()
        assert order.status == OrderStatus.FULFILLED
        assert Shipment.objects.get(order=order).tracking_number == f"EP{n:09d}MY"
    assert len(mail.outbox) == 3


def test_a_csv_with_a_bad_line_ships_nothing_and_names_each_error(client, manager):
    good = _waiting()
    shipped = _waiting()
    shipped.status = OrderStatus.FULFILLED
    shipped.save(update_fields=["status"])
    rows = f"{good.number},Pos Laju,EP1\n{shipped.number},Pos Laju,EP2\nIPM-NOPE-0000,DHL,X\n{good.number},,\n"
    client.force_login(manager)
    response = client.post(
        reverse("admin:orders_order_ship_csv"), {"file": _csv(rows)}, follow=True
    )
    text = response.content.decode()
    assert "Nothing shipped" in text
    assert f"line 2: order {shipped.number} is not waiting to be shipped" in text
    assert "line 3: no order IPM-NOPE-0000" in text
    assert f"line 4: order {good.number} is repeated" in text
    assert Shipment.objects.count() == 0
    good.refresh_from_db()
    assert good.status == OrderStatus.PAID
    assert OrderEvent.objects.filter(kind="shipped").count() == 0


def test_the_export_escapes_formulas_and_is_written_to_the_access_log(client, manager):
    order = _waiting(name='=HYPERLINK("http://evil")')
    client.force_login(manager)
    response = client.post(
        reverse("admin:orders_order_changelist"),
        {"action": "export_csv", "_selected_action": [order.pk]},
    )
    text = response.content.decode("utf-8-sig")
    assert "'=HYPERLINK" in text
    assert "RM 108.00" in text
    log = AccessLog.objects.get(action="exported")
    assert (log.actor, log.subject, log.target_id) == (manager, order.user, str(order.pk))
    assert escape_cell("-1") == "'-1" and escape_cell("ok") == "ok"


def test_a_key_file_with_a_line_not_matching_the_pattern_imports_nothing(manager):
    product = ProductFactory(licence=True, key_pattern=r"[A-Z0-9]{5}(-[A-Z0-9]{5}){2}")
    data = b"key\nAAAAA-BBBBB-CCCCC\nbad key!\nDDDDD-EEEEE-FFFFF\nshort\n"
    with pytest.raises(KeyImportError) as error:
        import_licence_keys(product, data=data, acting_user=manager)
    assert str(error.value) == (
        "Nothing imported: 2 line(s) do not match the product's key pattern: 3, 5."
    )
    assert LicenceKey.objects.filter(product=product).count() == 0
    assert StaffChange.objects.count() == 0


def test_without_a_pattern_keys_with_spaces_or_punctuation_are_refused(manager):
    product = ProductFactory(licence=True)
    with pytest.raises(KeyImportError):
        import_licence_keys(product, data=b"GOOD-KEY-1\nbad key!\n", acting_user=manager)
    assert import_licence_keys(product, data=b"GOOD-KEY-1\n", acting_user=manager) == 1
    change = StaffChange.objects.get()
    assert (change.action, change.actor, change.detail) == (
        "import keys",
        manager,
        "1 licence key(s) imported",
    )


def _buy(product, quantity=1):
    customer = CustomerFactory()
    address = AddressFactory(user=customer)
    cart = cart_with(customer, (product, quantity))
    return place_order(customer, cart=cart, billing_address=address, shipping_address=None)


def test_a_pool_falling_below_its_threshold_emails_store_managers_once_per_crossing(
    manager, django_capture_on_commit_callbacks
):
    # given a pool of 4 keys alerting below 3
    product = ProductFactory(licence=True, keys=4, key_low_threshold=3, name="Office")
    # when sales take it to 2, then 1
    with django_capture_on_commit_callbacks(execute=True):
        _buy(product)  # 3 left: not below
        assert mail.outbox == []
        _buy(product)  # 2 left: below, alert
        _buy(product)  # 1 left: still below, no second alert
    # then one email to the store managers
    assert [(m.to, m.subject) for m in mail.outbox] == [
        (["manager@ipmart.test"], "Licence keys running low: Office")
    ]
    # and after an import fills it, the next crossing alerts again
    import_licence_keys(product, data=b"K-1\nK-2\nK-3\nK-4\n", acting_user=manager)  # 5 left
    with django_capture_on_commit_callbacks(execute=True):
        _buy(product, 3)  # 2 left
    assert len(mail.outbox) == 2


def test_the_admin_home_counts_link_to_filtered_lists_in_fixed_queries(client, manager):
    client.force_login(manager)
    client.get(reverse("admin:index"))  # a staff session's first request stamps its start once
    _waiting()
    OrderFactory(status=OrderStatus.NEEDS_REVIEW)
    ProductFactory(licence=True, keys=1, key_low_threshold=5)
    with CaptureQueriesContext(connection) as few:
        response = client.get(reverse("admin:index"))
    text = response.content.decode()
    assert '?awaiting=shipping"><span class="staff-count-number">1</span>' in text
    assert '?status__exact=needs_review"><span class="staff-count-number">1</span>' in text
    assert '?key_pool=low"><span class="staff-count-number">1</span>' in text
    assert "Sales per day, last 30 days" in text and "<svg" in text
    for n in range(20):
        _waiting(f"More {n}")
        ProductFactory(licence=True, keys=1)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("admin:index"))
    assert len(many) == len(few)


def test_a_support_agent_sees_counts_but_no_charts_and_no_actions():
    client = staff_client("support agent")[1]
    order = _waiting()
    home = client.get(reverse("admin:index")).content.decode()
    assert "Orders held for verification" in home
    assert "Orders awaiting shipping" not in home and "Sales per day" not in home
    assert "key pools" not in home
    page = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert "/ship/" not in page and "/refund/" not in page
    refused = client.get(reverse("admin:orders_order_ship", args=[order.pk]))
    assert refused.status_code == 403
    text = refused.content.decode()
    assert "Only the store manager role can do this." in text
    assert "Your role: support agent." in text


def test_the_order_history_shows_its_events_and_staff_actions(client, manager):
    order = _waiting()
    OrderEvent.objects.create(order=order, kind="paid", message="Paid at the gateway")
    client.force_login(manager)
    response = client.get(reverse("admin:orders_order_history", args=[order.pk]))
    text = response.content.decode()
    assert response.status_code == 200
    assert "Paid at the gateway" in text
    assert "No staff member has changed this record." in text


def test_a_licence_key_links_to_its_order(client, manager):
    order = _waiting()
    line = OrderLineFactory(order=order)
    key = LicenceKeyFactory(
        product=line.product, key="SECRET-KEY-1", status="issued", order_line=line
    )
    client.force_login(manager)
    text = client.get(reverse("admin:orders_licencekey_changelist")).content.decode()
    assert reverse("admin:orders_order_change", args=[order.pk]) in text
    assert "SECRET-KEY-1" not in text and key.masked in text
