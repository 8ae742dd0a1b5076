"""Shared pieces of the verification-document tests: a held order, staff with TOTP, the vault
folder, uploads through the real view."""

from pathlib import Path

from django.utils import timezone

from orders.models import LicenceKey, LicenceKeyStatus, OrderStatus, PaymentAttempt
from orders.services.fulfilment import fulfil_order
from privacy.models import VaultFile
from tests.factories import (
    CustomerFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    StaffFactory,
    enrolled_in_mfa,
)
from tests.factories import documents as files

MARKER = "MARKER-PLAINTEXT-4c1d"
BIG_SUBTOTAL = 250_000  # RM 2,500 + tax: above the first-order threshold (RM 2,000)


def staff(role: str | None = None, **kwargs):
    return enrolled_in_mfa(StaffFactory(role=role, **kwargs))


def paid_order(customer=None, *, subtotal_sen: int = BIG_SUBTOTAL, **product_kwargs):
    """A paid licence order (one key reserved, a paid attempt) not yet fulfilled."""
    customer = customer or CustomerFactory()
    order = OrderFactory(
        user=customer,
        status=OrderStatus.PAID,
        paid_at=timezone.now(),
        subtotal_sen=subtotal_sen,
        tax_sen=subtotal_sen * 8 // 100,
    )
    product = ProductFactory(licence=True, keys=1, price_sen=subtotal_sen, **product_kwargs)
    line = OrderLineFactory(order=order, product=product, unit_price_sen=subtotal_sen)
    LicenceKey.objects.filter(product=product).update(
        status=LicenceKeyStatus.RESERVED, order_line=line
    )
    PaymentAttempt.objects.create(
        order=order,
        merchant_reference=f"{order.number}-1",
        idempotency_key=__import__("uuid").uuid4(),
        amount_sen=order.total_sen,
        currency="MYR",
        status="paid",
        gateway_payment_id=f"pay-{order.pk}",
        pays_for_order=True,
    )
    return order


def held_order(customer=None, **kwargs):
    order = paid_order(customer, **kwargs)
    assert fulfil_order(order) is False
    order.refresh_from_db()
    assert order.status == OrderStatus.ON_HOLD
    return order


def statement_pdf() -> bytes:
    return files.text_pdf(["Bank statement", f"{MARKER}", "Card ending **** **** **** 1111"])


def identity_png() -> bytes:
    return files.png(80, 50)


def upload(client, order, kind: str, name: str, data: bytes):
    return client.post(
        f"/orders/{order.number}/documents/",
        {"kind": kind, "file": files.upload(name, data)},
    )


def use_vault_dir(settings, tmp_path) -> Path:
    """Point the vault and Django's upload temp folder at fresh folders (each test module
    wraps this in a `vault_dir` fixture)."""
    settings.DOCUMENT_STORAGE_DIR = tmp_path / "vault"
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "upload-tmp")
    (tmp_path / "upload-tmp").mkdir()
    return tmp_path / "vault"


def stored_files(vault_dir: Path) -> list[Path]:
    return sorted(p for p in vault_dir.rglob("*") if p.is_file()) if vault_dir.exists() else []


def nothing_stored(vault_dir: Path, temp_dir: str) -> bool:
    return (
        stored_files(vault_dir) == []
        and VaultFile.objects.count() == 0
        and list(Path(temp_dir).iterdir()) == []
    )
