"""Money in admin: stored as integer sen, shown and typed in ringgit ("RM 1,642.74").

`format_ringgit` is the one display helper; `RinggitField` is the form field a store manager
types "1642.74" (or "RM 1,642.74") into and that cleans to 164274 sen; `RinggitFieldsMixin`
makes a ModelAdmin use it for the integer sen fields it names."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


def format_ringgit(amount_sen: int | None) -> str:
    """164274 → "RM 1,642.74"; -500 → "−RM 5.00"; None → "—"."""
    if amount_sen is None:
        return "—"
    amount = int(amount_sen)
    sign = "−" if amount < 0 else ""
    ringgit, sen = divmod(abs(amount), 100)
    return f"{sign}RM {ringgit:,}.{sen:02d}"


def sen_to_ringgit_text(amount_sen: int | None) -> str:
    """164274 → "1642.74" (the value a form input shows)."""
    if amount_sen is None or amount_sen == "":
        return ""
    ringgit, sen = divmod(int(amount_sen), 100)
    return f"{ringgit}.{sen:02d}"


def parse_ringgit(text: str) -> int:
    """ "RM 1,642.74" / "1642.7" / "1642" → sen. Raises ValueError for anything else, including
    fractions of a sen."""
    cleaned = str(text).strip().upper().removeprefix("RM").strip().replace(",", "")
    if not cleaned:
        raise ValueError("empty")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation as error:
        raise ValueError(text) from error
    if not amount.is_finite():
        raise ValueError(text)
    sen = amount * 100
    if sen != sen.quantize(Decimal(1), ROUND_HALF_UP):
        raise ValueError("fraction of a sen")
    return int(sen)


class RinggitInput(forms.TextInput):
    """A text input showing sen as ringgit; its CSS class puts "RM" in front (admin CSS)."""

    def __init__(self, attrs=None):
        super().__init__({"inputmode": "decimal", "class": "ringgit-input", **(attrs or {})})

    def format_value(self, value):
        if isinstance(value, int):
            return sen_to_ringgit_text(value)
        return super().format_value(value)


class RinggitField(forms.Field):
    """Typed in ringgit, cleaned to integer sen."""

    widget = RinggitInput
    default_error_messages = {
        "invalid": _("Enter an amount in ringgit, e.g. 1642.74."),
        "min_value": _("The amount cannot be negative."),
    }

    def __init__(self, *, min_sen: int | None = 0, max_sen: int | None = None, **kwargs):
        self.min_sen, self.max_sen = min_sen, max_sen
        kwargs.setdefault("help_text", _("In ringgit (RM), e.g. 1642.74."))
        super().__init__(**kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, int):
            return value
        try:
            sen = parse_ringgit(value)
        except ValueError as error:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from error
        if self.min_sen is not None and sen < self.min_sen:
            raise ValidationError(self.error_messages["min_value"], code="min_value")
        if self.max_sen is not None and sen > self.max_sen:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return sen


class RinggitFieldsMixin:
    """ModelAdmin mixin: `ringgit_fields = {"price_sen": _("price")}` turns those integer sen
    columns into ringgit inputs labelled with the given words. A column that is only shown (a
    list column, a read-only field, an inline's cell) is `ringgit_column` below, on any admin or
    inline, with or without this mixin: `amount = ringgit_column("amount_sen", _("amount"))`."""

    ringgit_fields: dict = {}

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name in self.ringgit_fields:
            return RinggitField(
                label=self.ringgit_fields[db_field.name],
                required=not db_field.blank,
                max_sen=2_147_483_647,
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)


def ringgit_column(field_name: str, description):
    """An admin list/readonly column showing `field_name` (sen) in ringgit, sortable by it."""

    def column(obj_or_admin, obj=None):
        target = obj if obj is not None else obj_or_admin
        return format_ringgit(getattr(target, field_name))

    column.short_description = description
    column.admin_order_field = field_name
    column.__name__ = f"{field_name.removesuffix('_sen')}_rm"
    return column
