from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ipmart.core.money import format_ringgit
from privacy.intake import refuse, validate_upload

from .models import DocumentKind, RejectionReason
from .search import SORTS
from .services.cart import MAX_QUANTITY_PER_LINE
from .services.keys import REASON_MAX_LENGTH


class QuantityForm(forms.Form):
    quantity = forms.IntegerField(label=_("Quantity"), min_value=0, max_value=MAX_QUANTITY_PER_LINE)


class AddToCartForm(forms.Form):
    quantity = forms.IntegerField(
        label=_("Quantity"), min_value=1, max_value=MAX_QUANTITY_PER_LINE, initial=1
    )


class ShopFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    category = forms.SlugField(label=_("Category"), required=False)
    sort = forms.ChoiceField(label=_("Sort by"), required=False, choices=list(SORTS.items()))


def delivery_estimate(min_days: int, max_days: int) -> str:
    if min_days == max_days:
        return ngettext("%(days)s working day", "%(days)s working days", max_days) % {
            "days": max_days
        }
    return ngettext("%(min)s–%(max)s working day", "%(min)s–%(max)s working days", max_days) % {
        "min": min_days,
        "max": max_days,
    }


class CheckoutForm(forms.Form):
    """Which of the customer's addresses to use and, for goods, how to post them. The address
    choices are the customer's own (set by the view), so another customer's address id is not a
    valid choice; the shipping methods offered are those of the chosen shipping address's zone
    (`orders.shipping.zone_for`), so a method of another zone is refused too."""

    billing_address = forms.ModelChoiceField(
        queryset=None, label=_("Billing address"), empty_label=None
    )
    shipping_address = forms.ModelChoiceField(
        queryset=None, label=_("Shipping address"), required=False, empty_label=None
    )
    shipping_method = forms.TypedChoiceField(
        label=_("Shipping method"),
        coerce=int,
        required=False,
        widget=forms.RadioSelect,
        error_messages={
            "invalid_choice": _("Choose one of the shipping methods offered for this address.")
        },
    )

    def __init__(
        self,
        *args,
        addresses,
        needs_shipping: bool,
        methods_by_zone: dict | None = None,
        tax_rate=None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        # Choices are rendered from one list of the customer's addresses; a posted id is still
        # checked against the customer's queryset.
        listed = list(addresses)

        def label(address) -> str:
            return ", ".join(address.lines())

        choices = [(address.pk, label(address)) for address in listed]
        self.fields["billing_address"].queryset = addresses
        self.fields["billing_address"].label_from_instance = label
        self.fields["billing_address"].choices = choices
        self.zone = ""
        self.methods: list = []
        if needs_shipping:
            from .models import ShippingZone
            from .shipping import zone_for_address

            self.fields["shipping_address"].queryset = addresses
            self.fields["shipping_address"].required = True
            self.fields["shipping_address"].label_from_instance = label
            self.fields["shipping_address"].choices = choices
            address = self._chosen_shipping_address(listed)
            if address is not None:
                self.zone = zone_for_address(address)
                self.methods = (methods_by_zone or {}).get(self.zone, [])
            field = self.fields["shipping_method"]
            field.required = True
            field.choices = [(m.id, self._method_label(m, tax_rate)) for m in self.methods]
            if self.zone:
                field.help_text = _("Methods for %(zone)s.") % {
                    "zone": ShippingZone(self.zone).label
                }
            if len(self.methods) >= 1 and not self.is_bound:
                self.initial.setdefault("shipping_method", self.methods[0].id)
        else:
            del self.fields["shipping_address"]
            del self.fields["shipping_method"]

    @staticmethod
    def _method_label(method, tax_rate) -> str:
        from .money import tax_sen

        price = method.price_sen + (tax_sen(method.price_sen, tax_rate) if tax_rate else 0)
        amount = format_ringgit(price) if price else str(_("Free"))
        return f"{method.display_name} · {amount} · {delivery_estimate(method.min_days, method.max_days)}"

    def _chosen_shipping_address(self, addresses):
        """The address the methods are for: the one submitted, else the initial one."""
        chosen = self.data.get("shipping_address") if self.is_bound else None
        if chosen in (None, ""):
            chosen = self.initial.get("shipping_address")
            chosen = getattr(chosen, "pk", chosen)
        for address in addresses:
            if str(address.pk) == str(chosen):
                return address
        return None

    def clean(self):
        data = super().clean()
        address = data.get("shipping_address")
        if address is not None and address.country.code == "MY" and not address.state.strip():
            self.add_error(
                "shipping_address",
                _(
                    "Add the state to this address in your address book: we need it to post to Malaysia."
                ),
            )
        if "shipping_method" in self.fields and data.get("shipping_method") is not None:
            data["shipping_method"] = next(
                (m for m in self.methods if m.id == data["shipping_method"]), None
            )
        if "shipping_method" in self.fields and address is not None and not self.methods:
            self.add_error(
                "shipping_method", _("Sorry, we do not post to this address. Choose another one.")
            )
        return data


class ShipForm(forms.Form):
    carrier = forms.CharField(max_length=60)
    tracking_number = forms.CharField(max_length=80)


class DocumentUploadForm(forms.Form):
    """One verification document: its kind and the file. The file goes through the safe-upload
    intake (type from the bytes, images re-encoded, PDFs checked in a child process); the
    cleaned value is a privacy.intake.CleanFile."""

    kind = forms.ChoiceField(label=_("Kind of document"), choices=DocumentKind.choices)
    file = forms.FileField(
        label=_("File (PDF, JPEG or PNG)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"}),
    )

    def __init__(self, *args, oversize: set[str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.oversize = oversize or set()

    def clean_file(self):
        return validate_upload(self.cleaned_data["file"], allowed=("pdf", "jpeg", "png"))

    def clean(self):
        # A file dropped by the size cap arrives as "missing": say it was too large instead.
        if "file" in self.oversize:
            self.errors.pop("file", None)
            self.add_error("file", refuse("too_large", mb=settings.DOCUMENT_MAX_UPLOAD_MB))
        return super().clean()


class RejectDocumentForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=RejectionReason.choices)
    note = forms.CharField(
        label=_("Note to the customer"),
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean(self):
        data = super().clean()
        if data.get("reason") == RejectionReason.OTHER and not (data.get("note") or "").strip():
            self.add_error("note", _("Write the reason in the note."))
        return data


class FlagForVerificationForm(forms.Form):
    reason = forms.CharField(max_length=200, label=_("Why (kept in the order's history)"))


class KeyReplacementForm(forms.Form):
    # Blank or spaces only: refused by the form (the service checks it again).
    reason = forms.CharField(
        max_length=REASON_MAX_LENGTH,
        label=_("Why (kept in the order's history, not shown to the customer)"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    )


class RefundForm(forms.Form):
    """Which units of which lines to refund (a number field per line, `qty_<line id>`), the
    shipping, whether returned goods go back in stock, and why. The confirm step carries the
    same values in hidden fields with the idempotency key the review step made."""

    reason = forms.CharField(max_length=200, label=_("Reason (kept in the order's history)"))
    include_shipping = forms.BooleanField(required=False)
    return_to_stock = forms.BooleanField(
        required=False,
        initial=True,
        label=_("Put shipped goods that come back into stock"),
        help_text=_("Goods that were never shipped always go back into stock."),
    )
    idempotency_key = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, lines=(), shipping_sen: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        from ipmart.core.money import format_ringgit

        self.order_lines = [line for line in lines if line.refundable_quantity]
        for line in self.order_lines:
            self.fields[f"qty_{line.pk}"] = forms.IntegerField(
                label=line.product_name,
                min_value=0,
                max_value=line.refundable_quantity,
                initial=0,
                required=False,
            )
        if shipping_sen:
            self.fields["include_shipping"].label = _("Refund the shipping (%(amount)s)") % {
                "amount": format_ringgit(shipping_sen)
            }
        else:
            del self.fields["include_shipping"]
        if not any(line.kind == "physical" and line.shipped_at for line in self.order_lines):
            del self.fields["return_to_stock"]

    def line_fields(self):
        return [(line, self[f"qty_{line.pk}"]) for line in self.order_lines]

    def chosen_lines(self) -> dict[int, int]:
        return {
            line.pk: self.cleaned_data.get(f"qty_{line.pk}") or 0
            for line in self.order_lines
            if self.cleaned_data.get(f"qty_{line.pk}")
        }
