from django.db.models import Count, Q

from orders.models import LicenceKey, LicenceKeyStatus, Product, ProductKind


def available_units(products: list[Product]) -> dict[int, int]:
    """How many of each product can still be sold: stock for physical goods, keys left in the
    pool for licences. One query for all the licences."""
    licence_ids = [p.pk for p in products if p.kind == ProductKind.LICENCE]
    keys = {}
    if licence_ids:
        keys = dict(
            LicenceKey.objects.filter(product_id__in=licence_ids)
            .values("product_id")
            .annotate(n=Count("id", filter=Q(status=LicenceKeyStatus.AVAILABLE)))
            .values_list("product_id", "n")
        )
    return {
        p.pk: (keys.get(p.pk, 0) if p.kind == ProductKind.LICENCE else p.stock) for p in products
    }
