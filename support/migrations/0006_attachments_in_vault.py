"""Support attachments move into the encrypted document vault: each existing row's bytes (images
re-encoded by the old support intake) are encrypted into a vault file, with the image re-encoded
once more as its PNG preview for agents; then the plaintext `data` column is dropped."""

import django.db.models.deletion
from django.db import migrations, models


def move_into_vault(apps, schema_editor):
    # The vault's own functions (they encrypt with the configured master keys); only its
    # VaultFile rows are written, through the real model.
    from privacy import vault
    from privacy.intake.images import ImageRefused, reencode_image

    Attachment = apps.get_model("support", "Attachment")
    AttachmentPreview = apps.get_model("support", "AttachmentPreview")
    kinds = {"image/jpeg": "jpeg", "image/png": "png"}
    stored = []
    try:
        for attachment in Attachment.objects.filter(file__isnull=True).order_by("id").iterator():
            data = bytes(attachment.data or b"")
            blob = vault.store(data)
            stored.append(blob.storage_name)
            attachment.file_id = blob.pk
            attachment.save(update_fields=["file"])
            kind = kinds.get(attachment.content_type)
            try:
                preview = reencode_image(data, kind).preview if kind else None
            except ImageRefused:
                preview = None
            if preview is not None:
                preview_blob = vault.store(preview)
                stored.append(preview_blob.storage_name)
                AttachmentPreview.objects.create(
                    attachment=attachment, page=1, file_id=preview_blob.pk
                )
    except BaseException:
        for name in stored:
            vault.delete_blob(name)
        raise
    if schema_editor.connection.vendor == "postgresql":
        # The deferred foreign-key checks run now, so the columns can be dropped below in the
        # same transaction ("pending trigger events" otherwise).
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):

    dependencies = [
        ("privacy", "0007_export_in_vault"),
        ("support", "0005_inquiry_data_request"),
    ]

    operations = [
        migrations.AddField(
            model_name="attachment",
            name="file",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="privacy.vaultfile",
            ),
        ),
        migrations.AddField(
            model_name="attachment",
            name="original_name",
            field=models.CharField(blank=True, max_length=100, verbose_name="file name"),
        ),
        migrations.AddField(
            model_name="attachment",
            name="pages",
            field=models.PositiveSmallIntegerField(default=1, verbose_name="pages"),
        ),
        migrations.AlterField(
            model_name="attachment",
            name="content_type",
            field=models.CharField(max_length=40),
        ),
        migrations.CreateModel(
            name="AttachmentPreview",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("page", models.PositiveSmallIntegerField()),
                (
                    "attachment",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="previews",
                        to="support.attachment",
                    ),
                ),
                (
                    "file",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="privacy.vaultfile",
                    ),
                ),
            ],
            options={
                "ordering": ["attachment", "page"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("attachment", "page"), name="one_attachment_preview_per_page"
                    )
                ],
            },
        ),
        migrations.RunPython(move_into_vault, migrations.RunPython.noop, elidable=False),
        migrations.RemoveField(model_name="attachment", name="data"),
        migrations.RemoveField(model_name="attachment", name="width"),
        migrations.RemoveField(model_name="attachment", name="height"),
    ]
