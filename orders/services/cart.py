"""The basket. A cart belongs to a customer, or to an anonymous session until its owner logs
in, when it is merged into theirs. Quantities never exceed what can be sold right now."""

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from orders.models import Cart, CartLine, Product

from .availability import available_units
from .errors import CartError

MAX_QUANTITY_PER_LINE = 20


def _check_quantity(product: Product, quantity: int) -> None:
    if not product.is_active:
        raise CartError(_("%(name)s is no longer on sale.") % {"name": product.name})
    if quantity > MAX_QUANTITY_PER_LINE:
        raise CartError(
            _("You can buy at most %(n)d of one product per order.") % {"n": MAX_QUANTITY_PER_LINE}
        )
    available = available_units([product])[product.pk]
    if quantity > available:
        if available == 0:
            raise CartError(_("%(name)s is sold out.") % {"name": product.name})
        raise CartError(
            _("Only %(n)d of %(name)s left; your cart was not changed.")
            % {"n": available, "name": product.name}
        )


@transaction.atomic
def add_to_cart(cart: Cart, *, product: Product, quantity: int = 1) -> CartLine:
    """Add `quantity` of `product`. Raises CartError (and changes nothing) when that would be
    more than can be sold."""
    if quantity < 1:
        raise CartError(_("Choose a quantity of at least 1."))
    line = CartLine.objects.select_for_update().filter(cart=cart, product=product).first()
    wanted = quantity + (line.quantity if line else 0)
    _check_quantity(product, wanted)
    if line is None:
        return CartLine.objects.create(cart=cart, product=product, quantity=wanted)
    line.quantity = wanted
    line.save(update_fields=["quantity"])
    return line


@transaction.atomic
def set_cart_quantity(cart: Cart, *, product: Product, quantity: int) -> CartLine | None:
    """Set a line's quantity; 0 removes the line. Raises CartError when over availability."""
    if quantity < 0:
        raise CartError(_("Choose a quantity of 0 or more."))
    if quantity == 0:
        CartLine.objects.filter(cart=cart, product=product).delete()
        return None
    _check_quantity(product, quantity)
    line, _created = CartLine.objects.update_or_create(
        cart=cart, product=product, defaults={"quantity": quantity}
    )
    return line


def remove_from_cart(cart: Cart, *, product: Product) -> None:
    CartLine.objects.filter(cart=cart, product=product).delete()


@transaction.atomic
def merge_carts(anonymous: Cart, *, into_user: User) -> tuple[Cart, list[str]]:
    """Move the lines of an anonymous cart into the user's cart, adding quantities. A line that
    would exceed availability is capped, and the returned notes say so. The anonymous cart is
    deleted."""
    target, _created = Cart.objects.get_or_create(user=into_user)
    notes: list[str] = []
    incoming = list(anonymous.lines.select_related("product"))
    existing = {line.product_id: line for line in target.lines.select_for_update()}
    available = available_units([line.product for line in incoming])
    for line in incoming:
        current = existing.get(line.product_id)
        wanted = line.quantity + (current.quantity if current else 0)
        allowed = min(wanted, available[line.product_id], MAX_QUANTITY_PER_LINE)
        if allowed < wanted:
            notes.append(
                _("%(name)s: only %(n)d could be kept in your cart.")
                % {"name": line.product.name, "n": allowed}
            )
        if allowed <= 0 or not line.product.is_active:
            if current is not None:
                current.delete()  # sold out or off sale: the note says nothing could be kept
            continue
        if current:
            current.quantity = allowed
            current.save(update_fields=["quantity"])
        else:
            CartLine.objects.create(cart=target, product=line.product, quantity=allowed)
    anonymous.delete()
    return target, notes
