"""What the core app holds about a person (discovered by privacy.registry): the staff audit
trail names the staff member who acted and, when the record changed is a person's account,
that person (their email as the record's name, old → new values)."""

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

# One entry per model holding personal data.
DECLARATIONS = [
    {
        "model": "core.StaffChange",
        "fields": ["at", "action", "object_repr", "changes", "detail"],
        "category": _("Changes staff made to your account, or that you made as staff"),
        "on_closure": "keep",
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
    """Kept on closure (see DECLARATIONS): the trail is append-only."""
