"""Telling the people affected by a personal-data breach (PDPA s. 12B as amended in 2024: without
unnecessary delay where significant harm is likely).

The data protection officer writes the notice on the breach (what happened, what we are doing,
what you can do; English and Malay), previews it in admin, then sends it: one transaction marks
the breach as being notified, writes an audit row and puts one outbox message per affected person.
Each message's handler sends that person's email in their language and stamps their
`BreachAffected` row (unique per breach and person) in the same transaction, so a person is
emailed once however often the handler runs; the last one stamps `people_notified_at`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from ipmart.core.audit import record_staff_change
from ipmart.core.mail import build_email, render_email
from ipmart.core.message_ids import stable_message_id
from ipmart.core.outbox import enqueue

from . import registry
from .models import AccountClosure, Breach, BreachAffected
from .rights import DataRightsError

LANGUAGES = ("en", "ms")


@dataclass(frozen=True)
class Progress:
    affected: int  # people listed on the breach
    reachable: int  # …whose account is open (a closed account has no address left)
    notified: int

    @property
    def waiting(self) -> int:
        return self.reachable - self.notified


def progress(breach: Breach) -> Progress:
    rows = BreachAffected.objects.filter(breach=breach)
    closed = rows.filter(user__in=AccountClosure.objects.values("user"))
    return Progress(
        affected=rows.count(),
        reachable=rows.count() - closed.count(),
        notified=rows.filter(notified_at__isnull=False).count(),
    )


def _categories(breach: Breach) -> list[str]:
    """The categories of data exposed, in the active language (from the registry's
    declarations of the affected models), or the officer's own words when none is named."""
    names: list[str] = []
    for declaration in registry.declarations():
        if declaration.model_label in breach.affected_models:
            name = str(declaration.category)
            if name not in names:
                names.append(name)
    return names or [breach.data_categories]


def notice_context(breach: Breach, language: str, *, name: str = "") -> dict[str, Any]:
    with translation.override(language):
        return {
            "breach": breach,
            "name": name,
            "notice": breach.notice_for(language),
            "categories": _categories(breach),
            "occurred_at": breach.occurred_at,
            "discovered_at": breach.discovered_at,
            "dpo_email": settings.DPO_EMAIL,
            "dpo_phone": settings.DPO_PHONE,
            "site_url": settings.SITE_URL,
        }


def render_notice(breach: Breach, language: str, *, name: str = "") -> dict[str, str]:
    """Subject, text and HTML of the notice in `language` (the admin's preview, the email),
    through the shared email layout."""
    rendered = render_email(
        "privacy/email/breach_notice",
        notice_context(breach, language, name=name),
        language=language,
    )
    return {"subject": rendered.subject, "text": rendered.text, "html": rendered.html}


def missing_notice_parts(breach: Breach) -> list[str]:
    return [
        str(Breach._meta.get_field(name).verbose_name)
        for name in Breach.NOTICE_FIELDS
        if not getattr(breach, name).strip()
    ]


@transaction.atomic
def notify_affected_people(breach: Breach, *, acting_user: AbstractBaseUser) -> int:
    """Send the breach notice to every affected person whose account is open, once: marks the
    breach, writes the audit row and one outbox message per person. Returns how many are queued.
    Raises DataRightsError when the notice is incomplete, no one is listed, or it was sent."""
    breach = Breach.objects.select_for_update().get(pk=breach.pk)
    if breach.notification_sent_at is not None:
        raise DataRightsError(_("The affected people have already been sent this notice."))
    missing = missing_notice_parts(breach)
    if missing:
        raise DataRightsError(
            _("Write the notice first: %(parts)s.") % {"parts": ", ".join(missing)}
        )
    waiting = list(
        BreachAffected.objects.filter(breach=breach, notified_at__isnull=True)
        .exclude(user__in=AccountClosure.objects.values("user"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not waiting:
        raise DataRightsError(_("No affected customer is listed: list them from the registry."))
    now = timezone.now()
    breach.notification_sent_at = now
    breach.save(update_fields=["notification_sent_at"])
    for affected_id in waiting:
        enqueue("privacy.tasks.send_breach_notice_task", affected_id)
    record_staff_change(
        acting_user,
        breach,
        action="notify people",
        changes={"notification_sent_at": ["", now.isoformat(timespec="seconds")]},
        detail=f"{len(waiting)} people",
    )
    return len(waiting)


def send_breach_notice(affected: BreachAffected) -> bool:
    """Email one affected person the notice in their language, once (their row, locked, is the
    guard, stamped in the same transaction). The last one stamps the breach's
    `people_notified_at`. Returns False, sending nothing, when already sent or unreachable."""
    with transaction.atomic():
        row = (
            BreachAffected.objects.select_for_update()
            .select_related("breach", "user")
            .filter(pk=affected.pk)
            .first()
        )
        if row is None or row.notified_at is not None:
            return False
        if AccountClosure.objects.filter(user_id=row.user_id).exists():
            return False
        user, breach = row.user, row.breach
        language = user.preferred_language if user.preferred_language in LANGUAGES else "en"
        build_email(
            "privacy/email/breach_notice",
            notice_context(breach, language, name=user.full_name),
            to=[user.email],
            language=language,
            headers={"Message-ID": stable_message_id("breach-notice", row.pk)},
        ).send()
        now = timezone.now()
        row.notified_at = now
        row.save(update_fields=["notified_at"])
        # The breach's lock serialises the last handlers, so one of them sees none waiting.
        breach = Breach.objects.select_for_update().get(pk=breach.pk)
        if breach.people_notified_at is None and not progress(breach).waiting:
            breach.people_notified_at = now
            breach.save(update_fields=["people_notified_at"])
    return True
