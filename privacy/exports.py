"""The archive a customer downloads from the privacy centre: one JSON file per app, a README
explaining them, and the customer's own files (documents) if any are still kept.

Archives are written to the `exports` storage (STORAGES["exports"]: a private folder outside
anything served, DATA_EXPORT_DIR). They are not encrypted at rest yet: see the README's gap."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from . import registry
from .models import DataExport

FORMAT_VERSION = 1


def export_storage():
    return storages["exports"]


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


def store_archive(export: DataExport, data: bytes) -> str:
    name = f"{export.user_id}/{export.public_id}.zip"
    storage = export_storage()
    if storage.exists(name):
        storage.delete(name)
    saved = storage.save(name, ContentFile(data))
    export.storage_name = saved
    export.size_bytes = len(data)
    export.sha256 = hashlib.sha256(data).hexdigest()
    return saved


def open_archive(export: DataExport):
    return export_storage().open(export.storage_name, "rb")


def delete_export_file(export: DataExport) -> None:
    if export.storage_name and export_storage().exists(export.storage_name):
        export_storage().delete(export.storage_name)
