"""Products and licence-key pools (store managers, through admin)."""

import csv
import io

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext as _

from orders.catalogue import bump_catalogue_version
from orders.models import Category, LicenceKey, Product, ProductKind, TaxRate

from .errors import ShopError

MAX_IMPORT_BYTES = 2 * 1024 * 1024
MAX_KEY_LENGTH = 200


class KeyImportError(ShopError):
    pass


@transaction.atomic
def save_product(product: Product, *, acting_user: AbstractBaseUser | None) -> Product:
    """Save a product from admin; cached listings are refreshed after commit."""
    product.save()
    bump_catalogue_version()
    return product


@transaction.atomic
def save_category(category: Category, *, acting_user: AbstractBaseUser | None) -> Category:
    """Save a category from admin; cached listings (which show its name) refresh after commit."""
    category.save()
    bump_catalogue_version()
    return category


@transaction.atomic
def save_tax_rate(rate: TaxRate, *, acting_user: AbstractBaseUser | None) -> TaxRate:
    """Change a tax rate from admin; carts show it after commit, new orders use it at once."""
    rate.save()
    bump_catalogue_version()
    return rate


def _read_keys(data: bytes) -> list[str]:
    if len(data) > MAX_IMPORT_BYTES:
        raise KeyImportError(_("The file is larger than 2 MB."))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise KeyImportError(_("The file is not UTF-8 text (CSV).")) from error
    keys = []
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
        keys.append(cells[0])
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
    keys = _read_keys(data)
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
    bump_catalogue_version()
    return len(keys)
