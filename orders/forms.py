from django import forms
from django.utils.translation import gettext_lazy as _

from .services.cart import MAX_QUANTITY_PER_LINE


class QuantityForm(forms.Form):
    quantity = forms.IntegerField(label=_("Quantity"), min_value=0, max_value=MAX_QUANTITY_PER_LINE)


class AddToCartForm(forms.Form):
    quantity = forms.IntegerField(
        label=_("Quantity"), min_value=1, max_value=MAX_QUANTITY_PER_LINE, initial=1
    )


class ShopFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    category = forms.SlugField(label=_("Category"), required=False)


class CheckoutForm(forms.Form):
    """Which of the customer's addresses to use. The address choices are the customer's own
    (set by the view), so another customer's address id is not a valid choice."""

    billing_address = forms.ModelChoiceField(
        queryset=None, label=_("Billing address"), empty_label=None
    )
    shipping_address = forms.ModelChoiceField(
        queryset=None, label=_("Shipping address"), required=False, empty_label=None
    )

    def __init__(self, *args, addresses, needs_shipping: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["billing_address"].queryset = addresses
        self.fields["billing_address"].label_from_instance = lambda a: ", ".join(a.lines())
        if needs_shipping:
            self.fields["shipping_address"].queryset = addresses
            self.fields["shipping_address"].required = True
            self.fields["shipping_address"].label_from_instance = lambda a: ", ".join(a.lines())
        else:
            del self.fields["shipping_address"]


class ShipForm(forms.Form):
    carrier = forms.CharField(max_length=60)
    tracking_number = forms.CharField(max_length=80)
