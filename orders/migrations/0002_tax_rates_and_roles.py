from decimal import Decimal

from django.db import migrations


def tax_rates(apps, schema_editor):
    TaxRate = apps.get_model("orders", "TaxRate")
    # Malaysia: service tax on digital services 8%, sales tax on goods 10% (editable in admin).
    TaxRate.objects.get_or_create(kind="licence", defaults={"name": "Service tax (SST)", "rate_percent": Decimal("8.00")})
    TaxRate.objects.get_or_create(kind="physical", defaults={"name": "Sales tax (SST)", "rate_percent": Decimal("10.00")})


def roles(apps, schema_editor):
    from accounts.roles import sync_roles

    sync_roles(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0001_initial"),
        ("accounts", "0002_staff_roles"),
        ("privacy", "0003_disclosure"),
    ]

    operations = [
        migrations.RunPython(tax_rates, migrations.RunPython.noop),
        migrations.RunPython(roles, migrations.RunPython.noop),
    ]
