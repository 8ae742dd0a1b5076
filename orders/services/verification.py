"""Verification documents: a held order's customer proves they are the cardholder.

Rules: documents are uploaded only to the customer's own order while it is held, at most
VERIFICATION_MAX_FILES waiting or approved at once; files pass privacy.intake before this module
sees them and go to the vault encrypted (blob first, then the row; a failed transaction deletes
the blobs). A reviewer decides per document; when every required kind is approved the held
order goes back to "paid" and through the existing `fulfil_order` once (its unique Fulfilment
row). A rejection emails the customer the reason; after VERIFICATION_MAX_REJECTIONS the order is
refunded through the gateway. Each decision writes the order's history and the access log.
Files are crypto-shredded by orders.retention."""

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from ipmart.core.audit import record_staff_change
from ipmart.core.outbox import enqueue
from orders.holds import verification_satisfied
from orders.models import (
    DocumentKind,
    DocumentPreview,
    DocumentStatus,
    Fulfilment,
    Order,
    OrderEventKind,
    OrderStatus,
    RejectionReason,
    VerificationDocument,
)
from privacy import vault
from privacy.intake import CleanFile
from privacy.models import AccessAction
from privacy.services import log_access

from .checkout import lock_order
from .errors import ShopError
from .fulfilment import fulfil_order
from .history import move_order, record_event
from .refunds import refund_order_lines


class VerificationError(ShopError):
    pass


@transaction.atomic
def request_verification(order: Order, *, acting_user: User, reason: str) -> None:
    """A store manager holds a paid, not yet fulfilled order for verification. The order goes
    on hold with an event naming who and why; the customer is emailed what to upload. Raises
    VerificationError if the order is not paid or was already fulfilled."""
    order = lock_order(order)
    if order.status != OrderStatus.PAID or Fulfilment.objects.filter(order=order).exists():
        raise VerificationError(
            _("Only a paid order that has not been delivered yet can be held for verification.")
        )
    order.verification_flagged = True
    order.save(update_fields=["verification_flagged"])
    move_order(
        order,
        OrderStatus.ON_HOLD,
        event=OrderEventKind.HELD,
        message=f"verification asked by staff: {reason}"[:300],
        actor=acting_user,
    )
    record_staff_change(
        acting_user,
        order,
        action="update",
        changes={"status": [OrderStatus.PAID.label, OrderStatus.ON_HOLD.label]},
        detail=reason,
    )
    enqueue("orders.tasks.send_order_email_task", order.pk, "verification_requested")


def upload_document(
    order: Order, *, kind: str, clean: CleanFile, acting_user: User
) -> VerificationDocument:
    """Store a checked file (and its previews) in the vault as a document of `order`. Raises
    VerificationError (nothing stored) if the order is not the uploader's, is not held, or
    already has the most documents allowed."""
    if kind not in DocumentKind.values:
        raise VerificationError(_("Choose which kind of document this is."))
    stored: list[str] = []
    try:
        with transaction.atomic():
            order = lock_order(order)
            if order.user_id != acting_user.pk:
                raise VerificationError(_("This is not your order."))
            if order.status != OrderStatus.ON_HOLD:
                raise VerificationError(_("This order is not waiting for documents."))
            if order.documents.live().count() >= settings.VERIFICATION_MAX_FILES:
                raise VerificationError(
                    _("This order already has %(n)d documents. Wait for our review.")
                    % {"n": settings.VERIFICATION_MAX_FILES}
                )
            blob = vault.store(clean.content)
            stored.append(blob.storage_name)
            document = VerificationDocument.objects.create(
                order=order,
                kind=kind,
                file=blob,
                content_type=clean.content_type,
                original_name=clean.original_name,
                pages=clean.pages,
            )
            for page, preview in enumerate(clean.previews, start=1):
                preview_blob = vault.store(preview)
                stored.append(preview_blob.storage_name)
                DocumentPreview.objects.create(document=document, page=page, file=preview_blob)
            record_event(
                order,
                OrderEventKind.DOCUMENT_UPLOADED,
                f"document {document.pk} ({kind})",
                actor=acting_user,
            )
    except BaseException:
        for name in stored:
            vault.delete_blob(name)
        raise
    return document


def _lock_document(document: VerificationDocument) -> tuple[Order, VerificationDocument]:
    order = lock_order(document.order)
    document = VerificationDocument.objects.select_for_update().get(pk=document.pk)
    return order, document


@transaction.atomic
def approve_document(
    document: VerificationDocument, *, acting_user: User, ip_address: str | None = None
) -> bool:
    """Approve a waiting document. When the order's required kinds are all approved, the held
    order is released and fulfilled through `fulfil_order` (keys, email), exactly once. Returns
    True when this approval released the order. Raises VerificationError if it was decided."""
    order, document = _lock_document(document)
    if document.status != DocumentStatus.PENDING:
        raise VerificationError(_("This document has already been decided."))
    document.status = DocumentStatus.APPROVED
    document.decided_at = timezone.now()
    document.decided_by = acting_user
    document.save(update_fields=["status", "decided_at", "decided_by"])
    record_staff_change(
        acting_user,
        document,
        action="update",
        changes={"status": [DocumentStatus.PENDING.label, DocumentStatus.APPROVED.label]},
        detail=f"order {order.number}",
    )
    record_event(
        order,
        OrderEventKind.DOCUMENT_APPROVED,
        f"document {document.pk} ({document.kind}) approved",
        actor=acting_user,
    )
    log_access(
        acting_user,
        action=AccessAction.CHANGED,
        target=document,
        subject=order.user,
        ip_address=ip_address,
        detail="verification document approved",
    )
    if order.status != OrderStatus.ON_HOLD or not verification_satisfied(order):
        return False
    move_order(
        order,
        OrderStatus.PAID,
        event=OrderEventKind.VERIFIED,
        message="verification documents approved",
        actor=acting_user,
    )
    return fulfil_order(order)


def reject_document(
    document: VerificationDocument,
    *,
    acting_user: User,
    reason: str,
    note: str = "",
    ip_address: str | None = None,
) -> bool:
    """Reject a waiting document with a reason from the list ("other" needs a note). The
    customer is emailed the reason and may upload again. When the order reaches
    VERIFICATION_MAX_REJECTIONS it is refunded through the gateway (its waiting documents are
    then shredded by the retention rule). Returns True when the order was refunded. Raises
    VerificationError; a refused refund raises ShopError after the rejection is saved."""
    note = note.strip()[:300]
    if reason not in RejectionReason.values:
        raise VerificationError(_("Choose a reason."))
    if reason == RejectionReason.OTHER and not note:
        raise VerificationError(_("Write the reason in the note."))
    with transaction.atomic():
        order, document = _lock_document(document)
        if document.status != DocumentStatus.PENDING:
            raise VerificationError(_("This document has already been decided."))
        document.status = DocumentStatus.REJECTED
        document.decided_at = timezone.now()
        document.decided_by = acting_user
        document.rejection_reason = reason
        document.rejection_note = note
        document.save(
            update_fields=[
                "status",
                "decided_at",
                "decided_by",
                "rejection_reason",
                "rejection_note",
            ]
        )
        record_staff_change(
            acting_user,
            document,
            action="update",
            changes={
                "status": [DocumentStatus.PENDING.label, DocumentStatus.REJECTED.label],
                "rejection_reason": ["", RejectionReason(reason).label],
            },
            detail=f"order {order.number}",
        )
        record_event(
            order,
            OrderEventKind.DOCUMENT_REJECTED,
            f"document {document.pk} ({document.kind}) rejected: {reason}",
            actor=acting_user,
        )
        log_access(
            acting_user,
            action=AccessAction.CHANGED,
            target=document,
            subject=order.user,
            ip_address=ip_address,
            detail="verification document rejected",
        )
        rejections = order.documents.filter(status=DocumentStatus.REJECTED).count()
        give_up = (
            rejections >= settings.VERIFICATION_MAX_REJECTIONS
            and order.status == OrderStatus.ON_HOLD
        )
        if not give_up:
            enqueue("orders.tasks.send_document_email_task", document.pk)
    if not give_up:
        return False
    refund_order_lines(
        order,
        lines=None,  # the whole order
        reason=f"verification failed after {rejections} rejected documents",
        acting_user=acting_user,
    )
    return True


def shred_document(document: VerificationDocument) -> None:
    """Crypto-shred the document's file and previews; the row keeps the decision."""
    with transaction.atomic():
        document = VerificationDocument.objects.select_for_update().get(pk=document.pk)
        if document.is_shredded:
            return
        files = [document.file] + [p.file for p in document.previews.select_related("file")]
        for vault_file in files:
            if vault_file is not None:
                vault.shred(vault_file)
        document.shredded_at = timezone.now()
        document.save(update_fields=["shredded_at"])


def open_preview(
    preview: DocumentPreview, *, acting_user: User, ip_address: str | None = None
) -> bytes:
    """The preview's PNG bytes for a reviewer, written to the access log. The caller has
    checked the permission. Raises VerificationError when the files are gone, and
    privacy.vault.VaultError when they cannot be authenticated (never partial bytes)."""
    document = preview.document
    if document.is_shredded or preview.file is None:
        raise VerificationError(_("This document's files have been destroyed."))
    content = vault.read_bytes(preview.file)
    log_access(
        acting_user,
        action=AccessAction.VIEWED,
        target=document,
        subject=document.order.user,
        ip_address=ip_address,
        detail=f"verification document preview, page {preview.page}",
    )
    return content
