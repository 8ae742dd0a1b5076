from django.contrib import messages

from .models import Cart
from .selectors import CART_SESSION_KEY
from .services.cart import merge_carts


def merge_cart_on_login(sender, request, user, **kwargs):
    """The basket a visitor filled before logging in follows them into their account."""
    if request is None or not hasattr(request, "session"):
        return
    cart_id = request.session.pop(CART_SESSION_KEY, None)
    anonymous = Cart.objects.filter(pk=cart_id, user__isnull=True).first() if cart_id else None
    if anonymous is None:
        return
    cart, notes = merge_carts(anonymous, into_user=user)
    request.session["cart_count"] = sum(cart.lines.values_list("quantity", flat=True))
    for note in notes:
        messages.warning(request, note)
