"""Re-wrap every vault file's data key under the newest master key in DOCUMENT_KEYS.

Deploy the new key first (newest first in DOCUMENT_KEYS, old keys kept), run this command, then
remove the old key. It works in small batches, each its own transaction with rows locked
(`SKIP LOCKED` where the database has it), so the store keeps serving meanwhile; running it
again changes nothing; blobs are never rewritten."""

from django.core.management.base import BaseCommand
from django.db import connection, transaction

from privacy import vault
from privacy.models import VaultFile


class Command(BaseCommand):
    help = "Re-wrap document data keys under the newest master key (DOCUMENT_KEYS)."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=200)

    def handle(self, *args, batch_size: int, **options):
        newest = vault.master_keys()[0].key_id
        rewrapped = 0
        last_pk = 0
        skip_locked = connection.features.has_select_for_update_skip_locked
        while True:
            with transaction.atomic():
                batch = list(
                    VaultFile.objects.select_for_update(skip_locked=skip_locked)
                    .filter(shredded_at__isnull=True, pk__gt=last_pk)
                    .exclude(key_id=newest)
                    .order_by("pk")[:batch_size]
                )
                for vault_file in batch:
                    rewrapped += vault.rewrap(vault_file)
            if not batch:
                break
            last_pk = batch[-1].pk
        self.stdout.write(f"{rewrapped} data key(s) re-wrapped under {newest}.")
