"""A refused admin page in the admin's look that says which role can do it.

`ipmart.urls` sets `handler403 = "ipmart.core.refused.permission_denied"`: under /admin/ a
refusal renders `admin/refused.html` (status 403) naming the roles whose permissions allow the
page; elsewhere Django's plain 403 page is kept. A custom admin view says what it needs with
`require_permissions(request.user, "orders.add_shipment", …)`; for the stock admin views the
permission is worked out from the view (changelist and change → view, add → add)."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.views import defaults


class RoleRequired(PermissionDenied):
    """Refused for want of these permissions (all needed)."""

    def __init__(self, *permissions: str, message: str = ""):
        super().__init__(message or "missing " + ", ".join(permissions))
        self.permissions = tuple(permissions)


def require_permissions(user, *permissions: str) -> None:
    missing = [perm for perm in permissions if not user.has_perm(perm)]
    if missing:
        raise RoleRequired(*permissions)


def roles_allowing(permissions) -> list[str]:
    """The staff roles (accounts.roles) holding every one of `permissions`."""
    from accounts.roles import ROLE_PERMISSIONS

    wanted = set(permissions)
    return sorted(role for role, held in ROLE_PERMISSIONS.items() if wanted <= held)


_VIEW_PERMISSION = {
    "changelist": "view",
    "change": "view",
    "history": "view",
    "add": "add",
    "delete": "delete",
}


def _permissions_of_admin_view(request) -> tuple[str, ...]:
    match = getattr(request, "resolver_match", None)
    model_admin = getattr(getattr(match, "func", None), "model_admin", None)
    if match is None or model_admin is None or not match.url_name:
        return ()
    opts = model_admin.model._meta
    suffix = match.url_name.removeprefix(f"{opts.app_label}_{opts.model_name}_")
    action = _VIEW_PERMISSION.get(suffix)
    if action is None:
        return ()
    return (f"{opts.app_label}.{action}_{opts.model_name}",)


def permission_denied(request, exception=None, template_name="403.html"):
    if not request.path.startswith("/admin/") or not getattr(request.user, "is_staff", False):
        return defaults.permission_denied(request, exception, template_name)
    permissions = getattr(exception, "permissions", None) or _permissions_of_admin_view(request)
    allowed = roles_allowing(permissions) if permissions else []
    own = sorted(request.user.groups.values_list("name", flat=True))
    context = {
        **admin.site.each_context(request),
        "title": _("You cannot open this page"),
        "allowed_roles": allowed,
        "own_roles": own,
    }
    response = TemplateResponse(request, "admin/refused.html", context, status=403)
    return response.render()
