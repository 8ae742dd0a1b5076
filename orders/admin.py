from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from ipmart.core.admin_mixins import NoDeleteMixin, ReadOnlyTabularInline
from privacy.admin_mixins import LogsPersonalDataViewsMixin

from .admin_verification import VerificationDocumentInline  # also registers the queue
from .forms import FlagForVerificationForm, ShipForm
from .models import (
    Category,
    LicenceKey,
    LicenceKeyStatus,
    Order,
    OrderEvent,
    OrderLine,
    PaymentAttempt,
    Product,
    Refund,
    Shipment,
    TaxRate,
)
from .money import format_myr
from .services.catalogue import (
    KeyImportError,
    import_licence_keys,
    save_category,
    save_product,
    save_tax_rate,
)
from .services.errors import ShopError
from .services.fulfilment import mark_shipped, refund_order
from .services.verification import request_verification


@admin.register(Category)
class CategoryAdmin(NoDeleteMixin, admin.ModelAdmin):
    list_display = ["name", "slug", "position"]
    prepopulated_fields = {"slug": ["name"]}

    def save_model(self, request, obj, form, change):
        save_category(obj, acting_user=request.user)


class KeyImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file, one licence key per line"))


@admin.register(Product)
class ProductAdmin(NoDeleteMixin, admin.ModelAdmin):
    list_display = ["name", "kind", "category", "price", "stock", "keys_available", "is_active"]
    list_filter = ["kind", "category", "is_active"]
    list_select_related = ["category"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                keys_left=Count(
                    "licence_keys", filter=Q(licence_keys__status=LicenceKeyStatus.AVAILABLE)
                )
            )
        )

    @admin.display(description=_("price"), ordering="price_sen")
    def price(self, obj):
        return format_myr(obj.price_sen)

    @admin.display(description=_("keys available"), ordering="keys_left")
    def keys_available(self, obj):
        if obj.kind != "licence":
            return "—"
        url = reverse("admin:orders_product_import_keys", args=[obj.pk])
        return format_html('{} · <a href="{}">{}</a>', obj.keys_left, url, _("import"))

    def save_model(self, request, obj, form, change):
        save_product(obj, acting_user=request.user)

    def get_urls(self):
        return [
            path(
                "<int:product_id>/import-keys/",
                self.admin_site.admin_view(self.import_keys),
                name="orders_product_import_keys",
            ),
            *super().get_urls(),
        ]

    def import_keys(self, request, product_id: int):
        if not request.user.has_perm("orders.add_licencekey"):
            raise PermissionDenied
        product = get_object_or_404(Product, pk=product_id)
        form = KeyImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                added = import_licence_keys(
                    product, data=upload.read(2 * 1024 * 1024 + 1), acting_user=request.user
                )
            except KeyImportError as error:
                messages.error(request, str(error))
            else:
                messages.success(
                    request, _("%(n)d keys added to %(name)s.") % {"n": added, "name": product.name}
                )
                return redirect("admin:orders_product_changelist")
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "product": product,
            "title": _("Import licence keys for %(name)s") % {"name": product.name},
            "opts": self.model._meta,
        }
        return render(request, "admin/orders/import_keys.html", context)


@admin.register(TaxRate)
class TaxRateAdmin(NoDeleteMixin, admin.ModelAdmin):
    list_display = ["kind", "name", "rate_percent"]

    def save_model(self, request, obj, form, change):
        save_tax_rate(obj, acting_user=request.user)

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(LicenceKey)
class LicenceKeyAdmin(NoDeleteMixin, admin.ModelAdmin):
    list_display = ["product", "masked_key", "status", "imported_at", "issued_at"]
    list_filter = ["status", "product"]
    list_select_related = ["product"]
    fields = ["product", "masked_key", "status", "order_line", "imported_at", "issued_at"]
    readonly_fields = fields

    @admin.display(description=_("key"))
    def masked_key(self, obj):
        return obj.masked

    def has_add_permission(self, request) -> bool:
        return False  # keys arrive through the CSV import on the product


class OrderLineInline(ReadOnlyTabularInline):
    model = OrderLine
    fields = [
        "product_name",
        "kind",
        "quantity",
        "unit_price_sen",
        "tax_rate_percent",
        "tax_sen",
        "shipped_at",
    ]
    readonly_fields = fields


class OrderEventInline(ReadOnlyTabularInline):
    model = OrderEvent
    fields = ["at", "kind", "message", "actor"]
    readonly_fields = fields


class PaymentAttemptInline(ReadOnlyTabularInline):
    model = PaymentAttempt
    fields = [
        "merchant_reference",
        "status",
        "gateway_status",
        "amount_sen",
        "currency",
        "gateway_payment_id",
        "created_at",
    ]
    readonly_fields = fields


class ShipmentInline(ReadOnlyTabularInline):
    model = Shipment
    fields = ["carrier", "tracking_number", "shipped_at", "shipped_by"]
    readonly_fields = fields


class RefundInline(ReadOnlyTabularInline):
    model = Refund
    fields = ["amount_sen", "status", "gateway_status", "reason", "created_at", "created_by"]
    readonly_fields = fields


class RefundForm(forms.Form):
    reason = forms.CharField(max_length=200, label=_("Reason (kept in the order's history)"))


@admin.register(Order)
class OrderAdmin(LogsPersonalDataViewsMixin, NoDeleteMixin, admin.ModelAdmin):
    """Orders are changed only through their actions (ship, refund); opening one is a view of
    the customer's personal data and is written to the access log."""

    list_display = ["number", "email", "status", "total", "placed_at"]
    list_filter = ["status", "placed_at"]
    search_fields = ["number", "email"]
    date_hierarchy = "placed_at"
    fields = [
        "number",
        "user",
        "email",
        "status",
        "billing_address",
        "shipping_address",
        "subtotal_sen",
        "tax_sen",
        "total_sen",
        "currency",
        "placed_at",
        "paid_at",
        "reserved_until",
        "stock_released",
        "actions_links",
    ]
    readonly_fields = fields
    inlines = [
        OrderLineInline,
        PaymentAttemptInline,
        VerificationDocumentInline,
        ShipmentInline,
        RefundInline,
        OrderEventInline,
    ]

    @admin.display(description=_("total"), ordering="total_sen")
    def total(self, obj):
        return format_myr(obj.total_sen)

    @admin.display(description=_("actions"))
    def actions_links(self, obj):
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a> · <a href="{}">{}</a>',
            reverse("admin:orders_order_ship", args=[obj.pk]),
            _("Mark shipped"),
            reverse("admin:orders_order_refund", args=[obj.pk]),
            _("Refund"),
            reverse("admin:orders_order_flag", args=[obj.pk]),
            _("Ask for verification documents"),
        )

    def has_add_permission(self, request) -> bool:
        return False

    def get_urls(self):
        return [
            path(
                "<int:order_id>/ship/",
                self.admin_site.admin_view(self.ship_view),
                name="orders_order_ship",
            ),
            path(
                "<int:order_id>/refund/",
                self.admin_site.admin_view(self.refund_view),
                name="orders_order_refund",
            ),
            path(
                "<int:order_id>/flag/",
                self.admin_site.admin_view(self.flag_view),
                name="orders_order_flag",
            ),
            *super().get_urls(),
        ]

    def access_subject(self, obj):
        return obj.user

    def access_subject_ids(self, obj) -> list[int]:
        return [obj.user_id]

    def access_detail(self, obj) -> str:
        return f"admin order {obj.number}"

    def _action_view(self, request, order_id, *, permission, form_class, title, run):
        if not (request.user.has_perm("orders.change_order") and request.user.has_perm(permission)):
            raise PermissionDenied
        order = get_object_or_404(Order, pk=order_id)
        form = form_class(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                run(order, form.cleaned_data)
            except ShopError as error:
                messages.error(request, str(error))
            else:
                messages.success(request, _("Done."))
                return redirect("admin:orders_order_change", order.pk)
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "order": order,
            "title": title % {"number": order.number},
            "opts": self.model._meta,
        }
        return render(request, "admin/orders/order_action.html", context)

    def ship_view(self, request, order_id: int):
        return self._action_view(
            request,
            order_id,
            permission="orders.add_shipment",
            form_class=ShipForm,
            title=_("Mark order %(number)s shipped"),
            run=lambda order, data: mark_shipped(
                order,
                carrier=data["carrier"],
                tracking_number=data["tracking_number"],
                acting_user=request.user,
            ),
        )

    def refund_view(self, request, order_id: int):
        return self._action_view(
            request,
            order_id,
            permission="orders.add_refund",
            form_class=RefundForm,
            title=_("Refund order %(number)s in full"),
            run=lambda order, data: refund_order(
                order, reason=data["reason"], acting_user=request.user
            ),
        )

    def flag_view(self, request, order_id: int):
        return self._action_view(
            request,
            order_id,
            permission="orders.change_order",
            form_class=FlagForVerificationForm,
            title=_("Hold order %(number)s for verification documents"),
            run=lambda order, data: request_verification(
                order, reason=data["reason"], acting_user=request.user
            ),
        )
