"""State changes of the privacy app. Every path (view, admin, command, task) calls these."""

from __future__ import annotations

import datetime
import hashlib
import time
import zoneinfo
from typing import TYPE_CHECKING

from django.core.cache import cache
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from ipmart.core.audit import record_staff_change, save_with_trail

from .models import (
    AcceptanceMethod,
    AccessAction,
    AccessLog,
    DataRequest,
    DataRequestChannel,
    DataRequestKind,
    Disclosure,
    PolicyAcceptance,
    PolicyVersion,
)

if TYPE_CHECKING:
    # Types only: privacy sits below accounts (accounts imports privacy), so no runtime import.
    from accounts.models import User

KUALA_LUMPUR = zoneinfo.ZoneInfo("Asia/Kuala_Lumpur")
CURRENT_POLICY_CACHE_KEY = "privacy:current-policy-id"
CURRENT_POLICY_CACHE_SECONDS = 60


class PolicyError(Exception):
    """A policy action that cannot be done; the message is shown to the person."""


def get_current_policy() -> PolicyVersion | None:
    """The version in force today. Its id is cached briefly in the shared cache; a publication
    clears it, and a version whose effective date arrives is picked up within a minute."""
    policy_id = cache.get(CURRENT_POLICY_CACHE_KEY)
    if policy_id:
        policy = PolicyVersion.objects.filter(pk=policy_id).first()
        if policy is not None:
            return policy
    policy = PolicyVersion.objects.current()
    if policy is not None:
        cache.set(CURRENT_POLICY_CACHE_KEY, policy.pk, CURRENT_POLICY_CACHE_SECONDS)
    return policy


_local_policy_id: tuple[float, int | None] = (0.0, None)
LOCAL_POLICY_SECONDS = 5


def get_current_policy_id() -> int | None:
    """The id of the version in force, asked on every page a customer sees: held in this
    process for a few seconds on top of the shared cache (a publication shows within them)."""
    global _local_policy_id
    fetched_at, policy_id = _local_policy_id
    if policy_id is not None and time.monotonic() - fetched_at < LOCAL_POLICY_SECONDS:
        return policy_id
    policy_id = cache.get(CURRENT_POLICY_CACHE_KEY)
    if policy_id is None:
        policy = get_current_policy()
        policy_id = policy.pk if policy else None
    _local_policy_id = (time.monotonic(), policy_id)
    return policy_id


@transaction.atomic
def publish_policy(policy: PolicyVersion, *, acting_user: User | None) -> PolicyVersion:
    """Freeze a draft: set its hash and publication time. From then on the row never changes.

    Raises PolicyError if it is already published or either language is empty."""
    policy = PolicyVersion.objects.select_for_update().get(pk=policy.pk)
    if policy.is_published:
        raise PolicyError("This policy version is already published and cannot change.")
    if not policy.body_en.strip() or not policy.body_ms.strip():
        raise PolicyError("A policy needs its text in both English and Bahasa Malaysia.")
    policy.content_hash = policy.compute_hash()
    policy.published_at = timezone.now()
    policy.save(update_fields=["content_hash", "published_at"])
    record_staff_change(
        acting_user,
        policy,
        action="publish",
        changes={"published": ["", policy.published_at.isoformat(timespec="seconds")]},
        detail=f"SHA-256 {policy.content_hash[:12]}",
    )
    transaction.on_commit(forget_current_policy)
    return policy


def text_digest(text: str) -> str:
    """How the trail names a text change without copying the text (a policy, a customer's
    request, an answer): its length and a short hash; empty text stays empty."""
    if not text:
        return ""
    return f"{len(text)} characters, sha256 {hashlib.sha256(text.encode()).hexdigest()[:10]}"


@transaction.atomic
def save_policy_draft(policy: PolicyVersion, *, acting_user: User | None) -> PolicyVersion:
    """Save a draft (new or changed) from admin, audited old → new. Raises PolicyError for a
    published version (the database trigger refuses it too)."""
    if (
        policy.pk
        and PolicyVersion.objects.filter(pk=policy.pk, published_at__isnull=False).exists()
    ):
        raise PolicyError("This policy version is already published and cannot change.")
    save_with_trail(
        policy,
        acting_user=acting_user,
        fields=["version", "effective_date", "summary", "body_en", "body_ms"],
        formatters={"body_en": text_digest, "body_ms": text_digest},
    )
    return policy


def forget_current_policy() -> None:
    """Drop the cached id of the version in force (this process's and the shared one)."""
    global _local_policy_id
    _local_policy_id = (0.0, None)
    cache.delete(CURRENT_POLICY_CACHE_KEY)


def accept_policy(
    user: User,
    *,
    policy: PolicyVersion,
    method: str,
    ip_address: str | None,
    user_agent: str = "",
) -> PolicyAcceptance:
    """Record that `user` accepted `policy`. Accepting the same version twice (a double click)
    returns the first acceptance unchanged. Raises PolicyError for an unpublished version."""
    if not policy.is_published:
        raise PolicyError("Only a published policy can be accepted.")
    if method not in AcceptanceMethod.values:
        raise ValueError(f"unknown acceptance method {method!r}")
    try:
        with transaction.atomic():
            return PolicyAcceptance.objects.create(
                user=user,
                policy=policy,
                method=method,
                ip_address=ip_address,
                user_agent=user_agent[:300],
            )
    except IntegrityError:
        return PolicyAcceptance.objects.get(user=user, policy=policy)


def has_accepted(user: User, policy_id: int) -> bool:
    return PolicyAcceptance.objects.filter(user=user, policy_id=policy_id).exists()


def role_of(actor: User | None) -> str:
    """How the access log names the actor's role: their staff groups, or what they are."""
    if actor is None:
        return "system"
    if actor.is_superuser:
        return "superuser"
    if actor.is_staff:
        names = sorted(actor.groups.values_list("name", flat=True))
        return ", ".join(names) or "staff without role"
    return "customer"


def log_access(
    actor: User | None,
    *,
    action: str,
    target: models.Model,
    subject: User | None,
    ip_address: str | None = None,
    detail: str = "",
) -> AccessLog:
    """Write one access log row: `actor` did `action` to `target`, which holds personal data of
    `subject`. The only way anything writes to the access log; rows are never changed."""
    if action not in AccessAction.values:
        raise ValueError(f"unknown access action {action!r}")
    return AccessLog.objects.create(
        actor=actor,
        actor_role=role_of(actor)[:120],
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        subject=subject,
        ip_address=ip_address,
        detail=detail[:200],
    )


def record_disclosure(
    subject: User,
    *,
    recipient: str,
    data_categories: list[str],
    purpose: str,
    reference: str = "",
) -> Disclosure:
    """Write one row of the disclosure register: `recipient` received `data_categories` of
    `subject` for `purpose`. Call it in the same transaction as the act of sending."""
    if not data_categories:
        raise ValueError("a disclosure names the categories of data disclosed")
    disclosure = Disclosure(subject=subject, recipient=recipient, reference=reference)
    # Stored as codes (an English label is mapped to its code), shown translated.
    disclosure.data_categories = ",".join(data_categories)
    disclosure.purpose = purpose
    disclosure.save()
    return disclosure


ERASED = "[erased]"


def erase_access_log_details(row_ids: list[int]) -> int:
    """Account closure: the access log is append-only, and the one change it allows is its
    `detail` replaced by ERASED, through the SECURITY DEFINER function
    `privacy_accesslog_erase_details` (migration privacy.0008); the application's role cannot
    update a row directly. Who saw which record, when, stays. Returns the rows changed."""
    if not row_ids:
        return 0
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT privacy_accesslog_erase_details(%s::bigint[])", [row_ids])
            return int(cursor.fetchone()[0])
    return AccessLog.objects.filter(pk__in=row_ids).update(detail=ERASED)


def log_access_many(
    actor: User | None,
    *,
    action: str,
    target_type: str,
    subject_ids: list[int],
    ip_address: str | None = None,
    detail: str = "",
) -> int:
    """One access log row per person whose data one page showed (an admin list or search):
    `target_type` names what was listed, `target_id` is the person. Returns the rows written."""
    if action not in AccessAction.values:
        raise ValueError(f"unknown access action {action!r}")
    role = role_of(actor)[:120]
    now = timezone.now()
    entries = [
        AccessLog(
            at=now,
            actor=actor,
            actor_role=role,
            action=action,
            target_type=target_type[:100],
            target_id=str(subject_id),
            subject_id=subject_id,
            ip_address=ip_address,
            detail=detail[:200],
        )
        for subject_id in sorted(set(subject_ids))
    ]
    AccessLog.objects.bulk_create(entries)
    return len(entries)


# --- Data requests (issue 10). The rest of the data-rights services are in privacy/rights.py.

REQUEST_DUE_DAYS = 21  # PDPA ss. 31 and 35: access and correction within 21 days
REQUEST_EXTENSION_DAYS = 14  # s. 32: one extension of up to 14 days, with written reasons


def due_date_for(received_at: datetime.datetime) -> datetime.date:
    """21 days after the day of receipt in Malaysia (Asia/Kuala_Lumpur), whatever the server's
    zone: a request received at 23:30 on the 1st in Kuala Lumpur is due on the 22nd."""
    return timezone.localdate(received_at, timezone=KUALA_LUMPUR) + datetime.timedelta(
        days=REQUEST_DUE_DAYS
    )


def open_data_request(
    user: User,
    *,
    kind: str,
    channel: str,
    details: str = "",
    received_at: datetime.datetime | None = None,
) -> DataRequest:
    """Record that `user` asked for `kind` (export, correction, closure, objection, complaint)
    through `channel`, due 21 days after receipt. Customer service calls this for a privacy
    request that arrives as an inquiry (channel "customer_service")."""
    if kind not in DataRequestKind.values:
        raise ValueError(f"unknown data request kind {kind!r}")
    if channel not in DataRequestChannel.values:
        raise ValueError(f"unknown data request channel {channel!r}")
    received_at = received_at or timezone.now()
    return DataRequest.objects.create(
        user=user,
        kind=kind,
        channel=channel,
        details=details.strip()[:5000],
        received_at=received_at,
        due_on=due_date_for(received_at),
    )
