"""Money is integer sen. Tax is rounded half up to the sen, per line."""

from decimal import ROUND_HALF_UP, Decimal

from ipmart.core.money import format_ringgit


def tax_sen(amount_sen: int, rate_percent: Decimal) -> int:
    return int((Decimal(amount_sen) * rate_percent / 100).quantize(Decimal(1), ROUND_HALF_UP))


def format_myr(amount_sen: int) -> str:
    """1234567 → "RM 12,345.67"."""
    return format_ringgit(amount_sen)
