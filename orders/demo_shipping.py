"""The demo shipping methods of `manage.py seed_catalogue` (idempotent: by zone and name; a
method seeded before it had a Malay name gets it)."""

from .models import ShippingMethod, ShippingZone

# (zone, name, Malay name, price_sen before tax, min_days, max_days)
DEMO_SHIPPING_METHODS = [
    (ShippingZone.PENINSULAR, "Pos Laju standard", "Pos Laju biasa", 800, 2, 4),
    (
        ShippingZone.PENINSULAR,
        "Pos Laju express (next day)",
        "Pos Laju ekspres (hari berikutnya)",
        1500,
        1,
        1,
    ),
    (ShippingZone.EAST, "Pos Laju standard", "Pos Laju biasa", 1500, 3, 6),
    (ShippingZone.EAST, "Pos Laju express", "Pos Laju ekspres", 2500, 2, 3),
    (
        ShippingZone.INTERNATIONAL,
        "Pos Malaysia international (EMS)",
        "Pos Malaysia antarabangsa (EMS)",
        6500,
        5,
        12,
    ),
]


def seed_shipping_methods() -> int:
    """Create the demo methods that are missing; returns how many were created."""
    created = 0
    for position, (zone, name, name_ms, price, min_days, max_days) in enumerate(
        DEMO_SHIPPING_METHODS
    ):
        method, new = ShippingMethod.objects.get_or_create(
            zone=zone,
            name=name,
            defaults={
                "name_ms": name_ms,
                "price_sen": price,
                "min_days": min_days,
                "max_days": max_days,
                "position": position,
            },
        )
        if not new:
            ShippingMethod.objects.filter(pk=method.pk, name_ms="").update(name_ms=name_ms)
        created += new
    return created
