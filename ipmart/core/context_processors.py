import functools

from django.urls import reverse

SITE_LINKS = {
    "home": "home",
    "shop": "orders:shop",
    "cart": "orders:cart",
    "checkout": "orders:checkout",
    "orders": "orders:list",
    "account": "accounts:dashboard",
    "admin": "admin:index",
    "login": "account_login",
    "signup": "account_signup",
    "logout": "account_logout",
    "set_language": "set_language",
    "policy": "privacy:policy",
    "policy_history": "privacy:history",
    "support": "support:faq",
}


@functools.cache
def _links() -> dict[str, str]:
    # The header and footer on every page link to the same places: reverse them once.
    return {key: reverse(name) for key, name in SITE_LINKS.items()}


def site_links(request):
    """`links.shop`, `links.cart`, … for the site's header and footer."""
    return {"links": _links()}
