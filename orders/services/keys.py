"""Replacing an issued licence key that does not activate or has leaked ("Replace this key" on
the key's admin page).

A store manager replaces one key of a paid or completed order: under the order's row lock (the
order first, then the key, as refunds and reviews lock), the old key is revoked for good (it
never goes back to the pool) and points to its replacement (`LicenceKey.replaced_by`, so the
customer's order page says "replaced", not "refunded"), and the next available key of the same
product, claimed with `FOR UPDATE SKIP LOCKED` in id order as the checkout claims keys, is issued
to the same order line. The order's history, the staff audit trail and the customer's email
(through the outbox, once per new key) record it; a pool that falls below its threshold alerts
the store managers. Orders under review, refunded or cancelled keep their keys as they are."""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from ipmart.core.audit import record_staff_change
from ipmart.core.outbox import enqueue
from orders.models import (
    LicenceKey,
    LicenceKeyStatus,
    Order,
    OrderEventKind,
    OrderStatus,
)

from .catalogue import alert_low_key_pools
from .checkout import lock_order
from .errors import ShopError
from .history import record_event

REASON_MAX_LENGTH = 200
# A key is replaced only while its order stands paid: not under review (staff decide about a
# chargeback first), not refunded or cancelled (its keys are revoked already).
REPLACEABLE_ORDER_STATUSES = (OrderStatus.PAID, OrderStatus.FULFILLED)


class KeyReplacementError(ShopError):
    """A licence key that cannot be replaced; nothing was changed."""


@dataclass(frozen=True)
class KeyReplacement:
    """What replacing a key would do (nothing written)."""

    key: LicenceKey
    order: Order
    keys_left: int  # available keys of the product now; one of them becomes the replacement


def clean_reason(reason: str) -> str:
    """The reason, trimmed. Raises KeyReplacementError when it is blank or too long."""
    reason = (reason or "").strip()
    if not reason:
        raise KeyReplacementError(_("Say why the key is replaced. Nothing was changed."))
    if len(reason) > REASON_MAX_LENGTH:
        raise KeyReplacementError(
            _("The reason is too long (at most %(max)d characters). Nothing was changed.")
            % {"max": REASON_MAX_LENGTH}
        )
    return reason


def plan_key_replacement(key: LicenceKey) -> KeyReplacement:
    """Check that `key` may be replaced and say what replacing it would do. Raises
    KeyReplacementError naming what stands in the way (a second click: the key is revoked
    already). Reads only; `replace_licence_key` checks again under the locks."""
    line = key.order_line
    if key.status != LicenceKeyStatus.ISSUED or line is None:
        raise KeyReplacementError(
            _(
                "Licence key %(key)s is not issued to a customer (it is: %(status)s), so it "
                "cannot be replaced. Nothing was changed."
            )
            % {"key": key.masked, "status": LicenceKeyStatus(key.status).label}
        )
    order = line.order
    if order.status not in REPLACEABLE_ORDER_STATUSES:
        raise KeyReplacementError(
            _(
                "Order %(number)s is %(status)s: only a key of a paid or completed order can "
                "be replaced. Nothing was changed."
            )
            % {"number": order.number, "status": OrderStatus(order.status).label}
        )
    left = LicenceKey.objects.filter(
        product_id=key.product_id, status=LicenceKeyStatus.AVAILABLE
    ).count()
    if not left:
        raise _empty_pool_error(key)
    return KeyReplacement(key=key, order=order, keys_left=left)


def _empty_pool_error(key: LicenceKey) -> KeyReplacementError:
    return KeyReplacementError(
        _(
            "No licence key of %(product)s is left in the pool. Nothing was changed: import "
            "keys and try again."
        )
        % {"product": key.product.name}
    )


@transaction.atomic
def replace_licence_key(key: LicenceKey, *, acting_user: User, reason: str) -> LicenceKey:
    """Staff replace `key`, issued to a paid or completed order, with the next available key
    of its product (see the module docstring). Returns the new key, issued to the same order
    line. Writes an OrderEvent (kind key_replaced, the reason, the acting user), a staff audit
    row, the customer's email through the outbox and, when the pool runs low, the managers'
    alert. Raises KeyReplacementError, changing nothing, when the reason is blank or too long,
    the key is not issued (a second click finds it revoked), its order is not paid or
    completed, or no key of the product is left."""
    reason = clean_reason(reason)
    # The order first, then its key (the order's lock serialises every change to its keys).
    order_id = (
        LicenceKey.objects.filter(pk=key.pk).values_list("order_line__order_id", flat=True).get()
    )
    if order_id is not None:
        lock_order(Order(pk=order_id))
    # The key's row only (not its product's, which checkouts lock in id order).
    key = (
        LicenceKey.objects.select_for_update(of=("self",)).select_related("product").get(pk=key.pk)
    )
    plan = plan_key_replacement(key)
    if plan.order.pk != order_id:  # issued to an order between the two reads: not ours locked
        raise KeyReplacementError(
            _("Licence key %(key)s changed meanwhile. Nothing was changed: try again.")
            % {"key": key.masked}
        )
    new = (
        LicenceKey.objects.select_for_update(skip_locked=True)
        .filter(product_id=key.product_id, status=LicenceKeyStatus.AVAILABLE)
        .order_by("id")
        .first()
    )
    if new is None:  # the last ones were claimed by checkouts holding them now
        raise _empty_pool_error(key)
    new.status = LicenceKeyStatus.ISSUED
    new.order_line_id = key.order_line_id
    new.issued_at = timezone.now()
    new.save(update_fields=["status", "order_line", "issued_at"])
    key.status = LicenceKeyStatus.REVOKED
    key.replaced_by = new
    key.save(update_fields=["status", "replaced_by"])
    order = plan.order
    record_event(
        order,
        OrderEventKind.KEY_REPLACED,
        f"Licence key {key.masked} of {key.product.name} replaced by {new.masked}: {reason}",
        actor=acting_user,
    )
    record_staff_change(
        acting_user,
        order,
        action="replace licence key",
        changes={"licence_key": [key.masked, new.masked]},
        detail=f"key {key.pk} replaced by key {new.pk}: {reason}",
    )
    enqueue("orders.tasks.send_key_replaced_email_task", new.pk)
    alert_low_key_pools([key.product_id])
    return new
