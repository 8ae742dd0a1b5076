"""Replacing a faulty licence key ("Replace this key", `orders.services.keys.replace_licence_key`):
the old key revoked for good and marked replaced, the next key of the pool issued to the same
line, history, audit trail, the customer's email in their language (the new key, never the old)
and the low-pool alert; refused, changing nothing, for a key not issued, an order refunded,
cancelled or under review, an empty pool, a blank reason and a second click; the customer's
order page in English and Malay; the admin page for the store manager and refused to every other
role and to anonymous visitors."""

import datetime

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.roles import ROLE_PERMISSIONS
from ipmart.core.models import OutboxMessage, StaffChange
from orders.models import (
    LicenceKey,
    LicenceKeyStatus,
    Order,
    OrderEvent,
    OrderStatus,
    Product,
)
from orders.retention import delete_orders_of_closed_accounts
from orders.services.keys import KeyReplacementError, replace_licence_key
from privacy.models import AccountClosure
from tests.factories import (
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    StaffFactory,
    UserFactory,
    staff_client,
)

pytestmark = pytest.mark.django_db

EMAIL_TASK = "orders.tasks.send_key_replaced_email_task"
POOL_LOW_TASK = "orders.tasks.send_key_pool_low_email_task"


def _issued(*, status=OrderStatus.FULFILLED, pool=2, language="en", threshold=0):
    """A completed order of one licence of "Office" whose key is issued, with `pool` more keys
    of the product available. Returns (order, issued key)."""
    user = UserFactory(preferred_language=language, full_name="Aina Rahman")
    product = ProductFactory(
        licence=True, name="Office", name_ms="Pejabat", key_low_threshold=threshold
    )
    order = OrderFactory(user=user, status=status, paid_at=timezone.now())
    line = OrderLineFactory(order=order, product=product, product_name_ms="Pejabat")
    key = LicenceKey.objects.create(
        product=product,
        key="OFFICE-OLD-0001-BDCC",
        status=LicenceKeyStatus.ISSUED,
        order_line=line,
        issued_at=timezone.now(),
    )
    LicenceKey.objects.bulk_create(
        LicenceKey(product=product, key=f"OFFICE-NEW-{n:04d}-XYZ{n}") for n in range(pool)
    )
    return order, key


def _state(order) -> tuple:
    """Everything replacing a key may change."""
    keys = LicenceKey.objects.filter(product__in=order.lines.values("product")).order_by("id")
    return (
        list(keys.values_list("pk", "status", "order_line_id", "issued_at", "replaced_by_id")),
        OrderEvent.objects.filter(order=order).count(),
        StaffChange.objects.count(),
        OutboxMessage.objects.count(),
        len(mail.outbox),
        list(Product.objects.order_by("pk").values_list("pk", "key_pool_low_since")),
    )


def _manager():
    return StaffFactory(role="store manager")


def _refused(key, order, message: str, *, reason: str = "Does not activate") -> None:
    """Replacing `key` is refused with exactly `message`, and nothing changed."""
    before = _state(order)
    with pytest.raises(KeyReplacementError) as refused:
        replace_licence_key(key, acting_user=_manager(), reason=reason)
    assert str(refused.value) == message
    assert _state(order) == before


# --- The service ---------------------------------------------------------------------------


def test_the_store_manager_replaces_an_issued_key_with_the_next_in_the_pool(
    django_capture_on_commit_callbacks,
):
    # given a completed order whose key does not activate, and two keys in the pool
    order, old = _issued()
    first, second = LicenceKey.objects.filter(status=LicenceKeyStatus.AVAILABLE).order_by("id")
    manager = _manager()
    # when the store manager replaces it
    with django_capture_on_commit_callbacks(execute=True):
        new = replace_licence_key(old, acting_user=manager, reason="  Does not activate  ")
    # then the old key is revoked for good and points to the new one, the first key of the pool
    # is issued to the same line, the other stays in the pool
    old.refresh_from_db()
    assert (old.status, old.order_line_id, old.replaced_by_id) == (
        LicenceKeyStatus.REVOKED,
        old.order_line_id,
        first.pk,
    )
    new.refresh_from_db()
    assert new.pk == first.pk
    assert (new.status, new.order_line_id, new.replaced_by_id) == (
        LicenceKeyStatus.ISSUED,
        old.order_line_id,
        None,
    )
    assert new.issued_at is not None and new.issued_at >= old.issued_at
    assert LicenceKey.objects.get(pk=second.pk).status == LicenceKeyStatus.AVAILABLE
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED
    # the history and the audit trail say who replaced which key, and why (the reason trimmed)
    event = OrderEvent.objects.get(order=order, kind="key_replaced")
    assert (event.actor, event.message) == (
        manager,
        "Licence key …BDCC of Office replaced by …XYZ0: Does not activate",
    )
    audit = StaffChange.objects.get(action="replace licence key")
    assert (audit.actor, audit.object_id, audit.changes, audit.detail) == (
        manager,
        str(order.pk),
        {"licence_key": ["…BDCC", "…XYZ0"]},
        f"key {old.pk} replaced by key {new.pk}: Does not activate",
    )
    # the customer is emailed once through the outbox: the new key, never the old one
    assert list(
        OutboxMessage.objects.filter(handler=EMAIL_TASK).values_list("args", flat=True)
    ) == [[new.pk]]
    (email,) = mail.outbox
    assert email.to == [order.email]
    assert email.subject == f"Your new licence key for order {order.number}"
    assert new.key in email.body
    assert old.key not in email.body
    # the pool still holds a key above its threshold: no alert
    assert OutboxMessage.objects.filter(handler=POOL_LOW_TASK).count() == 0


def test_a_key_of_a_paid_order_whose_goods_wait_to_ship_is_replaced():
    # given a paid order (goods still to ship) whose key is issued
    order, old = _issued(status=OrderStatus.PAID)
    # when the key is replaced
    new = replace_licence_key(old, acting_user=_manager(), reason="Leaked on a forum")
    # then the new key is issued and the order stays paid
    old.refresh_from_db()
    assert (old.status, old.replaced_by_id) == (LicenceKeyStatus.REVOKED, new.pk)
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


def test_a_replacement_that_takes_the_pool_below_its_threshold_alerts_the_managers_once():
    # given a pool of 2 keys that alerts below 2
    order, old = _issued(pool=2, threshold=2)
    # when a key is replaced (1 left)
    new = replace_licence_key(old, acting_user=_manager(), reason="Does not activate")
    # then the product is reported low once
    assert list(
        OutboxMessage.objects.filter(handler=POOL_LOW_TASK).values_list("args", flat=True)
    ) == [[[new.product_id]]]
    assert Product.objects.get(pk=new.product_id).key_pool_low_since is not None


@pytest.mark.parametrize("status", [LicenceKeyStatus.AVAILABLE, LicenceKeyStatus.RESERVED])
def test_a_key_not_issued_is_not_replaced(status):
    # given a key available in the pool, or reserved for an order not yet paid
    order, issued = _issued()
    key = LicenceKey.objects.filter(status=LicenceKeyStatus.AVAILABLE).order_by("id").first()
    if status == LicenceKeyStatus.RESERVED:
        LicenceKey.objects.filter(pk=key.pk).update(status=status, order_line=issued.order_line)
    key.refresh_from_db()
    label = "Available" if status == LicenceKeyStatus.AVAILABLE else "Reserved for an order"
    # when staff try to replace it, then it is refused with the reason, changing nothing
    _refused(
        key,
        order,
        f"Licence key {key.masked} is not issued to a customer (it is: {label}), so it cannot "
        "be replaced. Nothing was changed.",
    )


@pytest.mark.parametrize(
    "status, label",
    [
        (OrderStatus.REFUNDED, "Refunded"),
        (OrderStatus.CANCELLED, "Cancelled"),
        (OrderStatus.NEEDS_REVIEW, "Under review"),
    ],
)
def test_a_key_of_an_order_refunded_cancelled_or_under_review_is_not_replaced(status, label):
    # given an issued key whose order is no longer paid (or waits for a staff decision)
    order, old = _issued(status=status)
    # when staff try to replace it, then it is refused naming the order's state, nothing changed
    _refused(
        old,
        order,
        f"Order {order.number} is {label}: only a key of a paid or completed order can be "
        "replaced. Nothing was changed.",
    )


def test_an_empty_pool_refuses_the_replacement():
    # given an issued key and no key left in its product's pool
    order, old = _issued(pool=0)
    # when staff try to replace it, then it is refused, saying what to do, nothing changed
    _refused(
        old,
        order,
        "No licence key of Office is left in the pool. Nothing was changed: import keys and "
        "try again.",
    )


@pytest.mark.parametrize(
    "reason, message",
    [
        ("", "Say why the key is replaced. Nothing was changed."),
        ("   \n ", "Say why the key is replaced. Nothing was changed."),
        ("x" * 201, "The reason is too long (at most 200 characters). Nothing was changed."),
    ],
)
def test_a_blank_or_overlong_reason_refuses_the_replacement(reason, message):
    # given an issued key with keys in the pool
    order, old = _issued()
    # when staff give no reason (or one too long), then it is refused, nothing changed
    _refused(old, order, message, reason=reason)


def test_a_second_replacement_of_the_same_key_changes_nothing():
    # given a key replaced once
    order, old = _issued()
    replace_licence_key(old, acting_user=_manager(), reason="Does not activate")
    # when it is replaced again (a stale page: the caller still holds the issued key), then it
    # is refused, the key being revoked already, and nothing changed
    _refused(
        old,
        order,
        "Licence key …BDCC is not issued to a customer (it is: Revoked), so it cannot be "
        "replaced. Nothing was changed.",
    )


# --- The customer's email and order page -----------------------------------------------------


@pytest.mark.parametrize(
    "language, subject, words",
    [
        (
            "en",
            "Your new licence key for order {number}",
            "We replaced your licence key …BDCC for Office (order {number}).",
        ),
        (
            "ms",
            "Kunci lesen baharu anda untuk pesanan {number}",
            "Kami telah menggantikan kunci lesen anda …BDCC untuk Pejabat (pesanan {number}).",
        ),
    ],
)
def test_the_customer_is_emailed_the_new_key_once_in_their_language(
    language, subject, words, django_capture_on_commit_callbacks
):
    # given a Malay- (or English-) speaking customer's issued key
    order, old = _issued(language=language)
    # when it is replaced
    with django_capture_on_commit_callbacks(execute=True):
        new = replace_licence_key(old, acting_user=_manager(), reason="Does not activate")
    # then one email, text and HTML, names the new key and the old one only by its end
    (email,) = mail.outbox
    assert email.subject == subject.format(number=order.number)
    html = email.alternatives[0][0]
    for body in (email.body, html):
        assert words.format(number=order.number) in body
        assert new.key in body
        assert old.key not in body
    assert f'<html lang="{language}"' in html
    # and running its outbox handler again sends nothing more
    from orders.tasks import send_key_replaced_email_task

    assert send_key_replaced_email_task(new.pk) is False
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    "language, replaced_words, copy_label",
    [
        ("en", "replaced: no longer valid", 'data-copy-label="Copy"'),
        ("ms", "digantikan: tidak sah lagi", 'data-copy-label="Salin"'),
    ],
)
def test_the_order_page_shows_the_new_key_usable_and_the_old_one_replaced(
    language, replaced_words, copy_label
):
    # given a replaced key
    order, old = _issued(language=language)
    new = replace_licence_key(old, acting_user=_manager(), reason="Does not activate")
    client = Client()
    client.force_login(order.user)
    client.cookies["django_language"] = language
    # when the customer opens the order
    page = client.get(reverse("orders:detail", args=[order.number])).content.decode()
    # then the new key is shown to copy, the old one struck out as replaced (never in full)
    assert f'<code class="licence-key copy-key">{new.key}</code>' in page
    assert copy_label in page
    assert f'<li class="revoked-key"><del>{old.masked}</del> {replaced_words}</li>' in page
    assert old.key not in page


def test_a_refund_after_a_replacement_still_labels_the_replaced_key_replaced():
    # given a replaced key whose order is then refunded (the new key revoked by the refund)
    order, old = _issued()
    new = replace_licence_key(old, acting_user=_manager(), reason="Does not activate")
    LicenceKey.objects.filter(pk=new.pk).update(status=LicenceKeyStatus.REVOKED)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.REFUNDED)
    client = Client()
    client.force_login(order.user)
    # when the customer opens the order
    page = client.get(reverse("orders:detail", args=[order.number])).content.decode()
    # then each revoked key says why it stopped working
    assert f"<del>{old.masked}</del> replaced: no longer valid" in page
    assert f"<del>{new.masked}</del> revoked after the refund: no longer valid" in page


# --- Admin ------------------------------------------------------------------------------------


def _url(key) -> str:
    return reverse("admin:orders_licencekey_replace", args=[key.pk])


def test_the_store_manager_replaces_a_key_from_admin_once(django_capture_on_commit_callbacks):
    # given a completed order's issued key and two keys in the pool
    order, old = _issued()
    manager, client = staff_client("store manager")
    # when the manager opens the key's and the order's admin pages, then both offer replacing
    key_page = client.get(reverse("admin:orders_licencekey_change", args=[old.pk])).content
    assert f'<a href="{_url(old)}">Replace this key</a>' in key_page.decode()
    order_page = client.get(reverse("admin:orders_order_change", args=[order.pk])).content
    assert f'<a href="{_url(old)}">Replace key …BDCC</a>' in order_page.decode()
    # when the manager opens the confirmation page, then it says what replacing does, changing
    # nothing
    before = _state(order)
    page = client.get(_url(old)).content.decode()
    assert (
        f"Replace licence key …BDCC of Office, issued to order {order.number}, when it does "
        "not activate or has leaked." in page
    )
    assert "Key …BDCC is revoked: it no longer works and never goes back to the pool." in page
    assert "the customer is emailed it" in page
    assert "2 keys are available in the pool now" in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert 'value="Replace this key"' in page
    assert _state(order) == before
    # when the manager confirms without a reason, then the form asks for one, nothing changed
    blank = client.post(_url(old), {"reason": "  "})
    assert blank.status_code == 200
    assert "This field is required." in blank.content.decode()
    assert _state(order) == before
    # when the manager confirms with a reason
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_url(old), {"reason": "Does not activate"}, follow=True)
    # then the key is replaced and the manager is back on the order
    new = LicenceKey.objects.get(replaces=old)
    assert response.redirect_chain == [(reverse("admin:orders_order_change", args=[order.pk]), 302)]
    assert (
        f"Licence key …BDCC replaced by {new.masked}; the customer is emailed it."
        in response.content.decode()
    )
    old.refresh_from_db()
    assert (old.status, old.replaced_by_id) == (LicenceKeyStatus.REVOKED, new.pk)
    assert OrderEvent.objects.get(order=order, kind="key_replaced").actor == manager
    assert len(mail.outbox) == 1
    # and a second submit (a double click) is told the key is revoked, changing nothing
    after = _state(order)
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(_url(old), {"reason": "Does not activate"}, follow=True)
    assert again.redirect_chain == [(reverse("admin:orders_order_change", args=[order.pk]), 302)]
    assert (
        "Licence key …BDCC is not issued to a customer (it is: Revoked), so it cannot be "
        "replaced. Nothing was changed." in again.content.decode()
    )
    assert _state(order) == after
    # and the revoked key's pages offer no replacing any more
    key_page = client.get(reverse("admin:orders_licencekey_change", args=[old.pk])).content
    assert _url(old) not in key_page.decode()
    assert 'value="Replace this key"' not in client.get(_url(old)).content.decode()


def test_the_admin_page_says_why_a_key_cannot_be_replaced():
    # given an issued key whose product's pool is empty
    order, old = _issued(pool=0)
    client = staff_client("store manager")[1]
    before = _state(order)
    # when the manager opens the replace page
    page = client.get(_url(old)).content.decode()
    # then it says so and offers no form
    assert "No licence key of Office is left in the pool." in page
    assert 'value="Replace this key"' not in page
    assert _state(order) == before


@pytest.mark.parametrize(
    "role",
    sorted(role for role, held in ROLE_PERMISSIONS.items() if "orders.change_order" not in held),
)
def test_other_roles_are_refused_the_replace_page_and_its_confirmation(role):
    # given an issued key
    order, old = _issued()
    client = staff_client(role)[1]
    before = _state(order)
    # when another role opens the page or posts the confirmation, then 403 in the admin's look
    for response in (client.get(_url(old)), client.post(_url(old), {"reason": "Leaked"})):
        assert response.status_code == 403
        assert 'class="refused"' in response.content.decode()
        assert "store manager" in response.content.decode()
    if "orders.view_order" in ROLE_PERMISSIONS[role]:
        page = client.get(reverse("admin:orders_order_change", args=[order.pk])).content
        assert _url(old) not in page.decode()
    # and nothing changed
    assert _state(order) == before


def test_an_anonymous_visitor_is_sent_to_log_in_and_nothing_changes():
    # given an issued key
    order, old = _issued()
    client = Client()
    before = _state(order)
    # when an anonymous visitor opens the page or posts the confirmation
    for response in (client.get(_url(old)), client.post(_url(old), {"reason": "Leaked"})):
        # then they are sent to the admin's login
        assert response.status_code == 302
        assert response["Location"] == (f"{reverse('admin:login')}?next={_url(old)}")
    # and nothing changed
    assert _state(order) == before


# --- Retention ------------------------------------------------------------------------------


def test_retention_deletes_an_order_of_a_closed_account_with_its_replaced_key():
    # given a replaced key on an order of an account closed long ago
    order, old = _issued()
    new = replace_licence_key(old, acting_user=_manager(), reason="Does not activate")
    AccountClosure.objects.create(user=order.user)
    later = timezone.now() + datetime.timedelta(days=365 * settings.ORDER_RETENTION_YEARS + 3)
    # when retention deletes the account's orders past their years
    gone = delete_orders_of_closed_accounts(now=later, dry_run=False)
    # then the order goes with both keys (the replaced key's link does not hold them back)
    assert gone == [f"order {order.number} of a closed account"]
    assert Order.objects.filter(pk=order.pk).exists() is False
    assert LicenceKey.objects.filter(pk__in=[old.pk, new.pk]).exists() is False
