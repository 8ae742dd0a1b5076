from django.db import migrations


def roles(apps, schema_editor):
    from accounts.roles import sync_roles

    sync_roles(apps)


class Migration(migrations.Migration):
    """Store managers may view the outbox messages (accounts.roles)."""

    dependencies = [
        ("core", "0001_outbox"),
        ("orders", "0005_order_email"),
        ("accounts", "0003_email_case_insensitive"),
        ("privacy", "0003_disclosure"),
    ]

    operations = [migrations.RunPython(roles, migrations.RunPython.noop)]
