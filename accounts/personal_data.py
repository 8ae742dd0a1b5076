"""What accounts holds about a person (discovered by privacy.registry).

Also declares the rows Django and allauth keep about the person's login: their email addresses
and confirmations (allauth), MFA authenticators (allauth), sessions and admin history (Django).
"""

from allauth.account.models import EmailAddress, EmailConfirmation
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from ipmart.core.erasure import identifiers_of, scrub_rows
from ipmart.core.serialise import rows

from .models import Address, User

USER_FIELDS = ["email", "full_name", "phone", "preferred_language", "date_joined", "last_login"]
ADDRESS_FIELDS = [*Address.ENTRY_FIELDS, *Address.DEFAULT_FIELDS, "created_at"]
ACCOUNT_KEPT = _(
    "The account row stays, without name, email or phone, as the pseudonymous customer that "
    "the orders kept for tax law point to; it can no longer log in."
)

DECLARATIONS = [
    {
        "model": "accounts.User",
        "summary": _(
            "Your name, email address, phone number and language, when you joined and when you last signed in."
        ),
        "fields": USER_FIELDS,
        "category": _("Your account: name, email address, phone and language"),
        "on_closure": "anonymise",
        "keep_reason": ACCOUNT_KEPT,
        "retention_setting": "",
    },
    {
        "model": "accounts.Address",
        "summary": _("The addresses you saved, with the names and phone numbers on them."),
        "fields": ADDRESS_FIELDS,
        "category": _("Your address book"),
        "on_closure": "erase",
    },
    {
        "model": "account.EmailAddress",
        "fields": ["email", "verified", "primary"],
        "category": _("Your account: name, email address, phone and language"),
        "on_closure": "erase",
    },
    {
        "model": "account.EmailConfirmation",
        "fields": ["created", "sent"],
        "category": _("Your account: name, email address, phone and language"),
        "on_closure": "erase",
    },
    {
        "model": "mfa.Authenticator",
        "summary": _(
            "Your two-step verification devices (without their codes) and the browsers where you are signed in."
        ),
        "fields": ["type", "created_at", "last_used_at"],
        "category": _("Sign-in security: two-step verification devices and active sessions"),
        "on_closure": "erase",
    },
    {
        "model": "sessions.Session",
        "fields": ["expire_date"],
        "category": _("Sign-in security: two-step verification devices and active sessions"),
        "on_closure": "erase",
    },
    {
        "model": "admin.LogEntry",
        "summary": _("When our staff changed your account, and which details they changed."),
        "fields": ["action_time", "action_flag", "object_repr", "change_message"],
        "category": _("Changes staff made to your account"),
        "on_closure": "anonymise",
        "keep_reason": _(
            "The record that staff changed the account stays, naming the account by number only."
        ),
    },
]


def sessions_of(user) -> list[Session]:
    """The unexpired sessions logged in as `user` (Django keeps no index by user: each live
    session is decoded; this runs for exports and closures only)."""
    found = []
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        try:
            data = session.get_decoded()
        except Exception:  # a session signed with a retired key cannot be anyone's now
            continue
        if str(data.get("_auth_user_id")) == str(user.pk):
            found.append(session)
    return found


def _log_entries(user):
    return LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(User), object_id=str(user.pk)
    ).order_by("action_time")


def export_user(user) -> dict[str, list[dict]]:
    return {
        "User": rows([user], USER_FIELDS),
        "Address": rows(Address.objects.for_user(user).order_by("id"), ADDRESS_FIELDS),
        "EmailAddress": rows(
            EmailAddress.objects.filter(user=user).order_by("id"), ["email", "verified", "primary"]
        ),
        "EmailConfirmation": rows(
            EmailConfirmation.objects.filter(email_address__user=user).order_by("id"),
            ["created", "sent"],
        ),
        "Authenticator": rows(
            Authenticator.objects.filter(user=user).order_by("id"),
            ["type", "created_at", "last_used_at"],
        ),
        "Session": rows(sessions_of(user), ["expire_date"]),
        "LogEntry": rows(
            _log_entries(user), ["action_time", "action_flag", "object_repr", "change_message"]
        ),
    }


def closed_email(user) -> str:
    """The address a closed account is left with: unique, undeliverable (.invalid, RFC 2606)
    and free of the old one, so the old address can sign up again."""
    return f"closed-account-{user.pk}@closed.invalid"


def personal_identifiers(user) -> dict[str, list[str]]:
    """The person's identifiers for cleaning free text at closure (privacy.registry collects
    them before any app erases): their email addresses, phones, address lines and names."""
    values = [user.email, user.phone]
    values += EmailAddress.objects.filter(user=user).values_list("email", flat=True)
    names = [user.full_name]
    for address in Address.objects.filter(user=user):
        values += [address.line1, address.line2, address.phone]
        names.append(address.full_name)
    return {"values": values, "names": names}


def erase_user(user) -> None:
    # Staff's change messages on the account may quote the old values.
    scrub_rows(_log_entries(user), ["change_message"], identifiers_of(user))
    store = import_string(settings.SESSION_ENGINE + ".SessionStore")
    for session in sessions_of(user):
        store(session_key=session.session_key).delete()  # the cached_db copy in Redis too
    Authenticator.objects.filter(user=user).delete()
    EmailConfirmation.objects.filter(email_address__user=user).delete()
    EmailAddress.objects.filter(user=user).delete()
    Address.objects.filter(user=user).delete()
    _log_entries(user).update(object_repr=f"User {user.pk}")
    user = User.objects.select_for_update().get(pk=user.pk)
    user.email = closed_email(user)
    user.full_name = ""
    user.phone = ""
    user.is_active = False
    user.is_staff = False
    user.is_superuser = False
    user.set_unusable_password()
    user.save()
    user.groups.clear()
    user.user_permissions.clear()
