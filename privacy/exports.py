"""The archive a customer downloads from the privacy centre: one JSON file per app, a README
explaining them, and the customer's own files (documents) if any are still kept.

Archives are encrypted at rest: they are stored only through the document vault
(`privacy.vault`: chunked AES-256-GCM, the blob in the vault's private storage, the row a
`VaultFile`), streamed back decrypted to their owner, and crypto-shredded when they expire or the
account closes. Nothing in plaintext is written to any storage."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterator

from django.utils import timezone, translation
from django.utils.translation import gettext as _

from . import registry, vault
from .models import DataExport

FORMAT_VERSION = 1


def readme_text(user, exported: dict, files: list[str], *, now) -> str:
    with translation.override(getattr(user, "preferred_language", "en") or "en"):
        lines = [
            _("Your personal data held by IPmart"),
            "",
            _("Prepared on %(date)s (UTC).") % {"date": now.strftime("%Y-%m-%d %H:%M")},
            _(
                "Each JSON file holds what one part of the store keeps about you: a list of rows "
                "per kind of record. Dates are ISO 8601, amounts are in sen (1/100 MYR)."
            ),
            "",
        ]
        for app_label, models in exported.items():
            counts = ", ".join(f"{name} ({len(items)})" for name, items in models.items())
            lines.append(f"{app_label}.json: {counts}")
        lines.append("")
        lines.append(_("What we hold, in plain words:"))
        for entry in registry.categories():
            lines.append(f"- {entry['category']}: {', '.join(entry['fields'])}")
        if files:
            lines += ["", _("Your files:"), *[f"- files/{name}" for name in files]]
        lines += ["", _("Questions: write to our data protection officer through the store.")]
    return "\n".join(lines) + "\n"


def build_archive(user, *, now=None) -> bytes:
    """The zip for `user`, built from every app's declarations."""
    now = now or timezone.now()
    exported = registry.export_user(user)
    files = list(registry.export_files(user))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for app_label, models in exported.items():
            document = {
                "format": "ipmart-personal-data",
                "version": FORMAT_VERSION,
                "app": app_label,
                "exported_at": now.isoformat(),
                "records": models,
            }
            archive.writestr(
                f"{app_label}.json", json.dumps(document, ensure_ascii=False, indent=2)
            )
        for name, data in files:
            archive.writestr(f"files/{name}", data)
        archive.writestr(
            "README.txt", readme_text(user, exported, [name for name, _ in files], now=now)
        )
    return buffer.getvalue()


def store_archive(export: DataExport, data: bytes) -> None:
    """Encrypt `data` into the vault and point `export` at it (the caller saves the row). A
    previous archive of the same export is shredded. If the caller's transaction fails, it
    deletes the new blob (`vault.delete_blob(export.vault_file.storage_name)`)."""
    previous = export.vault_file
    export.vault_file = vault.store(data)
    export.size_bytes = len(data)
    export.sha256 = hashlib.sha256(data).hexdigest()
    if previous is not None:
        vault.shred(previous)


def open_archive(export: DataExport) -> Iterator[bytes]:
    """The decrypted archive, chunk by chunk. Fails closed: a missing or wrong master key, a
    missing blob or a first chunk that does not authenticate raises `vault.VaultError` here,
    before any byte is handed out; a later chunk that does not authenticate stops the stream
    (every chunk is checked before it is yielded)."""
    if export.vault_file is None:
        raise vault.VaultError(f"data export {export.pk} has no archive")
    chunks = vault.open_chunks(export.vault_file)
    first = next(chunks)

    def stream() -> Iterator[bytes]:
        yield first
        yield from chunks

    return stream()


def delete_export_file(export: DataExport) -> None:
    """Crypto-shred the archive (the wrapped key and the blob). Idempotent."""
    if export.vault_file is not None:
        vault.shred(export.vault_file)
