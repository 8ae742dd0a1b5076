"""Reads of the privacy centre that decide who may see what: a customer sees only their own."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.db.models import Count, Max
from django.http import Http404
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from .models import AccessLog, DataExport

if TYPE_CHECKING:
    # Types only: privacy sits below accounts, so it imports no app at run time.
    from accounts.models import User

# Staff roles as the access log names them, translated for the customer (the names are
# accounts.roles'; privacy imports no app, so they are repeated here for the catalogue).
ROLE_LABELS = {
    "verification reviewer": _("verification reviewer"),
    "support agent": _("support agent"),
    "marketing manager": _("marketing manager"),
    "store manager": _("store manager"),
    "data protection officer": _("data protection officer"),
    "superuser": _("administrator"),
    "staff without role": _("staff without role"),
    "system": _("the store's systems"),
}


def get_export_for_user(user: User, public_id: uuid.UUID | str) -> DataExport:
    """The owner's export; anyone else's (or a wrong id) is a 404."""
    export = (
        DataExport.objects.select_related("vault_file")
        .filter(user=user, public_id=public_id)
        .first()
    )
    if export is None:
        raise Http404("No such export.")
    return export


def role_label(actor_role: str) -> str:
    return ", ".join(
        str(ROLE_LABELS.get(name.strip(), name.strip())) for name in actor_role.split(",")
    )


def _thing(target_type: str, detail: str) -> str:
    try:
        meta = apps.get_model(target_type)._meta
    except (LookupError, ValueError):
        return target_type
    if detail.startswith("admin list"):
        return str(_("List of %(things)s") % {"things": meta.verbose_name_plural})
    name = str(capfirst(meta.verbose_name))
    if detail and not detail.startswith("admin"):
        return f"{name} ({detail})"  # another app's own words, e.g. "inquiry 42"
    reference = detail.rsplit(" ", 1)[-1] if detail else ""
    return f"{name} {reference}" if "-" in reference else name


def access_summary(user: User, *, limit: int = 100) -> list[dict[str, Any]]:
    """Staff views of `user`'s data, one line per (thing, role, action) with a count and the
    last time, newest first; the customer's own actions are left out."""
    grouped = (
        AccessLog.objects.filter(subject=user)
        .exclude(actor=user)
        .values("target_type", "detail", "actor_role", "action")
        .annotate(count=Count("id"), last_at=Max("at"))
        .order_by("-last_at")[:limit]
    )
    from .models import AccessAction

    return [
        {
            "thing": _thing(row["target_type"], row["detail"]),
            "role": role_label(row["actor_role"]),
            "action": AccessAction(row["action"]).label,
            "count": row["count"],
            "last_at": row["last_at"],
        }
        for row in grouped
    ]
