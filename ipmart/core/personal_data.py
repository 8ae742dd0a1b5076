"""What the core app holds about a person (discovered by privacy.registry): the staff audit
trail names the staff member who acted and, when the record changed is a person's account,
that person (their email as the record's name, old → new values). The outbox carries ids only,
but the error a failed handler left (`OutboxMessage.last_error`, e.g. an SMTP server's refusal
quoting the recipient's address) may quote a person: closure scrubs it (`erase_user`)."""

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

# One entry per model holding personal data.
DECLARATIONS = [
    {
        "model": "core.StaffChange",
        "fields": ["at", "action", "object_repr", "changes", "detail"],
        "category": _("Changes staff made to your account, or that you made as staff"),
        "on_closure": "anonymise",
        "keep_reason": _(
            "The audit trail of staff changes is the store's accountability record: append-only, "
            "kept to show who changed what (prices, refunds, staff access)."
        ),
        "retention_setting": "",
    },
]


def _rows_about(user):
    from .models import StaffChange

    user_type = ContentType.objects.get_for_model(type(user), for_concrete_model=False)
    return StaffChange.objects.filter(
        Q(actor=user) | Q(content_type=user_type, object_id=str(user.pk))
    ).order_by("at", "pk")


def export_user(user) -> dict[str, list[dict]]:
    """This app's rows about `user`, JSON-ready, keyed by model name."""
    return {
        "StaffChange": [
            {
                "at": change.at.isoformat(),
                "action": change.action,
                "object_repr": change.object_repr,
                "changes": change.changes,
                "detail": change.detail,
                "by_you": change.actor_id == user.pk,
            }
            for change in _rows_about(user)
        ]
    }


def erase_user(user) -> None:
    """The rows stay (the trail is append-only), but every value naming the person (their email,
    name, phone, address lines) becomes "[erased]" (ipmart.core.audit.erase_personal_values):
    in the rows about their account, and in any row quoting their email, full name, phone or
    an address line (e.g. staff changing an order's address). Name parts alone are looked for
    only in the rows about the account, so another "Aminah" keeps her trail. Outbox errors
    quoting those specific identifiers are scrubbed too (`_scrub_outbox_errors`)."""
    from django.db.models import TextField
    from django.db.models.functions import Cast

    from .audit import erase_personal_values
    from .erasure import identifiers_of
    from .models import StaffChange

    identifiers = identifiers_of(user)
    user_type = ContentType.objects.get_for_model(type(user), for_concrete_model=False)
    erase_personal_values(
        StaffChange.objects.filter(content_type=user_type, object_id=str(user.pk)), identifiers
    )
    specific = identifiers.without_name_parts()
    fragments = specific.search_fragments()
    if not fragments:
        return
    quoting = Q()
    for fragment in fragments:
        quoting |= (
            Q(changes_text__icontains=fragment)
            | Q(detail__icontains=fragment)
            | Q(object_repr__icontains=fragment)
        )
    candidates = (
        StaffChange.objects.alias(changes_text=Cast("changes", TextField()))
        .filter(quoting)
        .exclude(content_type=user_type, object_id=str(user.pk))
    )
    erase_personal_values(candidates.iterator(), specific)
    _scrub_outbox_errors(fragments, specific)


def _scrub_outbox_errors(fragments: list[str], specific) -> None:
    """Outbox messages hold ids, not people, so which message is about the person cannot be
    told from the row; the error text of any message quoting one of their specific identifiers
    (email, full name, phone, an address line: never a name part alone, which may be another
    person's) has them replaced by "[removed]". The rest of the error (the exception's type,
    the server's code) stays for whoever retries the message."""
    from .erasure import scrub_rows
    from .models import OutboxMessage

    quoting = Q()
    for fragment in fragments:
        quoting |= Q(last_error__icontains=fragment)
    scrub_rows(
        OutboxMessage.objects.exclude(last_error="").filter(quoting), ["last_error"], specific
    )
