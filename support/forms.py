"""Forms of the customer pages. They validate; services save."""

from django import forms
from django.utils.translation import gettext_lazy as _

from orders.models import Order

from .attachments import AttachmentsField
from .models import Category, Rating
from .services import MAX_MESSAGE_CHARS

SUBJECT_CHARS = 150


class InquiryForm(forms.Form):
    """A new inquiry. Guests give their name and email; customers may name one of their
    orders. `website` is a honeypot: hidden from people, filled by bots."""

    name = forms.CharField(label=_("Your name"), max_length=150, required=False)
    email = forms.EmailField(label=_("Your email address"), required=False)
    category = forms.ChoiceField(label=_("What is it about?"), choices=Category.choices)
    order = forms.ModelChoiceField(
        label=_("Which order? (optional)"), queryset=Order.objects.none(), required=False
    )
    subject = forms.CharField(label=_("Subject"), max_length=SUBJECT_CHARS)
    message = forms.CharField(
        label=_("Your message"),
        max_length=MAX_MESSAGE_CHARS,
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    attachments = AttachmentsField(label=_("Files (optional)"))
    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if user is not None and user.is_authenticated:
            del self.fields["name"]
            del self.fields["email"]
            self.fields["order"].queryset = Order.objects.for_customer(user).order_by(
                "-placed_at", "-id"
            )
            self.fields["order"].label_from_instance = lambda order: (
                f"{order.number} · {order.placed_at:%d %b %Y}"
            )
        else:
            del self.fields["order"]
            self.fields["email"].required = True
            self.fields["name"].required = True

    def clean_message(self):
        text = self.cleaned_data["message"].strip()
        if not text:
            raise forms.ValidationError(_("Write a message."))
        return text

    @property
    def is_spam(self) -> bool:
        return bool(self.data.get("website"))


class ReplyForm(forms.Form):
    message = forms.CharField(
        label=_("Your reply"),
        max_length=MAX_MESSAGE_CHARS,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    attachments = AttachmentsField(label=_("Files (optional)"))


class RatingForm(forms.Form):
    rating = forms.ChoiceField(
        label=_("How was our answer?"), choices=Rating.choices, widget=forms.RadioSelect
    )


class FaqSearchForm(forms.Form):
    q = forms.CharField(label=_("Search the FAQ"), max_length=100, required=False)
