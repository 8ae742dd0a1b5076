"""FAQ topics and entries and canned replies edited in admin, through the staff audit trail."""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from ipmart.core.audit import record_staff_change, save_with_trail

from ..models import (
    FaqEntry,
    FaqTopic,
    Macro,
)

FAQ_TOPIC_FIELDS = ["name", "name_ms", "position"]


FAQ_ENTRY_FIELDS = [
    "topic",
    "question",
    "answer",
    "question_ms",
    "answer_ms",
    "position",
    "is_published",
]


MACRO_FIELDS = ["name", "body", "body_ms", "sets_status", "position"]


# Long texts are shown shortened in the trail (the full text is the row itself).
_SHORT = {
    name: (lambda text: str(text)[:80]) for name in ("answer", "answer_ms", "body", "body_ms")
}


@transaction.atomic
def save_faq_topic(topic: FaqTopic, *, acting_user: User) -> FaqTopic:
    """Create or change a FAQ topic from admin; the staff audit trail gets old → new."""
    save_with_trail(topic, acting_user=acting_user, fields=FAQ_TOPIC_FIELDS)
    return topic


@transaction.atomic
def save_faq_entry(entry: FaqEntry, *, acting_user: User) -> FaqEntry:
    """Create or change a FAQ question and answer (publishing included), audited."""
    save_with_trail(entry, acting_user=acting_user, fields=FAQ_ENTRY_FIELDS, formatters=_SHORT)
    return entry


@transaction.atomic
def save_macro(macro: Macro, *, acting_user: User) -> Macro:
    """Create or change a canned reply, audited."""
    save_with_trail(macro, acting_user=acting_user, fields=MACRO_FIELDS, formatters=_SHORT)
    return macro


@transaction.atomic
def delete_support_content(obj: FaqTopic | FaqEntry | Macro, *, acting_user: User) -> None:
    """Delete a FAQ topic or entry or a canned reply from admin; the audit row keeps its
    name. Raises django.db.models.ProtectedError for a topic that still has entries."""
    record_staff_change(acting_user, obj, action="delete", detail=str(obj)[:300])
    obj.delete()
