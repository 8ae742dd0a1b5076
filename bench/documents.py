"""Verification documents in `make bench` (called from bench/run.py after Django is set up):

- store-and-encrypt throughput of privacy.vault (chunked AES-256-GCM, streamed into the private
  storage) as a ratio to plain one-shot AES-256-GCM of the same bytes written to the same
  storage, in the same run (target >= 0.7);
- peak memory of a fresh process that holds a 10 MB upload, stores it in the vault and reads it
  back (target < 40 MB above the process's start, the upload's own 10 MB included);
- the review queue's query count with 10 and 1,000 pending documents (target: equal, <= 10).

Runs standalone too: `DJANGO_SETTINGS_MODULE=ipmart.settings.bench python bench/documents.py`."""

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
SIZE_MB = 32
ROUNDS = 5


class _RollBack(Exception):
    pass


def throughput() -> tuple[float, float]:
    """(vault MB/s, plain AES-GCM MB/s), best of ROUNDS each, interleaved."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from django.core.files.base import ContentFile
    from django.db import transaction

    from privacy import vault

    data = os.urandom(SIZE_MB * MB)
    storage = vault.document_storage()
    best_vault = best_plain = 0.0
    for _ in range(ROUNDS):
        try:
            with transaction.atomic():
                started = time.perf_counter()
                stored = vault.store(data)
                best_vault = max(best_vault, SIZE_MB / (time.perf_counter() - started))
                vault.delete_blob(stored.storage_name)
                raise _RollBack
        except _RollBack:
            pass
        started = time.perf_counter()
        key = AESGCM.generate_key(bit_length=256)
        ciphertext = AESGCM(key).encrypt(os.urandom(12), data, None)
        name = storage.save("bench-plain", ContentFile(ciphertext))
        best_plain = max(best_plain, SIZE_MB / (time.perf_counter() - started))
        storage.delete(name)
    return best_vault, best_plain


MEMORY_SCRIPT = """
import os, django
django.setup()
from django.db import transaction
from privacy import vault
def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1])
warm = vault.store(b"warm-up")  # imports, the database connection
vault.delete_blob(warm.storage_name)
warm.delete()
start = status("VmRSS:")
open("/proc/self/clear_refs", "w").write("5")  # the peak (VmHWM) starts again from here
upload = os.urandom(10 * 1024 * 1024)          # the upload handler's in-memory buffer
with transaction.atomic():
    stored = vault.store(upload)
    total = sum(len(chunk) for chunk in vault.open_chunks(stored))
    vault.delete_blob(stored.storage_name)
    transaction.set_rollback(True)
peak = status("VmHWM:")
assert total == len(upload)
print((peak - start) / 1024)
"""


def peak_memory_mb() -> float:
    result = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        check=True,
    )
    return float(result.stdout.strip().splitlines()[-1])


def _fill_queue(orders: int) -> None:
    from django.utils import timezone

    from accounts.models import User
    from orders.models import (
        DocumentKind,
        Order,
        OrderEvent,
        OrderEventKind,
        OrderStatus,
        VerificationDocument,
    )

    user = User.objects.create_user(f"bench-held-{orders}@example.com", full_name="Bench")
    now = timezone.now()
    made = Order.objects.bulk_create(
        [
            Order(
                user=user,
                email=user.email,
                status=OrderStatus.ON_HOLD,
                billing_address="x",
                subtotal_sen=100,
                tax_sen=8,
                total_sen=108,
                reserved_until=now,
                paid_at=now,
                number=f"IPM-B{orders:03d}-{i:04d}",
            )
            for i in range(orders)
        ]
    )
    OrderEvent.objects.bulk_create(
        [OrderEvent(order=o, kind=OrderEventKind.HELD, message="bench") for o in made]
    )
    VerificationDocument.objects.bulk_create(
        [
            VerificationDocument(order=o, kind=kind, content_type="image/png")
            for o in made
            for kind in (DocumentKind.CARD_STATEMENT, DocumentKind.IDENTITY)
        ]
    )


def queue_queries() -> tuple[int, int]:
    """Queries of the reviewer's queue page with 10 and 1,000 pending documents (rolled back)."""
    from allauth.mfa.models import Authenticator
    from django.contrib.auth.models import Group
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from accounts.roles import VERIFICATION_REVIEWER

    counts = []
    try:
        with transaction.atomic():
            reviewer = User.objects.create_user(
                "bench-reviewer@example.com", full_name="Bench", is_staff=True
            )
            reviewer.groups.add(Group.objects.get(name=VERIFICATION_REVIEWER))
            Authenticator.objects.create(
                user=reviewer, type=Authenticator.Type.TOTP, data={"secret": "x"}
            )
            client = Client()
            client.force_login(reviewer)
            url = "/admin/orders/orderawaitingverification/"
            for orders in (5, 495):  # 10, then 1,000 pending documents in all
                _fill_queue(orders)
                client.get(url)
                with CaptureQueriesContext(connection) as queries:
                    assert client.get(url).status_code == 200
                counts.append(len(queries))
            raise _RollBack
    except _RollBack:
        pass
    return counts[0], counts[1]


def report() -> None:
    vault_mbs, plain_mbs = throughput()
    ratio = vault_mbs / plain_mbs
    memory = peak_memory_mb()
    small, large = queue_queries()
    ok = lambda good: "ok" if good else "LOW"  # noqa: E731
    print("verification documents:")
    print(
        f"  store+encrypt {SIZE_MB} MB: vault {vault_mbs:.0f} MB/s, plain AES-GCM {plain_mbs:.0f} MB/s,"
        f" ratio {ratio:.3f} (target >= 0.7) {ok(ratio >= 0.7)}"
    )
    print(
        f"  peak memory, 10 MB upload stored and read back: +{memory:.1f} MB (target < 40) {ok(memory < 40)}"
    )
    print(
        f"  review queue: {small} queries with 10 pending documents, {large} with 1,000"
        f" (target: equal, <= 10) {ok(small == large and large <= 10)}"
    )


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ipmart.settings.bench")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    report()
