"""Services of data rights: export, account closure, stopping direct marketing, handling data
requests and the breach register. (privacy/services.py holds consent, logs, disclosures and
`open_data_request`; this module would have taken it past 400 lines.) Views, admin, tasks and
commands call these functions; each is one transaction."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ipmart.core.audit import diff, record_staff_change, snapshot
from ipmart.core.outbox import enqueue

from . import registry, vault
from .exports import build_archive, store_archive
from .models import (
    AccountClosure,
    Breach,
    BreachAffected,
    ClosureNotice,
    DataExport,
    DataExportStatus,
    DataRequest,
    DataRequestChannel,
    DataRequestKind,
    DataRequestStatus,
)
from .services import REQUEST_EXTENSION_DAYS, open_data_request, text_digest


class DataRightsError(Exception):
    """An action on a data right that cannot be done; the message is shown to the person."""


# --- Export


@transaction.atomic
def request_export(user: AbstractBaseUser, *, channel: str = DataRequestChannel.PRIVACY_CENTRE):
    """Start building `user`'s archive: a data request (export) and a pending export, and the
    build task through the outbox. An export already being prepared is returned instead of a
    second one (a double click)."""
    # The user row's lock serialises two clicks.
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    pending = DataExport.objects.filter(user=user, status=DataExportStatus.PENDING).first()
    if pending is not None:
        return pending
    request = open_data_request(user, kind=DataRequestKind.EXPORT, channel=channel)
    export = DataExport.objects.create(user=user, request=request)
    enqueue("privacy.tasks.build_export_task", export.pk)
    return export


@transaction.atomic
def build_export(export: DataExport, *, now=None) -> bool:
    """Build and store the archive of a pending export, make it downloadable for
    DATA_EXPORT_EXPIRY_DAYS, close its data request, and send the owner the link (outbox).
    Returns False, changing nothing, when the export is no longer pending (a second run)."""
    export = DataExport.objects.select_for_update().select_related("user").get(pk=export.pk)
    if export.status != DataExportStatus.PENDING:
        return False
    now = now or timezone.now()
    store_archive(export, build_archive(export.user, now=now))
    try:
        export.status = DataExportStatus.READY
        export.ready_at = now
        export.expires_at = now + datetime.timedelta(days=settings.DATA_EXPORT_EXPIRY_DAYS)
        export.save()
    except BaseException:
        # the transaction rolls back: the row is gone, so is the blob
        assert export.vault_file is not None
        vault.delete_blob(export.vault_file.storage_name)
        raise
    if export.request_id:
        DataRequest.objects.filter(pk=export.request_id).update(
            status=DataRequestStatus.DONE,
            closed_at=now,
            resolution="Archive prepared; download link sent by email.",
        )
    enqueue("privacy.tasks.send_export_ready_email_task", export.pk)
    return True


# --- Closure


def closure_blockers(user: AbstractBaseUser) -> list[str]:
    """Reasons (from every app's optional `closure_blockers` hook) the account cannot close yet."""
    reasons = []
    for app in registry.discover():
        hook = app.hook("closure_blockers")
        if hook is not None:
            reasons += list(hook(user) or [])
    return reasons


@transaction.atomic
def close_account(user: AbstractBaseUser) -> AccountClosure:
    """Close `user`'s account: every app erases or anonymises its rows (privacy.registry, one
    transaction, top app first), sessions and MFA devices go, the account cannot log in, the old
    address may sign up again. A closure data request is recorded as done and a final email to
    the old address goes through the outbox. Raises DataRightsError when an app objects
    (an order awaiting payment) or the account is already closed."""
    user = get_user_model().objects.select_for_update().get(pk=user.pk)
    if AccountClosure.objects.filter(user=user).exists():
        raise DataRightsError(_("This account is already closed."))
    blockers = closure_blockers(user)
    if blockers:
        raise DataRightsError(" ".join(blockers))
    old_email, language = user.email, user.preferred_language
    request = open_data_request(
        user, kind=DataRequestKind.CLOSURE, channel=DataRequestChannel.PRIVACY_CENTRE
    )
    registry.erase_user(user)
    now = timezone.now()
    DataRequest.objects.filter(pk=request.pk).update(
        status=DataRequestStatus.DONE, closed_at=now, resolution="Account closed."
    )
    closure = AccountClosure.objects.create(user=user, closed_at=now, request=request)
    ClosureNotice.objects.create(closure=closure, email=old_email, language=language)
    enqueue("privacy.tasks.send_closure_notice_task", closure.pk)
    return closure


# --- Direct marketing


@transaction.atomic
def stop_direct_marketing(user: AbstractBaseUser) -> DataRequest:
    """PDPA s. 43: stop all direct marketing to `user` at once, through every app's
    `stop_direct_marketing` hook, and record it as an objection handled immediately."""
    stopped = registry.stop_direct_marketing(user)
    request = open_data_request(
        user,
        kind=DataRequestKind.OBJECTION,
        channel=DataRequestChannel.PRIVACY_CENTRE,
        details="Stop all direct marketing.",
    )
    request.status = DataRequestStatus.DONE
    request.closed_at = timezone.now()
    request.resolution = f"Direct marketing stopped ({stopped} subscriptions withdrawn)."
    request.save(update_fields=["status", "closed_at", "resolution"])
    return request


# --- Handling requests (the data protection officer, in admin)


@transaction.atomic
def extend_data_request(
    request: DataRequest, *, reason: str, acting_user: AbstractBaseUser
) -> DataRequest:
    """Move the due date 14 days later, once, for a written reason (PDPA s. 32). Raises
    DataRightsError if already extended, closed, or the reason is empty."""
    request = DataRequest.objects.select_for_update().get(pk=request.pk)
    if not reason.strip():
        raise DataRightsError(_("An extension needs a written reason."))
    if request.extended_due_on is not None:
        raise DataRightsError(_("This request has already been extended once."))
    if not request.is_open:
        raise DataRightsError(_("This request is closed."))
    request.extended_due_on = request.due_on + datetime.timedelta(days=REQUEST_EXTENSION_DAYS)
    request.extension_reason = reason.strip()
    request.handled_by = acting_user
    request.save(update_fields=["extended_due_on", "extension_reason", "handled_by"])
    record_staff_change(
        acting_user,
        request,
        action="update",
        changes={"extended_due_on": ["", request.extended_due_on.isoformat()]},
        detail=text_digest(request.extension_reason),
    )
    return request


@transaction.atomic
def answer_data_request(
    request: DataRequest, *, status: str, resolution: str, acting_user: AbstractBaseUser
) -> DataRequest:
    """Set a request's state and the answer the customer sees. Done or refused closes it;
    a refusal needs its reasons written."""
    if status not in DataRequestStatus.values:
        raise ValueError(f"unknown status {status!r}")
    request = DataRequest.objects.select_for_update().get(pk=request.pk)
    if status == DataRequestStatus.REFUSED and not resolution.strip():
        raise DataRightsError(_("A refusal states its reasons."))
    trail = {"status": lambda value: DataRequestStatus(value).label, "resolution": text_digest}
    before = snapshot(request, trail, trail)
    request.status = status
    request.resolution = resolution.strip()
    request.handled_by = acting_user
    closing = status in {DataRequestStatus.DONE, DataRequestStatus.REFUSED}
    request.closed_at = (request.closed_at or timezone.now()) if closing else None
    request.save(update_fields=["status", "resolution", "handled_by", "closed_at"])
    record_staff_change(
        acting_user, request, action="update", changes=diff(before, snapshot(request, trail, trail))
    )
    return request


# --- Breach register


def new_breach_reference(now) -> str:
    count = Breach.objects.filter(created_at__year=now.year).count() + 1
    return f"BR-{now:%Y}-{count:03d}"


@transaction.atomic
def record_breach(
    *,
    summary: str,
    data_categories: str,
    discovered_at,
    acting_user: AbstractBaseUser | None,
    occurred_at=None,
    description: str = "",
    affected_models: list[str] | None = None,
    people_affected: int | None = 0,
    commissioner_notified_at=None,
    people_notified_at=None,
    measures: str = "",
    **notice: str,
) -> Breach:
    """Write a breach to the register. The Commissioner's 72-hour deadline runs from
    `discovered_at`. `affected_models` are declared models; see `list_affected_customers`.
    `notice`: the notice to affected people (Breach.NOTICE_FIELDS), if already written."""
    unexpected = set(notice) - set(Breach.NOTICE_FIELDS)
    if unexpected:
        raise TypeError(f"record_breach() got unexpected arguments {sorted(unexpected)}")
    unknown = set(affected_models or []) - {d.model_label for d in registry.declarations()}
    if unknown:
        raise DataRightsError(f"not declared personal data: {', '.join(sorted(unknown))}")
    now = timezone.now()
    breach = Breach.objects.create(
        reference=new_breach_reference(now),
        summary=summary,
        description=description,
        data_categories=data_categories,
        discovered_at=discovered_at,
        occurred_at=occurred_at,
        affected_models=sorted(affected_models or []),
        people_affected=people_affected or 0,
        commissioner_notified_at=commissioner_notified_at,
        people_notified_at=people_notified_at,
        measures=measures,
        recorded_by=acting_user,
        created_at=now,
        **{name: value or "" for name, value in notice.items()},
    )
    record_staff_change(
        acting_user,
        breach,
        action="create",
        changes=diff({}, snapshot(breach, BREACH_FIELDS)),
    )
    return breach


BREACH_FIELDS = (
    "summary",
    "description",
    "data_categories",
    "occurred_at",
    "discovered_at",
    "people_affected",
    "commissioner_notified_at",
    "people_notified_at",
    "measures",
    "affected_models",
    *Breach.NOTICE_FIELDS,
)


@transaction.atomic
def update_breach(breach: Breach, *, data: dict, acting_user: AbstractBaseUser) -> Breach:
    """Change a breach's facts (notification times, measures, affected records)."""
    breach = Breach.objects.select_for_update().get(pk=breach.pk)
    unknown = set(data.get("affected_models") or []) - {
        d.model_label for d in registry.declarations()
    }
    if unknown:
        raise DataRightsError(f"not declared personal data: {', '.join(sorted(unknown))}")
    before = snapshot(breach, BREACH_FIELDS)
    for name in BREACH_FIELDS:
        if name in data:
            value = data[name]
            if name == "affected_models":
                value = sorted(value or [])
            elif name in {"description", "measures", *Breach.NOTICE_FIELDS}:
                value = value or ""
            elif name == "people_affected":
                value = value or 0
            setattr(breach, name, value)
    breach.save()
    record_staff_change(
        acting_user, breach, action="update", changes=diff(before, snapshot(breach, BREACH_FIELDS))
    )
    return breach


def customers_with_rows_in(model_labels: list[str]) -> set[int]:
    """Ids of the people with rows in the given declared models, found through each model's
    foreign keys to the user (directly or one model away, e.g. an order's lines)."""
    from django.apps import apps

    user_model = get_user_model()
    ids: set[int] = set()
    for label in model_labels:
        model = apps.get_model(label)
        if model is user_model:
            ids |= set(user_model.objects.values_list("pk", flat=True))
            continue
        paths = []
        for field in model._meta.concrete_fields:
            if not field.is_relation or field.related_model is None:
                continue
            if field.related_model is user_model:
                paths.append(field.name)
            else:
                paths += [
                    f"{field.name}__{inner.name}"
                    for inner in field.related_model._meta.concrete_fields
                    if inner.is_relation and inner.related_model is user_model
                ]
        for path in paths:
            ids |= set(
                model.objects.filter(**{f"{path}__isnull": False}).values_list(path, flat=True)
            )
    return ids


@transaction.atomic
def list_affected_customers(breach: Breach) -> int:
    """Add to the breach every customer with rows in its affected models (staff excluded).
    Safe to run again: one row per (breach, customer). Returns how many were added."""
    ids = customers_with_rows_in(breach.affected_models)
    customers = (
        get_user_model().objects.filter(pk__in=ids, is_staff=False).values_list("pk", flat=True)
    )
    before = breach.affected.count()
    BreachAffected.objects.bulk_create(
        [BreachAffected(breach=breach, user_id=pk) for pk in customers], ignore_conflicts=True
    )
    breach.people_affected = max(breach.people_affected, breach.affected.count())
    breach.save(update_fields=["people_affected"])
    return breach.affected.count() - before


# --- Emails (called by privacy.tasks)


def send_export_ready_email(export: DataExport) -> bool:
    from django.urls import reverse

    from ipmart.core.mail import send_email

    if export.status != DataExportStatus.READY:
        return False
    user = export.user
    context = {
        "user": user,
        "export": export,
        "url": settings.SITE_URL
        + reverse("privacy_centre:export_download", args=[export.public_id]),
    }
    send_email(
        "privacy/email/export_ready", context, to=[user.email], language=user.preferred_language
    )
    return True


def send_closure_notice(closure: AccountClosure) -> bool:
    """Send the final email to the old address, then forget the address. A second run finds
    no notice and sends nothing."""
    from ipmart.core.mail import send_email

    with transaction.atomic():
        notice = ClosureNotice.objects.select_for_update().filter(closure=closure).first()
        if notice is None:
            return False
        send_email(
            "privacy/email/closed",
            {"closure": closure},
            to=[notice.email],
            language=notice.language,
        )
        notice.delete()
    return True
