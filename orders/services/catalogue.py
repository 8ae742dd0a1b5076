"""Products and licence-key pools (store managers, through admin)."""

import csv
import io
import re
import secrets
from collections.abc import Iterable

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from ipmart.core.audit import record_staff_change, save_with_trail
from ipmart.core.money import format_ringgit
from ipmart.core.outbox import enqueue
from orders.catalogue import bump_catalogue_version
from orders.images import image_format, make_renditions
from orders.models import (
    Category,
    LicenceKey,
    LicenceKeyStatus,
    Product,
    ProductImage,
    ProductKind,
    TaxRate,
)
from privacy.intake import CleanFile

from .errors import ShopError

MAX_IMPORT_BYTES = 2 * 1024 * 1024
MAX_KEY_LENGTH = 200
# Without a product's own pattern a key is letters, digits and dashes (no spaces, no "!").
DEFAULT_KEY_PATTERN = r"[A-Za-z0-9][A-Za-z0-9-]*"

PRODUCT_AUDITED_FIELDS = [
    "name",
    "name_ms",
    "slug",
    "kind",
    "category",
    "summary",
    "summary_ms",
    "description",
    "description_ms",
    "activation_notes",
    "activation_notes_ms",
    "featured",
    "price_sen",
    "stock",
    "is_active",
    "key_pattern",
    "key_low_threshold",
]


class KeyImportError(ShopError):
    pass


@transaction.atomic
def save_product(product: Product, *, acting_user: AbstractBaseUser | None) -> Product:
    """Save a product from admin, recording each changed field (price in ringgit) in the staff
    audit trail; cached listings are refreshed after commit."""
    save_with_trail(
        product,
        acting_user=acting_user,
        fields=PRODUCT_AUDITED_FIELDS,
        formatters={
            "price_sen": format_ringgit,
            **{
                name: _shorten
                for name in (
                    "description",
                    "description_ms",
                    "activation_notes",
                    "activation_notes_ms",
                )
            },
        },
    )
    bump_catalogue_version()
    return product


def _shorten(text: str) -> str:
    return text[:80]


@transaction.atomic
def save_category(category: Category, *, acting_user: AbstractBaseUser | None) -> Category:
    """Save a category from admin (audited); cached listings (which show its name) refresh
    after commit."""
    save_with_trail(
        category, acting_user=acting_user, fields=["name", "name_ms", "slug", "position"]
    )
    bump_catalogue_version()
    return category


def add_product_image(
    product: Product,
    *,
    clean: CleanFile,
    alt: str,
    alt_ms: str = "",
    position: int = 0,
    acting_user: AbstractBaseUser | None,
) -> ProductImage:
    """Add an image to a product. `clean` has passed `privacy.intake.validate_upload` (decoded
    safely, re-encoded without metadata); it is scaled to the rendition widths and stored
    through the default storage under MEDIA (files first, then the row: a failed transaction
    deletes the files). Audited; cached pages refresh after commit."""
    renditions = make_renditions(clean.content)
    stem = f"products/{product.pk}/{secrets.token_hex(8)}"
    fmt = image_format()
    saved: list[str] = []
    try:
        for rendition in renditions:
            saved.append(
                default_storage.save(
                    f"{stem}-{rendition.width}.{fmt}", ContentFile(rendition.content)
                )
            )
        with transaction.atomic():
            largest = renditions[-1]
            image = ProductImage.objects.create(
                product=product,
                position=position,
                alt=alt,
                alt_ms=alt_ms,
                stem=stem,
                format=fmt,
                width=largest.width,
                height=largest.height,
                widths=[r.width for r in renditions],
            )
            record_staff_change(
                acting_user,
                product,
                action="add image",
                changes={"images": ["", f"{len(renditions)} widths, alt: {alt[:60]}"]},
            )
            bump_catalogue_version()
    except BaseException:
        for name in saved:
            default_storage.delete(name)
        raise
    return image


@transaction.atomic
def save_product_image(image: ProductImage, *, acting_user: AbstractBaseUser | None) -> None:
    """Change an image's alt texts or position (audited)."""
    save_with_trail(image, acting_user=acting_user, fields=["alt", "alt_ms", "position"])
    bump_catalogue_version()


@transaction.atomic
def delete_product_image(image: ProductImage, *, acting_user: AbstractBaseUser | None) -> None:
    """Remove an image and, after commit, its files."""
    names = [image.file_name(width) for width in image.widths]
    record_staff_change(
        acting_user,
        image.product,
        action="remove image",
        changes={"images": [f"alt: {image.alt[:60]}", ""]},
    )
    image.delete()
    bump_catalogue_version()
    transaction.on_commit(lambda: _delete_files(names))


def _delete_files(names: list[str]) -> None:
    for name in names:
        default_storage.delete(name)


@transaction.atomic
def save_tax_rate(rate: TaxRate, *, acting_user: AbstractBaseUser | None) -> TaxRate:
    """Change a tax rate from admin (audited: old → new rate); carts show it after commit, new
    orders use it at once."""
    save_with_trail(rate, acting_user=acting_user, fields=["name", "rate_percent"])
    bump_catalogue_version()
    return rate


def _key_pattern(product: Product) -> re.Pattern[str]:
    try:
        return re.compile(product.key_pattern or DEFAULT_KEY_PATTERN)
    except re.error as error:
        raise KeyImportError(
            _("The product's licence key pattern is not a valid regular expression.")
        ) from error


def _read_keys(data: bytes, pattern: re.Pattern[str]) -> list[str]:
    if len(data) > MAX_IMPORT_BYTES:
        raise KeyImportError(_("The file is larger than 2 MB."))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise KeyImportError(_("The file is not UTF-8 text (CSV).")) from error
    keys, bad = [], []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [cell.strip() for cell in row if cell.strip()]
        if not cells:
            continue
        if number == 1 and cells[0].lower() in {"key", "licence key", "license key"}:
            continue  # header row
        if len(cells) != 1:
            raise KeyImportError(
                _("Line %(n)d has more than one value; put one key per line.") % {"n": number}
            )
        if len(cells[0]) > MAX_KEY_LENGTH:
            raise KeyImportError(
                _("Line %(n)d is longer than %(max)d characters.")
                % {"n": number, "max": MAX_KEY_LENGTH}
            )
        if not pattern.fullmatch(cells[0]):
            bad.append(number)
            continue
        keys.append(cells[0])
    if bad:
        shown = ", ".join(str(n) for n in bad[:10])
        raise KeyImportError(
            _("Nothing imported: %(n)d line(s) do not match the product's key pattern: %(lines)s.")
            % {"n": len(bad), "lines": shown + ("…" if len(bad) > 10 else "")}
        )
    if not keys:
        raise KeyImportError(_("The file holds no keys."))
    return keys


@transaction.atomic
def import_licence_keys(
    product: Product, *, data: bytes, acting_user: AbstractBaseUser | None
) -> int:
    """Add the keys in a CSV file (one per line, optional "key" header) to a licence product's
    pool. All or nothing: a key repeated in the file or already in the pool refuses the whole
    file with the duplicates named. Returns the number of keys added."""
    if product.kind != ProductKind.LICENCE:
        raise KeyImportError(_("Only software licences have licence keys."))
    keys = _read_keys(data, _key_pattern(product))
    seen, repeated = set(), []
    for key in keys:
        if key in seen:
            repeated.append(key)
        seen.add(key)
    existing = set(
        LicenceKey.objects.filter(product=product, key__in=keys).values_list("key", flat=True)
    )
    duplicates = sorted(set(repeated) | existing)
    if duplicates:
        shown = ", ".join("…" + key[-6:] for key in duplicates[:5])
        more = len(duplicates) - 5
        suffix = _(" (and %(n)d more)") % {"n": more} if more > 0 else ""
        raise KeyImportError(
            _("Nothing imported: %(n)d duplicate key(s): %(keys)s%(more)s.")
            % {"n": len(duplicates), "keys": shown, "more": suffix}
        )
    LicenceKey.objects.bulk_create([LicenceKey(product=product, key=key) for key in keys])
    available = LicenceKey.objects.filter(
        product=product, status=LicenceKeyStatus.AVAILABLE
    ).count()
    if available >= product.key_low_threshold:
        # Filled again: the next time it runs low alerts again.
        Product.objects.filter(pk=product.pk).update(key_pool_low_since=None)
    record_staff_change(
        acting_user,
        product,
        action="import keys",
        changes={"keys available": [str(available - len(keys)), str(available)]},
        detail=f"{len(keys)} licence key(s) imported",
    )
    bump_catalogue_version()
    return len(keys)


def alert_low_key_pools(product_ids: Iterable[int]) -> list[int]:
    """After keys left the pools of `product_ids`: the licence products now below their
    threshold and not yet reported are marked, and one outbox message emails the store managers
    about them. The rows are locked and re-checked, so two checkouts crossing at once report a
    product once. A fixed number of queries however many products. Call inside the transaction
    that took the keys. Returns the products reported."""
    ids = sorted(set(product_ids))
    if not ids:
        return []
    low = list(
        Product.objects.filter(pk__in=ids, kind=ProductKind.LICENCE, key_pool_low_since=None)
        .annotate(
            left=Count("licence_keys", filter=Q(licence_keys__status=LicenceKeyStatus.AVAILABLE))
        )
        .filter(left__lt=F("key_low_threshold"))
        .values_list("pk", flat=True)
    )
    if not low:
        return []
    reported = list(
        Product.objects.select_for_update()
        .filter(pk__in=low, key_pool_low_since=None)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if reported:
        Product.objects.filter(pk__in=reported).update(key_pool_low_since=timezone.now())
        enqueue("orders.tasks.send_key_pool_low_email_task", reported)
    return reported
