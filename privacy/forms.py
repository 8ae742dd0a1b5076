from django import forms
from django.utils.translation import gettext_lazy as _


class AcceptPolicyForm(forms.Form):
    """The version the person read is posted back, so a version published while they were
    reading is not accepted on their behalf."""

    policy_id = forms.IntegerField(widget=forms.HiddenInput)
    agree = forms.BooleanField(
        label=_("I have read and accept this privacy policy."),
        error_messages={"required": _("Tick the box to accept the privacy policy.")},
    )
