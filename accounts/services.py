"""State changes of customer accounts: profile and address book."""

from typing import Any

from django.db import transaction

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
