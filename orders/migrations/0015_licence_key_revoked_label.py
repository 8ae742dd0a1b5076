# A revoked key may have been refunded or charged back: its label says only "Revoked".

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0014_chargeback_warning"),
    ]

    operations = [
        migrations.AlterField(
            model_name="licencekey",
            name="status",
            field=models.CharField(
                choices=[
                    ("available", "Available"),
                    ("reserved", "Reserved for an order"),
                    ("issued", "Issued"),
                    ("revoked", "Revoked"),
                ],
                default="available",
                max_length=16,
            ),
        ),
    ]
