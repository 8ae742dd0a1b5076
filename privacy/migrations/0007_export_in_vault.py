"""Data export archives move into the document vault: `storage_name` (a plaintext zip in the
`exports` storage) becomes `vault_file`. Archives already built are encrypted into the vault and
their plaintext file deleted; if no document master key is configured, they are deleted and the
export marked expired (the customer asks again)."""

import django.db.models.deletion
from django.core.files.storage import storages
from django.db import migrations, models


def move_archives_into_the_vault(apps, schema_editor):
    from privacy import vault

    DataExport = apps.get_model("privacy", "DataExport")
    storage = storages["exports"] if "exports" in storages.backends else None
    for export in DataExport.objects.exclude(storage_name=""):
        data = None
        if storage is not None and storage.exists(export.storage_name):
            with storage.open(export.storage_name, "rb") as handle:
                data = handle.read()
        if data is not None and export.status == "ready":
            try:
                export.vault_file_id = vault.store(data).pk
            except vault.VaultKeyError:
                export.status = "expired"
        elif export.status == "ready":
            export.status = "expired"
        if storage is not None and storage.exists(export.storage_name):
            storage.delete(export.storage_name)
        export.storage_name = ""
        export.save(update_fields=["vault_file", "status", "storage_name"])


class Migration(migrations.Migration):
    dependencies = [
        ("privacy", "0006_vault"),
    ]

    operations = [
        migrations.AddField(
            model_name="dataexport",
            name="vault_file",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="privacy.vaultfile",
            ),
        ),
        migrations.RunPython(move_archives_into_the_vault, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name="dataexport",
            name="storage_name",
        ),
    ]
