# An order line keeps the product's Malay name as bought too, so a Malay customer's order page,
# receipt and emails name it in Malay. Lines already placed get the product's Malay name when the
# product still has the English name they were bought under (it was not renamed since); others
# stay English only.

from django.db import migrations, models
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce


def copy_malay_names(apps, schema_editor):
    OrderLine = apps.get_model("orders", "OrderLine")
    Product = apps.get_model("orders", "Product")
    same_product_same_name = Product.objects.filter(
        pk=OuterRef("product_id"), name=OuterRef("product_name")
    ).values("name_ms")[:1]
    OrderLine.objects.update(
        product_name_ms=Coalesce(Subquery(same_product_same_name), Value(""))
    )


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0015_licence_key_revoked_label"),
    ]

    operations = [
        migrations.AddField(
            model_name="orderline",
            name="product_name_ms",
            field=models.CharField(blank=True, default="", max_length=150),
        ),
        migrations.RunPython(copy_malay_names, migrations.RunPython.noop),
    ]
