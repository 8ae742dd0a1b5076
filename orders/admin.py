import uuid

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Exists, F, OuterRef, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from ipmart.core.admin_filters import DateRangeFilter
from ipmart.core.admin_mixins import NoDeleteMixin, ReadOnlyTabularInline, StaffTrailHistoryMixin
from ipmart.core.csv_export import csv_bytes
from ipmart.core.http import client_ip
from ipmart.core.money import RinggitFieldsMixin, format_ringgit, ringgit_column
from ipmart.core.refused import require_permissions
from privacy.admin_mixins import LogsPersonalDataViewsMixin
from privacy.intake import validate_upload
from privacy.models import AccessAction
from privacy.services import log_access

from .admin_dashboard import awaiting_shipping
from .admin_keys import replace_key_links  # also registers licence keys
from .admin_shipping import ShippingMethodAdmin  # noqa: F401  (registers shipping methods)
from .admin_verification import VerificationDocumentInline  # also registers the queue
from .forms import FlagForVerificationForm, RefundForm, ShipForm
from .models import (
    AttemptStatus,
    Category,
    Fulfilment,
    LicenceKey,
    LicenceKeyStatus,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    PaymentAttempt,
    Product,
    ProductImage,
    ProductKind,
    Refund,
    RefundStatus,
    Shipment,
    TaxRate,
)
from .services.catalogue import (
    KeyImportError,
    add_product_image,
    delete_product_image,
    import_licence_keys,
    save_category,
    save_product,
    save_product_image,
    save_tax_rate,
)
from .services.errors import ShopError, plan_or_refusal
from .services.fulfilment import can_ship, mark_shipped, ship_orders_from_csv
from .services.refunds import can_refund, plan_refund, refund_order_lines, shipping_left_sen
from .services.review import accept_payment, close_lost_payment, plan_acceptance, plan_closure
from .services.verification import request_verification

SHIP_PERMISSIONS = ("orders.change_order", "orders.add_shipment")
REFUND_PERMISSIONS = ("orders.change_order", "orders.add_refund")
FLAG_PERMISSIONS = ("orders.change_order",)
# Resolving a review by accepting its payment: the store manager's own right over orders.
ACCEPT_PERMISSIONS = ("orders.change_order",)
# Closing a charged-back order as lost: the same right.
CLOSE_LOST_PERMISSIONS = ("orders.change_order",)


@admin.register(Category)
class CategoryAdmin(StaffTrailHistoryMixin, NoDeleteMixin, admin.ModelAdmin):
    list_display = ["name", "name_ms", "slug", "position"]
    prepopulated_fields = {"slug": ["name"]}

    def save_model(self, request, obj, form, change):
        save_category(obj, acting_user=request.user)


class KeyImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file, one licence key per line"))


class KeyPoolFilter(admin.SimpleListFilter):
    title = _("key pool")
    parameter_name = "key_pool"

    def lookups(self, request, model_admin):
        return [("low", _("Running low"))]

    def queryset(self, request, queryset):
        if self.value() == "low":
            return queryset.filter(kind=ProductKind.LICENCE, keys_left__lt=F("key_low_threshold"))
        return queryset


class ProductImageForm(forms.ModelForm):
    """A new image is uploaded here and checked by the safe-upload intake (decoded with a
    pixel limit, re-encoded without metadata); an existing one changes only its texts."""

    upload = forms.FileField(label=_("Image (JPEG or PNG)"), required=False)

    class Meta:
        model = ProductImage
        fields = ["upload", "alt", "alt_ms", "position"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:  # to replace the picture, delete the row and add a new one
            self.fields["upload"].disabled = True

    def clean_upload(self):
        upload = self.cleaned_data.get("upload")
        if self.instance.pk or not upload:
            return None
        return validate_upload(upload, allowed=("jpeg", "png"))

    def clean(self):
        cleaned = super().clean()
        if not self.instance.pk and not cleaned.get("upload") and not self.errors:
            self.add_error("upload", _("Choose an image file."))
        return cleaned


class ProductImageInline(admin.TabularInline):
    """Images through the catalogue services (stored resized, audited); the preview is a
    plain <img> of the smallest width (no script: the admin's CSP is strict)."""

    model = ProductImage
    form = ProductImageForm
    extra = 1
    readonly_fields = ["preview"]
    fields = ["preview", "upload", "alt", "alt_ms", "position"]

    @admin.display(description=_("preview"))
    def preview(self, obj):
        if not obj.pk:
            return "—"
        width = obj.widths[0]
        return format_html(
            '<img src="{}" width="{}" height="{}" alt="{}">',
            obj.url(width),
            160,
            obj.height_for(160),
            obj.alt,
        )

    def get_fields(self, request, obj=None):
        return self.fields

    # Images belong to the product: whoever may change products may change its images.
    def has_add_permission(self, request, obj=None):
        return request.user.has_perm("orders.change_product")

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("orders.change_product")

    def has_delete_permission(self, request, obj=None):
        return request.user.has_perm("orders.change_product")

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("orders.view_product")


@admin.register(Product)
class ProductAdmin(RinggitFieldsMixin, StaffTrailHistoryMixin, NoDeleteMixin, admin.ModelAdmin):
    list_display = ["name", "kind", "category", "price", "stock", "is_active"]
    list_filter = ["kind", "category", "is_active", "featured", KeyPoolFilter]
    inlines = [ProductImageInline]
    list_select_related = ["category"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    ringgit_fields = {"price_sen": _("Price (RM, before tax)")}
    exclude = ["key_pool_low_since"]

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

    price = ringgit_column("price_sen", _("price"))

    def get_list_display(self, request):
        # The key column links only to pages this viewer may open.
        return [
            "name",
            "kind",
            "category",
            "price",
            "stock",
            self._keys_column(request.user),
            "is_active",
            "featured",
        ]

    @staticmethod
    def _keys_column(user):
        can_list = user.has_perm("orders.view_licencekey")
        can_import = user.has_perm("orders.add_licencekey")
        list_url = reverse("admin:orders_licencekey_changelist")

        @admin.display(description=_("keys available"), ordering="keys_left")
        def keys_available(obj):
            if obj.kind != ProductKind.LICENCE:
                return "—"
            links = []
            if can_list:
                links.append((f"{list_url}?product__id__exact={obj.pk}", _("list")))
            if can_import:
                url = reverse("admin:orders_product_import_keys", args=[obj.pk])
                links.append((url, _("import")))
            low = ""
            if obj.keys_left < obj.key_low_threshold:
                low = format_html(" <strong>{}</strong>", _("low"))
            return format_html(
                "{}{}{}", obj.keys_left, low, format_html_join("", ' · <a href="{}">{}</a>', links)
            )

        return keys_available

    def save_model(self, request, obj, form, change):
        save_product(obj, acting_user=request.user)

    def save_formset(self, request, form, formset, change):
        if formset.model is not ProductImage:
            return super().save_formset(request, form, formset, change)
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for image_form in formset.forms:
            image = image_form.instance
            if image_form in formset.deleted_forms:
                if image.pk:
                    delete_product_image(image, acting_user=request.user)
                    formset.deleted_objects.append(image)
            elif not image_form.has_changed():
                continue
            elif image.pk:
                save_product_image(image, acting_user=request.user)
                formset.changed_objects.append((image, image_form.changed_data))
            else:
                formset.new_objects.append(
                    add_product_image(
                        form.instance,
                        clean=image_form.cleaned_data["upload"],
                        alt=image_form.cleaned_data["alt"],
                        alt_ms=image_form.cleaned_data["alt_ms"],
                        position=image_form.cleaned_data["position"] or 0,
                        acting_user=request.user,
                    )
                )
        return None

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
        require_permissions(request.user, "orders.add_licencekey")
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
class TaxRateAdmin(StaffTrailHistoryMixin, NoDeleteMixin, admin.ModelAdmin):
    list_display = ["kind", "name", "rate_percent"]

    def save_model(self, request, obj, form, change):
        save_tax_rate(obj, acting_user=request.user)

    def has_add_permission(self, request) -> bool:
        return False


class OrderLineInline(ReadOnlyTabularInline):
    model = OrderLine
    fields = [
        "product_name",
        "kind",
        "quantity",
        "unit_price",
        "tax_rate_percent",
        "tax",
        "shipped_at",
    ]
    readonly_fields = fields
    unit_price = ringgit_column("unit_price_sen", _("unit price"))
    tax = ringgit_column("tax_sen", _("tax"))


class PaymentAttemptInline(ReadOnlyTabularInline):
    model = PaymentAttempt
    fields = [
        "merchant_reference",
        "status",
        "gateway_status",
        "amount",
        "captured_amount",
        "currency",
        "gateway_payment_id",
        "pays_for_order",
        "created_at",
    ]
    readonly_fields = fields
    amount = ringgit_column("amount_sen", _("amount"))

    @admin.display(description=_("captured"))
    def captured_amount(self, obj):
        """What the gateway took, which differs from the amount for a mismatch under review."""
        captured = obj.captured
        if captured is None:
            return "—"
        amount, currency = captured
        if currency == obj.currency:
            return format_ringgit(amount)
        return f"{currency} {amount // 100:,}.{amount % 100:02d}"


class ShipmentInline(ReadOnlyTabularInline):
    model = Shipment
    fields = ["carrier", "tracking_number", "shipped_at", "shipped_by"]
    readonly_fields = fields


class RefundInline(ReadOnlyTabularInline):
    model = Refund
    fields = [
        "credit_note_number",
        "amount",
        "status",
        "gateway_status",
        "reason",
        "created_at",
        "created_by",
    ]
    readonly_fields = fields
    amount = ringgit_column("amount_sen", _("amount"))


class OrderEventInline(ReadOnlyTabularInline):
    model = OrderEvent
    fields = ["at", "kind", "message", "actor"]
    readonly_fields = fields


class ShippingCsvForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file: order number, carrier, tracking number (one order per line)")
    )


class ProductKindFilter(admin.SimpleListFilter):
    title = _("product kind")
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return ProductKind.choices

    def queryset(self, request, queryset):
        if self.value() in ProductKind.values:
            lines = OrderLine.objects.filter(order=OuterRef("pk"), kind=self.value())
            return queryset.filter(Exists(lines))
        return queryset


class AwaitingShippingFilter(admin.SimpleListFilter):
    title = _("work")
    parameter_name = "awaiting"

    def lookups(self, request, model_admin):
        return [("shipping", _("Awaiting shipping"))]

    def queryset(self, request, queryset):
        if self.value() == "shipping":
            return queryset.filter(awaiting_shipping())
        return queryset


class CountryFilter(admin.SimpleListFilter):
    title = _("billing country")
    parameter_name = "country"

    def lookups(self, request, model_admin):
        from django_countries import countries

        codes = (
            Order.objects.order_by("billing_country")
            .values_list("billing_country", flat=True)
            .distinct()
        )
        return [(code, f"{countries.name(code) or code} ({code})") for code in codes]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(billing_country=self.value())
        return queryset


@admin.register(Order)
class OrderAdmin(
    LogsPersonalDataViewsMixin, StaffTrailHistoryMixin, NoDeleteMixin, admin.ModelAdmin
):
    """Orders are changed only through their actions (ship, refund); opening one is a view of
    the customer's personal data and is written to the access log."""

    list_display = [
        "number",
        "email",
        "customer_name",
        "status",
        "total",
        "billing_country",
        "placed_at",
    ]
    list_filter = [
        "status",
        ("placed_at", DateRangeFilter),
        ProductKindFilter,
        CountryFilter,
        AwaitingShippingFilter,
    ]
    list_select_related = ["user"]
    list_per_page = 50  # rows are rendered by the stock admin at ~1 ms each (make bench)
    # The store's order page is the customer's own (a 404 for anyone else): no dead link.
    view_on_site = False
    search_fields = [
        "number",
        "email",
        "user__full_name",
        "attempts__merchant_reference",
        "attempts__gateway_payment_id",
    ]
    search_help_text = _(
        "Order number, email, customer's name, payment reference, or a licence key's last "
        "characters (at least 4)."
    )
    actions = ["export_csv"]
    fields = [
        "number",
        "user",
        "email",
        "status",
        "billing_address",
        "billing_country",
        "shipping_address",
        "shipping_method_name",
        "shipping",
        "subtotal",
        "tax",
        "total",
        "refunded",
        "currency",
        "placed_at",
        "paid_at",
        "reserved_until",
        "stock_released",
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
    subtotal = ringgit_column("subtotal_sen", _("subtotal"))
    shipping = ringgit_column("shipping_sen", _("shipping (before tax)"))
    tax = ringgit_column("tax_sen", _("tax"))
    total = ringgit_column("total_sen", _("total"))
    refunded = ringgit_column("refunded_sen", _("refunded"))

    @admin.display(description=_("customer"), ordering="user__full_name")
    def customer_name(self, obj):
        return obj.user.full_name

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if len(term) >= 4 and " " not in term:
            # The key itself is secret: only its end is matched, never listed or sorted.
            keys = LicenceKey.objects.filter(order_line__order=OuterRef("pk"), key__endswith=term)
            queryset |= self.model.objects.filter(Exists(keys))
        return queryset, may_have_duplicates

    def action_allowed(self, user, order, action: str) -> bool:
        """Whether `user`'s role and `order`'s state allow `action` ("ship", "refund", "flag"):
        the one check behind the links offered on the order page and the action pages."""
        permissions, state_allows = {
            "ship": (SHIP_PERMISSIONS, self._shippable),
            "refund": (REFUND_PERMISSIONS, can_refund),
            "flag": (FLAG_PERMISSIONS, self._flaggable),
            "accept": (ACCEPT_PERMISSIONS, self._under_review),
            "close_lost": (CLOSE_LOST_PERMISSIONS, self._reversed_under_review),
        }[action]
        return user.has_perms(permissions) and state_allows(order)

    def order_actions(self, request, order) -> list[tuple[str, str]]:
        """The actions this viewer may take on this order in its state (links to their pages)."""
        labels = [
            ("ship", "admin:orders_order_ship", _("Mark shipped")),
            ("refund", "admin:orders_order_refund", _("Refund")),
            ("flag", "admin:orders_order_flag", _("Ask for verification documents")),
            ("accept", "admin:orders_order_accept_payment", _("Accept the payment and fulfil")),
            ("close_lost", "admin:orders_order_close_lost", _("Close: the money is lost")),
        ]
        return [
            (reverse(url_name, args=[order.pk]), label)
            for action, url_name, label in labels
            if self.action_allowed(request.user, order, action)
        ]

    @staticmethod
    def _flaggable(order) -> bool:
        # The same test request_verification makes.
        return (
            order.status == OrderStatus.PAID and not Fulfilment.objects.filter(order=order).exists()
        )

    @staticmethod
    def _under_review(order) -> bool:
        # Offered for every order under review: its page says what stands in the way, if
        # anything (another amount captured, a duplicate to refund first, stock run out).
        return order.status == OrderStatus.NEEDS_REVIEW

    @staticmethod
    def _reversed_under_review(order) -> bool:
        # The same test plan_closure makes: under review, its paying payment reversed.
        if order.status != OrderStatus.NEEDS_REVIEW:
            return False
        return order.attempts.filter(pays_for_order=True, status=AttemptStatus.REVERSED).exists()

    @staticmethod
    def _shippable(order) -> bool:
        return can_ship(
            order,
            has_fulfilment=Fulfilment.objects.filter(order=order).exists(),
            has_unshipped_goods=order.lines.filter(
                kind=ProductKind.PHYSICAL, shipped_at__isnull=True
            ).exists(),
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        order = self.get_object(request, object_id)
        extra_context = {
            **(extra_context or {}),
            "order_actions": (
                self.order_actions(request, order) + replace_key_links(request.user, order)
                if order is not None
                else []
            ),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def has_add_permission(self, request) -> bool:
        return False

    def has_export_permission(self, request) -> bool:
        return request.user.has_perm("orders.change_order")

    def history_events(self, obj):
        return [
            {
                "at": event.at,
                "what": event.get_kind_display(),
                "who": event.actor,
                "message": event.message,
            }
            for event in OrderEvent.objects.filter(order=obj).select_related("actor")
        ]

    @admin.action(description=_("Export the selected orders as CSV"), permissions=["export"])
    def export_csv(self, request, queryset):
        orders = list(queryset.select_related("user").order_by("placed_at", "pk"))
        header = [
            "number", "placed_at", "status", "email", "customer", "country",
            "subtotal", "tax", "total", "currency",
        ]  # fmt: skip
        rows = [
            [
                order.number,
                timezone.localtime(order.placed_at).isoformat(timespec="seconds"),
                order.status,
                order.email,
                order.user.full_name,
                order.billing_country,
                format_ringgit(order.subtotal_sen),
                format_ringgit(order.tax_sen),
                format_ringgit(order.total_sen),
                order.currency,
            ]
            for order in orders
        ]
        ip = client_ip(request)
        for order in orders:
            log_access(
                request.user,
                action=AccessAction.EXPORTED,
                target=order,
                subject=order.user,
                ip_address=ip,
                detail=f"admin orders CSV export ({len(orders)} orders)",
            )
        response = HttpResponse(csv_bytes(header, rows), content_type="text/csv; charset=utf-8")
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="orders-{stamp}.csv"'
        return response

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_ship_from_csv": request.user.has_perms(SHIP_PERMISSIONS),
        }
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        return [
            path(
                "ship-from-csv/",
                self.admin_site.admin_view(self.ship_csv_view),
                name="orders_order_ship_csv",
            ),
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
            path(
                "<int:order_id>/accept-payment/",
                self.admin_site.admin_view(self.accept_payment_view),
                name="orders_order_accept_payment",
            ),
            path(
                "<int:order_id>/close-lost/",
                self.admin_site.admin_view(self.close_lost_view),
                name="orders_order_close_lost",
            ),
            *super().get_urls(),
        ]

    def access_subject(self, obj):
        return obj.user

    def access_subject_ids(self, obj) -> list[int]:
        return [obj.user_id]

    def access_detail(self, obj) -> str:
        return f"admin order {obj.number}"

    def _allowed_order(self, request, order_id, *, action: str, permissions):
        """The order, or a redirect to its page when its state does not allow `action` (a
        viewer without the role gets the refused page). The refund page needs it: its form is
        built from what is left to refund."""
        require_permissions(request.user, *permissions)
        order = get_object_or_404(Order, pk=order_id)
        if not self.action_allowed(request.user, order, action):
            messages.error(request, _("This order's state does not allow that any more."))
            return order, redirect("admin:orders_order_change", order.pk)
        return order, None

    def _action_view(self, request, order_id, *, permissions, form_class, title, run):
        # The service refuses a state that does not allow the action, with its own reason.
        require_permissions(request.user, *permissions)
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
            permissions=SHIP_PERMISSIONS,
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
        """Choose lines and units (step "review" shows the lines, units and amount in ringgit
        with a new idempotency key), then confirm (step "confirm" refunds; the same key twice
        refunds once)."""
        require_permissions(request.user, *REFUND_PERMISSIONS)
        if request.method == "POST" and (done := self._refund_made(order_id, request.POST)):
            messages.info(
                request,
                _("This refund was already made: credit note %(number)s.")
                % {"number": done.credit_note_number},
            )
            return redirect("admin:orders_order_change", order_id)
        order, refused = self._allowed_order(
            request, order_id, action="refund", permissions=REFUND_PERMISSIONS
        )
        if refused:
            return refused
        lines = list(order.lines.order_by("id"))
        shipping = shipping_left_sen(order, lines)
        step = request.POST.get("step") if request.method == "POST" else None
        form = RefundForm(request.POST or None, lines=lines, shipping_sen=shipping)
        plan = None
        if step == "confirm" and form.is_valid() and form.cleaned_data.get("idempotency_key"):
            return self._confirm_refund(request, order, form)
        if step in {"review", "confirm"} and form.is_valid():
            data = form.cleaned_data
            try:
                plan = plan_refund(
                    order,
                    lines=form.chosen_lines(),
                    include_shipping=bool(data.get("include_shipping")),
                )
            except ShopError as error:
                messages.error(request, str(error))
            else:
                form = RefundForm(
                    {**form.data.dict(), "idempotency_key": str(uuid.uuid4())},
                    lines=lines,
                    shipping_sen=shipping,
                )
                form.is_valid()
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "order": order,
            "plan": plan,
            "already_refunded": order.refunded_sen,
            "title": _("Refund order %(number)s") % {"number": order.number},
            "opts": self.model._meta,
        }
        return render(request, "admin/orders/order_refund.html", context)

    @staticmethod
    def _refund_made(order_id: int, data) -> Refund | None:
        """The refund a confirm page's idempotency key already made (a second submit)."""
        try:
            key = uuid.UUID(data.get("idempotency_key") or "")
        except ValueError:
            return None
        return Refund.objects.filter(
            order_id=order_id, idempotency_key=key, status=RefundStatus.DONE
        ).first()

    def _confirm_refund(self, request, order, form):
        data = form.cleaned_data
        key = data["idempotency_key"]
        made_before = self._refund_made(order.pk, {"idempotency_key": str(key)}) is not None
        try:
            refund = refund_order_lines(
                order,
                lines=form.chosen_lines(),
                reason=data["reason"],
                acting_user=request.user,
                include_shipping=bool(data.get("include_shipping")),
                return_to_stock=bool(data.get("return_to_stock")),
                idempotency_key=key,
            )
        except ShopError as error:
            messages.error(request, str(error))
            return redirect("admin:orders_order_change", order.pk)
        if made_before:  # a second submit of the confirm page
            messages.info(
                request,
                _("This refund was already made: credit note %(number)s.")
                % {"number": refund.credit_note_number},
            )
        else:
            messages.success(
                request,
                _("Refunded %(amount)s: credit note %(number)s.")
                % {
                    "amount": format_ringgit(refund.amount_sen),
                    "number": refund.credit_note_number,
                },
            )
        return redirect("admin:orders_order_change", order.pk)

    def flag_view(self, request, order_id: int):
        return self._action_view(
            request,
            order_id,
            permissions=FLAG_PERMISSIONS,
            form_class=FlagForVerificationForm,
            title=_("Hold order %(number)s for verification documents"),
            run=lambda order, data: request_verification(
                order, reason=data["reason"], acting_user=request.user
            ),
        )

    def accept_payment_view(self, request, order_id: int):
        """Resolve a review by accepting the order's payment: the page says what accepting
        does (or what stands in the way); the POST accepts, once (a second click or another
        member of staff gets the service's "not under review" message)."""
        require_permissions(request.user, *ACCEPT_PERMISSIONS)
        order = get_object_or_404(Order, pk=order_id)
        if request.method == "POST":
            try:
                plan = accept_payment(order, acting_user=request.user)
            except ShopError as error:
                messages.error(request, str(error))
            else:
                messages.success(
                    request,
                    _("Payment %(reference)s accepted: order %(number)s is %(status)s.")
                    % {
                        "reference": plan.attempt.merchant_reference,
                        "number": order.number,
                        "status": OrderStatus(plan.status).label,
                    },
                )
            return redirect("admin:orders_order_change", order.pk)
        plan, problem = plan_or_refusal(plan_acceptance, order)
        context = {
            **self.admin_site.each_context(request),
            "order": order,
            "plan": plan,
            "problem": problem,
            "status_after": OrderStatus(plan.status).label if plan else "",
            "title": _("Accept the payment of order %(number)s") % {"number": order.number},
            "opts": self.model._meta,
        }
        return render(request, "admin/orders/order_accept_payment.html", context)

    def close_lost_view(self, request, order_id: int):
        """Close an order whose payment the bank took back: the page says what closing does
        (or why it cannot); the POST closes it, once (a second click or another member of
        staff gets the service's "not under review" message and nothing changes)."""
        require_permissions(request.user, *CLOSE_LOST_PERMISSIONS)
        order = get_object_or_404(Order, pk=order_id)
        if request.method == "POST":
            try:
                close_lost_payment(order, acting_user=request.user)
            except ShopError as error:
                messages.error(request, str(error))
            else:
                messages.success(
                    request,
                    _("Order %(number)s closed: the payment is lost, its licence keys revoked.")
                    % {"number": order.number},
                )
            return redirect("admin:orders_order_change", order.pk)
        plan, problem = plan_or_refusal(plan_closure, order)
        context = {
            **self.admin_site.each_context(request),
            "order": order,
            "plan": plan,
            "restock_units": sum(plan.restock.values()) if plan else 0,
            "problem": problem,
            "title": _("Close order %(number)s: the money is lost") % {"number": order.number},
            "opts": self.model._meta,
        }
        return render(request, "admin/orders/order_close_lost.html", context)

    def ship_csv_view(self, request):
        require_permissions(request.user, *SHIP_PERMISSIONS)
        form = ShippingCsvForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                shipments = ship_orders_from_csv(
                    upload.read(1024 * 1024 + 1), acting_user=request.user
                )
            except ShopError as error:
                messages.error(request, str(error))
            else:
                messages.success(
                    request, _("%(n)d order(s) marked shipped.") % {"n": len(shipments)}
                )
                return redirect("admin:orders_order_changelist")
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "title": _("Ship orders from a CSV of tracking numbers"),
            "opts": self.model._meta,
        }
        return render(request, "admin/orders/ship_csv.html", context)
