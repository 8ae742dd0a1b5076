"""Migration support/0006 moves the plaintext bytes of existing attachments into the vault
(encrypted, with a PNG preview) and drops the `data` column, on PostgreSQL in one transaction."""

import io

import pytest
from django.db import connection
from PIL import Image

from privacy import vault
from privacy.models import VaultFile
from tests.factories import InquiryFactory
from tests.migrations import migrate, migrated_back
from tests.orders.verification_helpers import stored_files, use_vault_dir

BEFORE = [("support", "0005_inquiry_data_request")]
AFTER = [("support", "0006_attachments_in_vault")]


@pytest.mark.django_db(transaction=True)
def test_existing_attachments_move_into_the_vault_and_the_plaintext_column_goes(settings, tmp_path):
    vault_dir = use_vault_dir(settings, tmp_path)
    # given: an attachment as the old code kept it, bytes in the database
    with migrated_back("support", BEFORE) as old_apps:
        inquiry = InquiryFactory()
        out = io.BytesIO()
        Image.new("RGB", (20, 10), (1, 2, 3)).save(out, "PNG")
        png = out.getvalue()
        OldAttachment = old_apps.get_model("support", "Attachment")
        old = OldAttachment.objects.create(
            message_id=inquiry.messages.get().pk,
            name="image-1.png",
            content_type="image/png",
            size=len(png),
            width=20,
            height=10,
            data=png,
        )

        # when
        new_apps = migrate(AFTER)

        # then
        Attachment = new_apps.get_model("support", "Attachment")
        moved = Attachment.objects.get(pk=old.pk)
        assert vault.read_bytes(VaultFile.objects.get(pk=moved.file_id)) == png
        preview = new_apps.get_model("support", "AttachmentPreview").objects.get(attachment=moved)
        assert preview.page == 1
        shown = vault.read_bytes(VaultFile.objects.get(pk=preview.file_id))
        assert Image.open(io.BytesIO(shown)).size == (20, 10)
        columns = [
            c.name
            for c in connection.introspection.get_table_description(
                connection.cursor(), "support_attachment"
            )
        ]
        assert "data" not in columns and "width" not in columns
        assert len(stored_files(vault_dir)) == 2
        assert all(png not in path.read_bytes() for path in stored_files(vault_dir))
