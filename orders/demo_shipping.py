"""The demo shipping methods of `manage.py seed_catalogue` (idempotent: by zone and name)."""

from .models import ShippingMethod, ShippingZone

# (zone, name, price_sen before tax, min_days, max_days)
DEMO_SHIPPING_METHODS = [
    (ShippingZone.PENINSULAR, "Pos Laju standard", 800, 2, 4),
    (ShippingZone.PENINSULAR, "Pos Laju express (next day)", 1500, 1, 1),
    (ShippingZone.EAST, "Pos Laju standard", 1500, 3, 6),
    (ShippingZone.EAST, "Pos Laju express", 2500, 2, 3),
    (ShippingZone.INTERNATIONAL, "Pos Malaysia international (EMS)", 6500, 5, 12),
]


def seed_shipping_methods() -> int:
    """Create the demo methods that are missing; returns how many were created."""
    created = 0
    for position, (zone, name, price, min_days, max_days) in enumerate(DEMO_SHIPPING_METHODS):
        _method, new = ShippingMethod.objects.get_or_create(
            zone=zone,
            name=name,
            defaults={
                "price_sen": price,
                "min_days": min_days,
                "max_days": max_days,
                "position": position,
            },
        )
        created += new
    return created
