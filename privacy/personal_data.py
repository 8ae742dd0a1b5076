"""What privacy holds about a person (discovered by privacy.registry, like every app's)."""

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ipmart.core.serialise import rows

from .models import (
    AccessLog,
    AccountClosure,
    BreachAffected,
    DataExport,
    DataRequest,
    Disclosure,
    PolicyAcceptance,
)

ACCEPTANCE_FIELDS = ["policy", "accepted_at", "method", "ip_address", "user_agent"]
ACCESS_FIELDS = ["at", "actor_role", "action", "target_type", "detail"]
DISCLOSURE_FIELDS = ["recipient", "category_codes", "purpose_code", "reference", "at"]
REQUEST_FIELDS = [
    "reference",
    "kind",
    "status",
    "channel",
    "details",
    "received_at",
    "due_on",
    "extended_due_on",
    "extension_reason",
    "resolution",
    "closed_at",
]
BREACH_TEXT_FIELDS = [
    "summary",
    "description",
    "data_categories",
    "measures",
    "notice_happened_en",
    "notice_happened_ms",
    "notice_measures_en",
    "notice_measures_ms",
    "notice_advice_en",
    "notice_advice_ms",
]
EXPORT_FIELDS = ["status", "created_at", "ready_at", "expires_at", "size_bytes"]
RECORDS = _("Privacy records: policies you accepted, requests you made, who saw your data")
ACCOUNTABILITY = _(
    "The law asks us to show who saw or received personal data and how requests were handled: "
    "these records stay, pointing to the closed account by number only."
)

DECLARATIONS = [
    {
        "model": "privacy.PolicyAcceptance",
        "summary": _(
            "Which versions of the privacy policy you accepted (with IP address and browser), your requests to us and our answers, your data downloads, who received your data and which staff looked at it."
        ),
        "fields": ACCEPTANCE_FIELDS,
        "category": RECORDS,
        "on_closure": "anonymise",
        "keep_reason": _(
            "Proof of which policy version you accepted and when stays; the IP address and "
            "browser are removed."
        ),
        "retention_setting": "IP_ADDRESS_RETENTION_DAYS",
    },
    {
        "model": "privacy.AccessLog",
        "fields": ACCESS_FIELDS,
        "category": RECORDS,
        "on_closure": "keep",
        "keep_reason": ACCOUNTABILITY,
        "retention_setting": "IP_ADDRESS_RETENTION_DAYS",
    },
    {
        "model": "privacy.Disclosure",
        "fields": DISCLOSURE_FIELDS,
        "category": RECORDS,
        "on_closure": "keep",
        "keep_reason": ACCOUNTABILITY,
    },
    {
        "model": "privacy.DataRequest",
        "fields": REQUEST_FIELDS,
        "category": RECORDS,
        "on_closure": "anonymise",
        "keep_reason": ACCOUNTABILITY,
    },
    {
        "model": "privacy.DataExport",
        "fields": EXPORT_FIELDS,
        "category": RECORDS,
        "on_closure": "erase",
        "retention_setting": "DATA_EXPORT_EXPIRY_DAYS",
    },
    {
        "model": "privacy.AccountClosure",
        "fields": ["closed_at"],
        "category": RECORDS,
        "on_closure": "keep",
        "keep_reason": ACCOUNTABILITY,
    },
    {
        "model": "privacy.ClosureNotice",
        "fields": ["email", "language", "created_at"],
        "category": RECORDS,
        "on_closure": "erase",
        "retention_setting": "CLOSURE_NOTICE_RETENTION_DAYS",
    },
    {
        "model": "privacy.Breach",
        "fields": ["reference", "summary", "data_categories", "discovered_at"],
        "category": RECORDS,
        "on_closure": "keep",
        "keep_reason": ACCOUNTABILITY,
    },
    {
        "model": "privacy.BreachAffected",
        "fields": ["breach", "notified_at"],
        "category": RECORDS,
        "on_closure": "keep",
        "keep_reason": ACCOUNTABILITY,
    },
]

RETENTION_RULES = [
    {
        "name": "expired data exports",
        "setting": "DATA_EXPORT_EXPIRY_DAYS",
        "run": "privacy.retention.delete_expired_exports",
    },
    {
        "name": "IP addresses in old records",
        "setting": "IP_ADDRESS_RETENTION_DAYS",
        "run": "privacy.retention.forget_old_ip_addresses",
    },
    {
        "name": "unsent closure notices",
        "setting": "CLOSURE_NOTICE_RETENTION_DAYS",
        "run": "privacy.retention.delete_old_closure_notices",
    },
]


def export_user(user) -> dict[str, list[dict]]:
    breaches = BreachAffected.objects.filter(user=user).select_related("breach")
    return {
        "PolicyAcceptance": rows(
            PolicyAcceptance.objects.filter(user=user).order_by("accepted_at"), ACCEPTANCE_FIELDS
        ),
        "AccessLog": rows(AccessLog.objects.filter(subject=user).order_by("at"), ACCESS_FIELDS),
        "Disclosure": rows(
            Disclosure.objects.filter(subject=user).order_by("at"), DISCLOSURE_FIELDS
        ),
        "DataRequest": rows(
            DataRequest.objects.filter(user=user).order_by("received_at"), REQUEST_FIELDS
        ),
        "DataExport": rows(DataExport.objects.filter(user=user).order_by("id"), EXPORT_FIELDS),
        "AccountClosure": rows(AccountClosure.objects.filter(user=user), ["closed_at"]),
        "Breach": rows(
            [row.breach for row in breaches],
            ["reference", "summary", "data_categories", "discovered_at"],
        ),
        "BreachAffected": rows(breaches, ["breach", "notified_at"]),
    }


def erase_user(user) -> None:
    """Exports go, request texts are blanked, and staff-written text linked to the person (the
    breach register's entries for breaches that affected them, disclosures, the access log's
    detail) loses their identifiers (ipmart.core.erasure): the access log, append-only, through
    its one allowed erasure (privacy.services.erase_access_log_details)."""
    from ipmart.core.erasure import identifiers_of, scrub_rows

    from .exports import delete_export_file
    from .models import Breach
    from .services import erase_access_log_details

    identifiers = identifiers_of(user)
    breaches = Breach.objects.filter(affected__user=user).distinct()
    scrub_rows(Breach.objects.filter(pk__in=breaches.values("pk")), BREACH_TEXT_FIELDS, identifiers)
    scrub_rows(
        Disclosure.objects.filter(subject=user),
        ["recipient", "category_codes", "purpose_code", "reference"],
        identifiers,
    )
    erase_access_log_details(
        [
            row.pk
            for row in AccessLog.objects.filter(subject=user).only("pk", "detail", "target_id")
            if identifiers.found_in(row.detail)
        ]
    )

    for export in DataExport.objects.filter(user=user):
        delete_export_file(export)
    DataExport.objects.filter(user=user).delete()
    PolicyAcceptance.objects.filter(user=user).update(ip_address=None, user_agent="")
    DataRequest.objects.filter(user=user).filter(
        ~Q(details="") | ~Q(resolution="") | ~Q(extension_reason="")
    ).update(details="", resolution="", extension_reason="(removed at account closure)")
    DataRequest.objects.filter(user=user, extended_due_on__isnull=True).update(extension_reason="")
