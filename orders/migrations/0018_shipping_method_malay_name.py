# Shipping methods get a Malay name (shown to customers reading in Malay, English when empty), and
# an order keeps the chosen method's Malay name as chosen, as its lines keep product names (0016).
# Orders placed before keep the English name only: no method had a Malay name then.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0017_licence_key_replaced_by'),
    ]

    operations = [
        migrations.AddField(
            model_name='order',
            name='shipping_method_name_ms',
            field=models.CharField(blank=True, default='', max_length=80),
        ),
        migrations.AddField(
            model_name='shippingmethod',
            name='name_ms',
            field=models.CharField(blank=True, help_text='Shown to customers reading in Malay; English when empty.', max_length=80, verbose_name='name (Malay)'),
        ),
    ]
