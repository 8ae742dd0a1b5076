from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms
from django.contrib.auth.hashers import make_password
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from marketing.forms import topic_field_name
from marketing.selectors import offered_topics
from privacy.services import get_current_policy

from .models import Address, User


class SignupForm(AllauthSignupForm):
    """allauth's signup plus the customer's name, the required acceptance of the privacy
    policy version shown on the page, and one unticked box per marketing topic (opt-in)."""

    full_name = forms.CharField(label=_("Full name"), max_length=150)
    policy_id = forms.IntegerField(widget=forms.HiddenInput, required=False)
    accept_privacy_policy = forms.BooleanField(
        label=_("I have read the privacy policy."),
        error_messages={"required": _("You need to accept the privacy policy to open an account.")},
    )

    field_order = ["full_name", "email", "password1", "password2", "accept_privacy_policy"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.current_policy = get_current_policy()
        if self.current_policy is not None:
            self.fields["policy_id"].initial = self.current_policy.pk
        language = get_language()
        self.marketing_topics = list(offered_topics())
        for topic in self.marketing_topics:
            self.fields[topic_field_name(topic)] = forms.BooleanField(
                label=topic.current_version.consent_text_for(language),
                required=False,
                initial=False,
            )

    def topic_fields(self):
        return [self[topic_field_name(topic)] for topic in self.marketing_topics]

    def chosen_topics(self):
        return [t for t in self.marketing_topics if self.cleaned_data.get(topic_field_name(t))]

    def clean(self):
        cleaned = super().clean()
        policy = self.current_policy
        if policy is None:
            raise forms.ValidationError(
                _("Signing up is not possible right now. Please try later.")
            )
        posted = cleaned.get("policy_id")
        if posted != policy.pk:  # missing or stale: no proof of which version was read
            self.data = self.data.copy()
            self.data["policy_id"] = policy.pk
            self.add_error(
                "accept_privacy_policy",
                _(
                    "The privacy policy was updated while you were signing up. Please read it and tick the box again."
                ),
            )
        cleaned["policy"] = policy
        return cleaned

    def try_save(self, request):
        """Both answers do the same work: the password is hashed once here (the slow part,
        ~0.3 s with Django's PBKDF2) whether or not the email already has an account (a new
        account stores this hash: accounts.adapters.AccountAdapter.save_user), and each answer
        sends its one email through the outbox (accounts/emails.py), never talking to the SMTP
        server in the request. What is left between them is evened out by the view
        (accounts.pacing)."""
        self.password_hash = make_password(self.cleaned_data.get("password1") or "")
        return super().try_save(request)


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["full_name", "phone", "preferred_language"]
        widgets = {"phone": forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"})}


class AddressForm(forms.ModelForm):
    class Meta:
        model = Address
        fields = [*Address.ENTRY_FIELDS, *Address.DEFAULT_FIELDS]
        widgets = {
            "full_name": forms.TextInput(attrs={"autocomplete": "name"}),
            "line1": forms.TextInput(attrs={"autocomplete": "address-line1"}),
            "line2": forms.TextInput(attrs={"autocomplete": "address-line2"}),
            "city": forms.TextInput(attrs={"autocomplete": "address-level2"}),
            "state": forms.TextInput(attrs={"autocomplete": "address-level1"}),
            "postcode": forms.TextInput(attrs={"autocomplete": "postal-code"}),
            "phone": forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
        }
