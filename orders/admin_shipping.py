"""Shipping methods in admin (store managers): prices typed in ringgit, every change audited."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from ipmart.core.admin_mixins import NoDeleteMixin, StaffTrailHistoryMixin
from ipmart.core.money import RinggitFieldsMixin, ringgit_column

from .models import ShippingMethod
from .services.shipping import save_shipping_method


@admin.register(ShippingMethod)
class ShippingMethodAdmin(
    RinggitFieldsMixin, StaffTrailHistoryMixin, NoDeleteMixin, admin.ModelAdmin
):
    list_display = ["name", "zone", "price", "min_days", "max_days", "position", "is_active"]
    list_filter = ["zone", "is_active"]
    ringgit_fields = {"price_sen": _("Price (RM, before tax)")}
    fields = [
        "zone",
        "name",
        "name_ms",
        "price_sen",
        "min_days",
        "max_days",
        "position",
        "is_active",
    ]
    price = ringgit_column("price_sen", _("price"))

    def save_model(self, request, obj, form, change):
        save_shipping_method(obj, acting_user=request.user)
