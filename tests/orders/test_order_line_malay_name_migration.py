"""Migration orders/0016 gives lines already placed the Malay name of their product when the
product still carries the English name they were bought under; a renamed product's lines stay
English only (their Malay name then is not what was bought)."""

import pytest

from tests.factories import OrderFactory, ProductFactory
from tests.migrations import migrate, migrated_back

BEFORE = [("orders", "0015_licence_key_revoked_label")]
AFTER = [("orders", "0016_order_line_malay_name")]


@pytest.mark.django_db(transaction=True)
def test_lines_get_the_malay_name_of_a_product_not_renamed_since():
    # given lines as the old code wrote them: English names only
    kept = ProductFactory(name="Security key", name_ms="Kunci keselamatan")
    renamed = ProductFactory(name="Mouse 2", name_ms="Tetikus 2")
    untranslated = ProductFactory(name="Cable", name_ms="")
    # (orders made at the latest schema: their rows outlive the columns added since)
    order = OrderFactory()
    with migrated_back("orders", BEFORE) as old_apps:
        Line = old_apps.get_model("orders", "OrderLine")

        def line(product, name):
            return Line.objects.create(
                order_id=order.pk,
                product_id=product.pk,
                product_name=name,
                kind="physical",
                unit_price_sen=100,
                quantity=1,
                tax_rate_percent="0",
                tax_sen=0,
            ).pk

        lines = {
            line(kept, "Security key"): "Kunci keselamatan",
            line(renamed, "Mouse"): "",  # bought before the product was renamed
            line(untranslated, "Cable"): "",
        }
        # when
        new_apps = migrate(AFTER)
        # then
        Line = new_apps.get_model("orders", "OrderLine")
        assert dict(Line.objects.values_list("pk", "product_name_ms")) == lines
