"""State changes of customer accounts: profile and address book."""

from typing import Any

from allauth.account.internal.flows.email_verification import (
    send_verification_email_to_address,
)
from allauth.account.models import EmailAddress
from allauth.core.context import request_context
from django.db import transaction
from django.http import HttpRequest

from ipmart.core.audit import diff, display_value, record_staff_change, snapshot

from .models import Address, User

ADDRESS_FIELDS = Address.ENTRY_FIELDS


def update_profile(user: User, *, full_name: str, phone: str, preferred_language: str) -> User:
    """Change the person's own details. Email and password change through allauth's flows,
    which re-verify and notify."""
    user.full_name = full_name
    user.phone = phone
    user.preferred_language = preferred_language
    user.save(update_fields=["full_name", "phone", "preferred_language"])
    return user


def _lock_address_book(user: User) -> None:
    # Serialises changes to one customer's defaults (two tabs saving at once).
    User.objects.select_for_update().filter(pk=user.pk).first()


def _apply_defaults(address: Address, *, billing: bool, shipping: bool) -> None:
    others = Address.objects.for_user(address.user_id).exclude(pk=address.pk)
    if billing:
        others.filter(is_default_billing=True).update(is_default_billing=False)
    if shipping:
        others.filter(is_default_shipping=True).update(is_default_shipping=False)


@transaction.atomic
def add_address(user: User, *, data: dict[str, Any]) -> Address:
    """Add an address to `user`'s book. The first address becomes the default for billing and
    shipping; asking for a default moves it from the previous default address."""
    _lock_address_book(user)
    is_first = not Address.objects.for_user(user).exists()
    billing = bool(data.get("is_default_billing")) or is_first
    shipping = bool(data.get("is_default_shipping")) or is_first
    address = Address(user=user, **{name: data.get(name, "") for name in ADDRESS_FIELDS})
    if not address.country:
        address.country = "MY"
    _apply_defaults(address, billing=billing, shipping=shipping)
    address.is_default_billing = billing
    address.is_default_shipping = shipping
    address.save()
    return address


@transaction.atomic
def update_address(address: Address, *, data: dict[str, Any]) -> Address:
    """Change an address. Unticking "default" on the only default leaves the customer without
    one, which is allowed; ticking it moves the default here."""
    _lock_address_book(address.user)
    for name in ADDRESS_FIELDS:
        setattr(address, name, data.get(name, ""))
    billing = bool(data.get("is_default_billing"))
    shipping = bool(data.get("is_default_shipping"))
    _apply_defaults(address, billing=billing, shipping=shipping)
    address.is_default_billing = billing
    address.is_default_shipping = shipping
    address.save()
    return address


@transaction.atomic
def set_default_address(address: Address, *, kind: str) -> Address:
    """Make `address` the default for `kind` ("billing" or "shipping")."""
    if kind not in {"billing", "shipping"}:
        raise ValueError(f"unknown address kind {kind!r}")
    _lock_address_book(address.user)
    _apply_defaults(address, billing=kind == "billing", shipping=kind == "shipping")
    setattr(address, f"is_default_{kind}", True)
    address.save(update_fields=[f"is_default_{kind}", "updated_at"])
    return address


@transaction.atomic
def delete_address(address: Address) -> None:
    """Remove an address. A default it held moves to the customer's oldest remaining address,
    so someone with addresses always has defaults."""
    user = address.user
    _lock_address_book(user)
    was_billing, was_shipping = address.is_default_billing, address.is_default_shipping
    address.delete()
    successor = Address.objects.for_user(user).order_by("id").first()
    if successor is None:
        return
    if was_billing:
        successor.is_default_billing = True
    if was_shipping:
        successor.is_default_shipping = True
    if was_billing or was_shipping:
        successor.save(update_fields=["is_default_billing", "is_default_shipping", "updated_at"])


# What staff may change on a person's account in admin, each change audited (old → new).
STAFF_EDITABLE_FIELDS = [
    "full_name",
    "phone",
    "preferred_language",
    "is_active",
    "is_staff",
    "is_superuser",
]
STAFF_AUDITED_FIELDS = [*STAFF_EDITABLE_FIELDS, "email", "groups", "user_permissions"]


def _account_snapshot(user: User) -> dict[str, Any]:
    values = snapshot(user, [*STAFF_EDITABLE_FIELDS, "email"])
    values["groups"] = display_value(list(user.groups.values_list("name", flat=True)))
    values["user_permissions"] = display_value(
        [
            f"{app}.{codename}"
            for app, codename in user.user_permissions.values_list(
                "content_type__app_label", "codename"
            )
        ]
    )
    return values


def _change_email(user: User, email: str, *, request: HttpRequest | None) -> EmailAddress:
    """Through allauth's email records: the new address becomes the primary one, unverified,
    the old ones go (none is left behind), and allauth sends the new address its verification
    link after commit (mandatory verification then applies at the next login)."""
    address = EmailAddress.objects.add_email(request, user, email, confirm=False)
    if address.verified:
        address.verified = False
        address.save(update_fields=["verified"])
    address.set_as_primary()
    EmailAddress.objects.filter(user=user).exclude(pk=address.pk).delete()
    if request is not None:
        transaction.on_commit(lambda: _send_verification(request, address))
    return address


def _send_verification(request: HttpRequest | None, address: EmailAddress) -> None:
    # allauth reads the request from its context; after commit it may have been reset.
    with request_context(request):
        send_verification_email_to_address(request, address)


@transaction.atomic
def update_account_by_staff(
    user: User, *, data: dict[str, Any], acting_user: User, request: HttpRequest | None = None
) -> User:
    """Change a person's account from admin. `data` holds any of STAFF_EDITABLE_FIELDS, "email",
    "groups" (Group objects) and "user_permissions" (Permission objects). The email changes
    through allauth (see `_change_email`). One audit row names every field changed, old → new.
    The user row is locked for the change."""
    stored = User.objects.select_for_update().get(pk=user.pk)
    before = _account_snapshot(stored)
    for name in STAFF_EDITABLE_FIELDS:
        setattr(stored, name, data.get(name, getattr(stored, name)))
    stored.save(update_fields=STAFF_EDITABLE_FIELDS)
    if "groups" in data:
        stored.groups.set(data["groups"])
    if "user_permissions" in data:
        stored.user_permissions.set(data["user_permissions"])
    email = (data.get("email") or "").strip().lower()
    if email and email != stored.email.lower():
        _change_email(stored, email, request=request)
        stored.refresh_from_db()
    record_staff_change(
        acting_user, stored, action="update", changes=diff(before, _account_snapshot(stored))
    )
    for name in [*STAFF_EDITABLE_FIELDS, "email"]:
        setattr(user, name, getattr(stored, name))
    return stored


@transaction.atomic
def create_account_by_staff(
    user: User, *, acting_user: User, request: HttpRequest | None = None
) -> User:
    """Save an account made in admin (the form has set its password) with its allauth email
    record, and audit it."""
    user.save()
    EmailAddress.objects.add_email(request, user, user.email, confirm=False).set_as_primary()
    record_staff_change(
        acting_user,
        user,
        action="create",
        changes=diff({}, snapshot(user, [*STAFF_EDITABLE_FIELDS, "email"])),
    )
    return user
