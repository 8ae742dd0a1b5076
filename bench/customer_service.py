"""Customer service measurements for `make bench`: queries and time per request of the agents'
queue, the inquiry page, the FAQ page and a customer's thread, with 10 and 1,000 inquiries.
Everything it creates is rolled back."""

import datetime
import time

SIZES = (10, 1000)


class _RollBack(Exception):
    pass


def _measure(client, path: str, repeat: int = 20) -> tuple[int, float]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(path)  # warm: imports, template loading, the session's one-time work
    with CaptureQueriesContext(connection) as queries:
        status = client.get(path).status_code
    assert status == 200, (path, status)
    count = len(queries)  # now: the requests below reset the connection's query log
    started = time.perf_counter()
    for _ in range(repeat):
        client.get(path)
    return count, (time.perf_counter() - started) / repeat * 1000


def measure() -> dict[str, list[tuple[int, float]]]:
    from allauth.mfa.models import Authenticator
    from django.db import transaction
    from django.test import Client
    from django.utils import timezone

    from accounts.models import User
    from orders.models import Order
    from support.models import Category, Inquiry, Message, Status

    results: dict[str, list[tuple[int, float]]] = {}
    try:
        with transaction.atomic():
            agent = User.objects.create_superuser(email="bench-agent@example.com", password="x")
            Authenticator.objects.create(user=agent, type="totp", data={"secret": "bench"})
            customer = User.objects.create_user(email="bench-customer@example.com", password="x")
            for n in range(20):
                Order.objects.create(
                    user=customer,
                    email=customer.email,
                    billing_address="x",
                    subtotal_sen=1000,
                    tax_sen=80,
                    total_sen=1080,
                    reserved_until=timezone.now(),
                    number=f"IPM-BNCH-{n:04d}",
                )
            made = 0
            for size in SIZES:
                now = timezone.now()
                Inquiry.objects.bulk_create(
                    [
                        Inquiry(
                            reference=f"SUP-BNCH-{i:04d}",
                            user=customer if i % 2 else None,
                            email=f"bench{i}@example.com",
                            category=[Category.ORDER, Category.BILLING, Category.COMPLAINT][i % 3],
                            subject=f"Bench {i}",
                            status=list(Status)[i % 5],
                            first_response_due=now + datetime.timedelta(hours=i % 40 - 20),
                            resolution_due=now + datetime.timedelta(hours=i % 90),
                        )
                        for i in range(made, size)
                    ]
                )
                made = size
                inquiry = Inquiry.objects.filter(user=customer).order_by("id").first()
                if not inquiry.messages.exists():
                    Message.objects.bulk_create(
                        [
                            Message(inquiry=inquiry, kind="customer", channel="web", body=f"m{n}")
                            for n in range(10)
                        ]
                    )
                staff, person = Client(), Client()
                staff.force_login(agent)
                person.force_login(customer)
                for label, client, path in [
                    ("admin queue", staff, "/admin/support/inquiry/"),
                    ("admin inquiry", staff, f"/admin/support/inquiry/{inquiry.pk}/change/"),
                    ("/support/ (FAQ)", person, "/support/"),
                    ("customer thread", person, f"/support/inquiries/{inquiry.reference}/"),
                ]:
                    results.setdefault(label, []).append(_measure(client, path))
            raise _RollBack
    except _RollBack:
        pass
    return results


def report() -> None:
    """Print the table (bench/run.py calls this after its own)."""
    results = measure()
    print(
        f"\ncustomer service: queries and ms per request (Django test client, in process),"
        f" with {SIZES[0]} and {SIZES[1]} inquiries"
    )
    print(f"{'page':<18}{'queries@10':>12}{'queries@1000':>14}{'ms@10':>9}{'ms@1000':>9}")
    for label, ((q_small, ms_small), (q_large, ms_large)) in results.items():
        verdict = "ok" if q_small == q_large else "GROWS"
        print(f"{label:<18}{q_small:>12}{q_large:>14}{ms_small:>9.1f}{ms_large:>9.1f}  {verdict}")
