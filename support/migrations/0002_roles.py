from django.db import migrations


def roles(apps, schema_editor):
    from accounts.roles import sync_roles

    sync_roles(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("support", "0001_initial"),
        ("orders", "0002_tax_rates_and_roles"),
    ]

    operations = [migrations.RunPython(roles, migrations.RunPython.noop)]
