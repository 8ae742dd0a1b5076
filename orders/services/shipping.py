"""Shipping methods, as store managers keep them in admin (audited)."""

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction

from ipmart.core.audit import save_with_trail
from ipmart.core.money import format_ringgit
from orders.catalogue import bump_catalogue_version
from orders.models import ShippingMethod

SHIPPING_METHOD_AUDITED_FIELDS = [
    "zone",
    "name",
    "price_sen",
    "min_days",
    "max_days",
    "position",
    "is_active",
]


@transaction.atomic
def save_shipping_method(
    method: ShippingMethod, *, acting_user: AbstractBaseUser | None
) -> ShippingMethod:
    """Create or change a shipping method from admin, recording each changed field (price in
    ringgit) in the staff audit trail. The row is locked first, so an order being placed with
    the old price finishes before the new one applies; carts and checkout show the change after
    commit (the catalogue version), new orders read it at once."""
    if method.pk:
        ShippingMethod.objects.select_for_update().filter(pk=method.pk).first()
    save_with_trail(
        method,
        acting_user=acting_user,
        fields=SHIPPING_METHOD_AUDITED_FIELDS,
        formatters={"price_sen": format_ringgit},
    )
    bump_catalogue_version()
    return method
