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


class DataRequestForm(forms.Form):
    """A request to the data protection officer that the privacy centre cannot do by itself."""

    KINDS = [
        (
            "correction",
            _("Correct data I cannot edit myself (for example the name on a paid order)"),
        ),
        ("objection", _("Object to a use of my data")),
        ("complaint", _("Make a privacy complaint")),
    ]
    kind = forms.ChoiceField(label=_("What do you ask?"), choices=KINDS)
    details = forms.CharField(
        label=_("Details"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What is wrong and what it should be, or what you object to."),
    )


class CloseAccountForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("I understand that closing my account cannot be undone."),
        error_messages={"required": _("Tick the box to confirm you want to close your account.")},
    )
