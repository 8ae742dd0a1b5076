"""Licence keys in admin: the pools (read-only, keys masked) and "Replace this key" for an issued
key that does not activate or has leaked (store managers: `orders.change_order`). The replace
page says what replacing does (or why it cannot) and its POST calls
`orders.services.keys.replace_licence_key` once (a second click is told the key is revoked)."""

from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from ipmart.core.admin_mixins import NoDeleteMixin
from ipmart.core.refused import require_permissions

from .forms import KeyReplacementForm
from .models import LicenceKey, LicenceKeyStatus, Order
from .services.errors import ShopError, plan_or_refusal
from .services.keys import REPLACEABLE_ORDER_STATUSES, plan_key_replacement, replace_licence_key

# Replacing a customer's key: the store manager's own right over orders.
REPLACE_KEY_PERMISSIONS = ("orders.change_order",)


def replace_key_links(user, order: Order) -> list[tuple[str, str]]:
    """The "Replace key …ABCD" links of an order's admin page: its issued keys, for a viewer
    who may replace them, while the order's state allows it."""
    if (
        not user.has_perms(REPLACE_KEY_PERMISSIONS)
        or order.status not in REPLACEABLE_ORDER_STATUSES
    ):
        return []
    keys = LicenceKey.objects.filter(order_line__order=order, status=LicenceKeyStatus.ISSUED)
    return [
        (
            reverse("admin:orders_licencekey_replace", args=[key.pk]),
            _("Replace key %(key)s") % {"key": key.masked},
        )
        for key in keys.order_by("id")
    ]


@admin.register(LicenceKey)
class LicenceKeyAdmin(NoDeleteMixin, admin.ModelAdmin):
    list_display = ["product", "masked_key", "status", "order_link", "imported_at", "issued_at"]
    list_filter = ["status", "product"]
    list_select_related = ["product", "order_line__order"]
    fields = [
        "product",
        "masked_key",
        "status",
        "order_link",
        "imported_at",
        "issued_at",
        "replaced_by_link",
    ]
    readonly_fields = fields

    @admin.display(description=_("key"))
    def masked_key(self, obj):
        return obj.masked

    @admin.display(description=_("order"))
    def order_link(self, obj):
        if obj.order_line_id is None:
            return "—"
        order = obj.order_line.order
        url = reverse("admin:orders_order_change", args=[order.pk])
        return format_html('<a href="{}">{}</a>', url, order.number)

    @admin.display(description=_("replaced by"))
    def replaced_by_link(self, obj):
        if obj.replaced_by_id is None:
            return "—"
        url = reverse("admin:orders_licencekey_change", args=[obj.replaced_by_id])
        return format_html('<a href="{}">{}</a>', url, obj.replaced_by.masked)

    def has_add_permission(self, request) -> bool:
        return False  # keys arrive through the CSV import on the product

    def get_urls(self):
        return [
            path(
                "<int:key_id>/replace/",
                self.admin_site.admin_view(self.replace_view),
                name="orders_licencekey_replace",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        key = self.get_object(request, object_id)
        may = (
            key is not None
            and key.status == LicenceKeyStatus.ISSUED
            and request.user.has_perms(REPLACE_KEY_PERMISSIONS)
            and key.order_line.order.status in REPLACEABLE_ORDER_STATUSES
        )
        extra_context = {
            **(extra_context or {}),
            "replace_url": reverse("admin:orders_licencekey_replace", args=[key.pk]) if may else "",
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def replace_view(self, request, key_id: int):
        """Replace an issued key: the page says which key is revoked, that the customer is
        emailed a new one and how many keys the pool holds (or why it cannot be replaced); the
        POST, with the reason, replaces it once and goes back to the order."""
        require_permissions(request.user, *REPLACE_KEY_PERMISSIONS)
        key = get_object_or_404(
            LicenceKey.objects.select_related("product", "order_line__order"), pk=key_id
        )
        form = KeyReplacementForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                new = replace_licence_key(
                    key, acting_user=request.user, reason=form.cleaned_data["reason"]
                )
            except ShopError as error:
                messages.error(request, str(error))
            else:
                messages.success(
                    request,
                    _("Licence key %(old)s replaced by %(new)s; the customer is emailed it.")
                    % {"old": key.masked, "new": new.masked},
                )
            if key.order_line_id is None:
                return redirect("admin:orders_licencekey_change", key.pk)
            return redirect("admin:orders_order_change", key.order_line.order_id)
        plan, problem = plan_or_refusal(plan_key_replacement, key)
        context = {
            **self.admin_site.each_context(request),
            "key": key,
            "order": key.order_line.order if key.order_line_id else None,
            "plan": plan,
            "form": form,
            "problem": problem,
            "title": _("Replace licence key %(key)s") % {"key": key.masked},
            "opts": self.model._meta,
        }
        return render(request, "admin/orders/licencekey_replace.html", context)
