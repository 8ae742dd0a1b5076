"""Who may do what with verification documents: every document view and admin page tried by
anonymous, the owner, another customer, each staff role and a superuser; denied openings are
written to the access log; the reviewer sees only the orders awaiting verification. Also: the
review queue runs a fixed number of queries whatever its length."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.roles import ROLE_PERMISSIONS, VERIFICATION_REVIEWER
from orders.models import (
    DocumentKind,
    DocumentStatus,
    Order,
    OrderEvent,
    OrderEventKind,
    OrderStatus,
    VerificationDocument,
)
from privacy.models import AccessAction, AccessLog
from tests.factories import CustomerFactory, OrderFactory, enrolled_in_mfa

from .verification_helpers import (
    held_order,
    identity_png,
    staff,
    statement_pdf,
    upload,
    use_vault_dir,
)

pytestmark = pytest.mark.django_db

ACTORS = [
    "anonymous",
    "owner",
    "other customer",
    "support agent",
    "store manager",
    "marketing manager",
    "verification reviewer",
    "superuser",
]


@pytest.fixture
def case(client, settings, tmp_path):
    use_vault_dir(settings, tmp_path)
    order = held_order()
    client.force_login(order.user)
    upload(client, order, "card_statement", "statement.pdf", statement_pdf())
    client.logout()
    return order, order.documents.get()


def _login(client, actor: str, order):
    if actor == "anonymous":
        return None
    if actor == "owner":
        user = order.user
    elif actor == "other customer":
        user = CustomerFactory()
    elif actor == "superuser":
        user = enrolled_in_mfa(CustomerFactory(is_staff=True, is_superuser=True))
    else:
        user = staff(actor)
    client.force_login(user)
    return user


def _expect(actor: str, allowed: set[str], denied: int = 403) -> int:
    if actor in allowed:
        return 200
    return 302 if actor in ("anonymous", "owner", "other customer") else denied


REVIEWERS = {"verification reviewer", "superuser"}


@pytest.mark.parametrize("actor", ACTORS)
def test_the_queue_and_review_page(client, case, actor):
    order, _ = case
    _login(client, actor, order)
    queue = client.get("/admin/orders/orderawaitingverification/")
    review = client.get(f"/admin/orders/orderawaitingverification/{order.pk}/change/")
    assert queue.status_code == _expect(actor, REVIEWERS)
    assert review.status_code == _expect(actor, REVIEWERS)
    if actor in REVIEWERS:
        assert order.number in queue.content.decode()


@pytest.mark.parametrize("actor", ACTORS)
def test_opening_a_preview(client, case, actor):
    order, document = case
    user = _login(client, actor, order)
    denied_before = AccessLog.objects.filter(action=AccessAction.DENIED).count()
    response = client.get(
        f"/admin/orders/orderawaitingverification/document/{document.pk}/preview/1/"
    )
    assert response.status_code == _expect(actor, REVIEWERS)
    viewed = AccessLog.objects.filter(
        action=AccessAction.VIEWED, target_type="orders.verificationdocument"
    )
    denied = AccessLog.objects.filter(action=AccessAction.DENIED)
    if actor in REVIEWERS:
        assert response.content.startswith(b"\x89PNG")
        assert viewed.get().actor == user
    else:
        assert viewed.count() == 0
        assert b"PNG" not in response.content
        if user is not None and user.is_staff:
            assert denied.count() == denied_before + 1
            assert denied.latest("id").subject == order.user


@pytest.mark.parametrize("actor", ACTORS)
def test_deciding(client, case, actor):
    order, document = case
    _login(client, actor, order)
    response = client.post(
        f"/admin/orders/orderawaitingverification/document/{document.pk}/decide/",
        {"decision": "approve"},
    )
    document.refresh_from_db()
    if actor in REVIEWERS:
        assert response.status_code == 302
        assert document.status == DocumentStatus.APPROVED
    else:
        assert response.status_code == _expect(actor, set())
        assert document.status == DocumentStatus.PENDING


@pytest.mark.parametrize("actor", ACTORS)
def test_document_states_without_content(client, case, actor):
    """Support and managers see that documents exist and their state, never their content."""
    order, document = case
    _login(client, actor, order)
    listing = client.get("/admin/orders/verificationdocument/")
    order_page = client.get(f"/admin/orders/order/{order.pk}/change/")
    seers = {"support agent", "store manager", "superuser"}
    assert listing.status_code == _expect(actor, seers)
    assert order_page.status_code == _expect(actor, seers)
    if actor in seers:
        html = listing.content.decode() + order_page.content.decode()
        assert "Waiting for review" in html
        assert "statement.pdf" not in html
        assert "/preview/" not in html


@pytest.mark.parametrize("actor", ACTORS)
def test_customer_upload_endpoint(client, case, actor):
    order, _ = case
    _login(client, actor, order)
    response = upload(client, order, "identity", "ic.png", identity_png())
    expected = {"anonymous": 302, "owner": 302}.get(actor, 404)
    assert response.status_code == expected
    assert order.documents.count() == (2 if actor == "owner" else 1)


def test_the_reviewer_sees_only_orders_awaiting_verification(client, case):
    order, document = case
    other = OrderFactory(status=OrderStatus.FULFILLED, paid_at=timezone.now())
    client.force_login(staff(VERIFICATION_REVIEWER))
    queue = client.get("/admin/orders/orderawaitingverification/").content.decode()
    assert order.number in queue and other.number not in queue
    assert (
        client.get(f"/admin/orders/orderawaitingverification/{other.pk}/change/").status_code == 404
    )
    for url in [
        "/admin/orders/order/",
        "/admin/accounts/user/",
        f"/admin/orders/order/{order.pk}/change/",
    ]:
        assert client.get(url).status_code == 403, url
    # once the order leaves the queue its documents no longer open for the reviewer
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.FULFILLED)
    response = client.get(
        f"/admin/orders/orderawaitingverification/document/{document.pk}/preview/1/"
    )
    assert response.status_code == 403
    assert AccessLog.objects.filter(action=AccessAction.DENIED).count() == 1


def test_the_reviewer_role_is_least_privilege():
    assert ROLE_PERMISSIONS[VERIFICATION_REVIEWER] == {
        "orders.view_orderawaitingverification",
        "orders.open_verificationdocument",
        "orders.decide_verificationdocument",
    }
    others = [
        p
        for role, perms in ROLE_PERMISSIONS.items()
        if role != VERIFICATION_REVIEWER
        for p in perms
    ]
    assert "orders.open_verificationdocument" not in others
    assert "orders.decide_verificationdocument" not in others


# --- the queue's query count ---------------------------------------------------------------


def _fill_queue(n: int) -> None:
    customer = CustomerFactory()
    orders = Order.objects.bulk_create(
        [
            Order(
                user=customer,
                email=customer.email,
                status=OrderStatus.ON_HOLD,
                billing_address="x",
                subtotal_sen=100,
                tax_sen=8,
                total_sen=108,
                reserved_until=timezone.now(),
                paid_at=timezone.now(),
                number=f"IPM-Q{n:03d}-{i:04d}",
            )
            for i in range(n)
        ]
    )
    OrderEvent.objects.bulk_create(
        [OrderEvent(order=o, kind=OrderEventKind.HELD, message="x") for o in orders]
    )
    VerificationDocument.objects.bulk_create(
        [
            VerificationDocument(order=o, kind=kind, content_type="image/png")
            for o in orders
            for kind in (DocumentKind.CARD_STATEMENT, DocumentKind.IDENTITY)
        ]
    )


def _count_queue(client) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/admin/orders/orderawaitingverification/")
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_the_queue_runs_the_same_queries_with_10_and_200_pending_documents(client):
    client.force_login(staff(VERIFICATION_REVIEWER))
    _fill_queue(5)
    client.get("/admin/orders/orderawaitingverification/")
    small, small_html = _count_queue(client)
    _fill_queue(95)
    large, large_html = _count_queue(client)
    assert small_html.count("Card statement (Waiting for review)") == 5
    assert large_html.count("Card statement (Waiting for review)") == 50  # one page
    assert small == large
    assert large <= 12
