"""Privacy measurements (issue 10), printed by `make bench` and runnable alone:

    DATABASE_URL=... python -m bench.privacy

For a customer with 10 and with 1,000 paid orders (each with a line, a payment attempt and a
gateway webhook): the time and query count to build their archive, to close their account, and
the privacy centre's query count. Each size runs in a transaction that is rolled back."""

import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ipmart.settings.bench")
sys.path.insert(0, str(ROOT))

SIZES = (10, 1000)


class _Rollback(Exception):
    pass


def _customer_with_orders(count: int):
    from django.utils import timezone

    from accounts.models import Address, User
    from orders.models import (
        Category,
        Order,
        OrderLine,
        PaymentAttempt,
        Product,
        WebhookEvent,
    )

    tag = uuid.uuid4().hex[:8]
    user = User.objects.create_user(f"bench-{tag}@example.com", "x" * 16, full_name="Bench Person")
    Address.objects.create(
        user=user, full_name="Bench Person", line1="1 Jalan", city="KL", postcode="50000"
    )
    category = Category.objects.create(name=f"bench {tag}", slug=f"bench-{tag}")
    product = Product.objects.create(
        kind="physical", name="Bench thing", slug=f"bench-{tag}", category=category, price_sen=100
    )
    now = timezone.now()
    orders = Order.objects.bulk_create(
        Order(
            user=user,
            email=user.email,
            status="fulfilled",
            billing_address="Bench Person\n1 Jalan",
            shipping_address="Bench Person\n1 Jalan",
            subtotal_sen=100,
            tax_sen=8,
            total_sen=108,
            reserved_until=now,
            paid_at=now,
        )
        for _ in range(count)
    )
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            product=product,
            product_name="Bench thing",
            kind="physical",
            unit_price_sen=100,
            quantity=1,
            tax_rate_percent=8,
            tax_sen=8,
        )
        for order in orders
    )
    attempts = PaymentAttempt.objects.bulk_create(
        PaymentAttempt(
            order=order,
            merchant_reference=f"B{tag}{n:06d}",
            idempotency_key=uuid.uuid4(),
            amount_sen=108,
            currency="MYR",
            status="paid",
        )
        for n, order in enumerate(orders)
    )
    WebhookEvent.objects.bulk_create(
        WebhookEvent(
            event_id=f"bench-{tag}-{n}",
            event_type="payment.captured",
            key_id="k",
            payload={
                "payment": {
                    "paymentOutput": {
                        "references": {"merchantReference": attempt.merchant_reference},
                        "cardPaymentMethodSpecificOutput": {
                            "card": {"cardholderName": "Bench Person"}
                        },
                    }
                }
            },
        )
        for n, attempt in enumerate(attempts)
    )
    return user


def _timed(function):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = function()
        elapsed = time.perf_counter() - started
    return result, elapsed * 1000, len(queries)


def _measure_one(size: int) -> str:
    from django.test import Client

    from privacy.exports import build_archive
    from privacy.rights import close_account

    user = _customer_with_orders(size)
    client = Client()
    client.force_login(user)
    client.get("/account/privacy/")  # the first page of a session stores what it learnt
    _, _, centre_queries = _timed(lambda: client.get("/account/privacy/"))
    archive, build_ms, build_queries = _timed(lambda: build_archive(user))
    _, close_ms, close_queries = _timed(lambda: close_account(user))
    return (
        f"privacy @{size} orders: archive {len(archive) / 1024:.0f} KiB built in "
        f"{build_ms:.0f} ms ({build_queries} queries); closure {close_ms:.0f} ms "
        f"({close_queries} queries); privacy centre {centre_queries} queries"
    )


def measure() -> list[str]:
    from django.db import transaction

    lines = []
    for size in SIZES:
        try:
            with transaction.atomic():
                lines.append(_measure_one(size))
                raise _Rollback
        except _Rollback:
            pass
    return lines


if __name__ == "__main__":
    import django

    django.setup()
    print("\n".join(measure()))
