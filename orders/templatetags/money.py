from django import template

from orders.money import format_myr

register = template.Library()


@register.filter
def myr(amount_sen) -> str:
    """`{{ product.price_sen|myr }}` → "RM 49.90"."""
    if amount_sen in (None, ""):
        return ""
    return format_myr(amount_sen)
