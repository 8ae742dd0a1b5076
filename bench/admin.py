"""make bench, the back office: a store manager's admin pages (home with its counts and charts,
the orders list, a search by customer name, the staff changes list), queries and in-process
time per page with 10 and then 1,000 paid orders in the store. `bench/run.py` calls `report()`."""

import datetime
import time
import uuid

SIZES = (10, 1000)
REPEAT = 5


def _orders(n: int, tag: str) -> None:
    from django.utils import timezone

    from accounts.models import User
    from orders.models import Order, OrderLine, OrderStatus, PaymentAttempt, Product

    product = Product.objects.order_by("id").first()
    users = User.objects.bulk_create(
        User(email=f"bench-admin-{tag}-{i}@example.com", full_name=f"Bench Customer {i}")
        for i in range(min(n, 100))
    )
    now = timezone.now()
    orders = Order.objects.bulk_create(
        Order(
            user=users[i % len(users)],
            email=users[i % len(users)].email,
            status=OrderStatus.FULFILLED if i % 3 else OrderStatus.PAID,
            billing_address="1 Jalan Ampang",
            subtotal_sen=10000,
            tax_sen=800,
            total_sen=10800,
            placed_at=now - datetime.timedelta(hours=i % 700),
            paid_at=now - datetime.timedelta(hours=i % 700),
            reserved_until=now,
        )
        for i in range(n)
    )
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            product=product,
            product_name=product.name,
            kind=product.kind,
            unit_price_sen=10000,
            quantity=1,
            tax_rate_percent=8,
            tax_sen=800,
        )
        for order in orders
    )
    PaymentAttempt.objects.bulk_create(
        PaymentAttempt(
            order=order,
            merchant_reference=f"B{tag}{i:07d}",
            idempotency_key=uuid.uuid4(),
            amount_sen=10800,
            currency="MYR",
        )
        for i, order in enumerate(orders)
    )


def _manager():
    from allauth.mfa.models import Authenticator
    from django.contrib.auth.models import Group

    from accounts.models import User
    from accounts.roles import STORE_MANAGER

    user, _ = User.objects.get_or_create(
        email="bench-manager@example.com", defaults={"full_name": "Bench Manager", "is_staff": True}
    )
    user.groups.add(Group.objects.get(name=STORE_MANAGER))
    Authenticator.objects.get_or_create(
        user=user, type=Authenticator.Type.TOTP, defaults={"data": {"secret": "x"}}
    )
    return user


def measure() -> list[tuple[str, int, float, int, float]]:
    """(page, queries@10, ms@10, queries@1000, ms@1000) — ms: best of REPEAT in-process."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from orders.models import Order

    pages = [
        ("admin home", "/admin/"),
        ("orders list", "/admin/orders/order/"),
        ("orders search", "/admin/orders/order/?q=customer+5"),
        ("staff changes", "/admin/core/staffchange/"),
    ]
    client = Client()
    client.force_login(_manager())
    results: dict[str, list] = {label: [] for label, _ in pages}
    have = Order.objects.count()
    for size in SIZES:
        if have < size:
            _orders(size - have, tag=f"{size}{int(time.time())}")
            have = size
        for label, path in pages:
            client.get(path)  # warm
            with CaptureQueriesContext(connection) as queries:
                status = client.get(path).status_code
            assert status == 200, (path, status)
            count = len(queries)  # read now: the next request clears the connection's log
            best = float("inf")
            for _ in range(REPEAT):
                start = time.perf_counter()
                client.get(path)
                best = min(best, time.perf_counter() - start)
            results[label] += [count, best * 1000]
    return [(label, *values) for label, values in results.items()]


def report() -> None:
    rows = measure()
    print(f"\nback office (store manager, in-process, best of {REPEAT}):")
    print(f"{'page':<16}{'q@10':>6}{'ms@10':>8}{'q@1000':>8}{'ms@1000':>9}")
    for label, q_small, ms_small, q_large, ms_large in rows:
        verdict = "" if q_small == q_large else " QUERIES GROW"
        print(f"{label:<16}{q_small:>6}{ms_small:>8.1f}{q_large:>8}{ms_large:>9.1f}{verdict}")
