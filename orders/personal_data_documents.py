"""What orders holds about a person in verification documents (discovered by privacy.registry;
the orders app's other declarations are in orders/personal_data.py). Imports nothing from
privacy at module level (contract 4); the vault is imported inside the functions that read it."""

from django.utils.translation import gettext_lazy as _

DOCUMENT_DECLARATIONS = [
    {
        "model": "orders.VerificationDocument",
        "fields": [
            "kind",
            "status",
            "original_name",
            "uploaded_at",
            "decided_at",
            "rejection_reason",
            "rejection_note",
            "shredded_at",
        ],
        "category": _("Documents proving you are the cardholder"),
        "on_closure": "anonymise",
        "keep_reason": _(
            "The decision on a payment's verification is kept as a record of the check; the "
            "files themselves are destroyed."
        ),
        "retention_setting": "DOCUMENT_RETENTION_DAYS",
    },
    {
        "model": "orders.DocumentPreview",
        "fields": ["page"],
        "category": _("Documents proving you are the cardholder"),
        "on_closure": "erase",
        "keep_reason": "",
        "retention_setting": "DOCUMENT_RETENTION_DAYS",
    },
    {
        "model": "privacy.VaultFile",
        "fields": ["size", "created_at", "shredded_at"],
        "category": _("Documents proving you are the cardholder"),
        "on_closure": "anonymise",
        "keep_reason": _("Only the record that an encrypted file existed; its key is destroyed."),
        "retention_setting": "DOCUMENT_RETENTION_DAYS",
    },
]


def _documents(user):
    from .models import VerificationDocument

    return VerificationDocument.objects.filter(order__user=user).select_related("order")


def export_documents(user) -> dict[str, list[dict]]:
    """The person's verification documents' metadata, JSON-ready (files: export_document_files)."""
    rows = []
    for document in _documents(user).order_by("uploaded_at", "id"):
        rows.append(
            {
                "order": document.order.number,
                "kind": document.kind,
                "status": document.status,
                "original_name": document.original_name,
                "uploaded_at": document.uploaded_at.isoformat(),
                "decided_at": document.decided_at.isoformat() if document.decided_at else None,
                "rejection_reason": document.rejection_reason,
                "rejection_note": document.rejection_note,
                "shredded_at": document.shredded_at.isoformat() if document.shredded_at else None,
            }
        )
    previews, vault_files = [], []
    for document in _documents(user).prefetch_related("previews__file").select_related("file"):
        files = [document.file]
        for preview in document.previews.all():
            previews.append({"document": document.pk, "page": preview.page})
            files.append(preview.file)
        for vault_file in filter(None, files):
            vault_files.append(
                {
                    "document": document.pk,
                    "size": vault_file.size,
                    "created_at": vault_file.created_at.isoformat(),
                    "shredded_at": vault_file.shredded_at.isoformat()
                    if vault_file.shredded_at
                    else None,
                }
            )
    return {"VerificationDocument": rows, "DocumentPreview": previews, "VaultFile": vault_files}


def export_document_files(user):
    """Yield (path inside the archive, decrypted bytes) for documents whose files are kept."""
    from privacy import vault

    extensions = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}
    for document in _documents(user).filter(shredded_at__isnull=True, file__isnull=False):
        extension = extensions.get(document.content_type, "bin")
        path = f"documents/{document.order.number}/{document.pk}-{document.kind}.{extension}"
        yield path, vault.read_bytes(document.file)


def erase_documents(user) -> None:
    """Inside the account-closure transaction: shred every file and preview of the person's
    documents and blank the file names; the decision rows stay (anonymised)."""
    from .services.verification import shred_document

    for document in _documents(user):
        shred_document(document)
    _documents(user).update(original_name="", rejection_note="")


RETENTION_RULES = [
    {
        "name": "verification documents past retention",
        "setting": "DOCUMENT_RETENTION_DAYS",
        "run": "orders.retention.shred_expired_documents",
    },
]
