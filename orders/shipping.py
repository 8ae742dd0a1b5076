"""Shipping zones and the methods offered in each (no database writes here).

A zone comes from the shipping address: Malaysia with a state of Sabah, Sarawak or Labuan is
East Malaysia; the rest of Malaysia is Peninsular; any other country is international. The
methods of each zone are cached per catalogue version (saving one in admin bumps it), so the
cart's estimate costs no query once warm."""

import re
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from .catalogue import cached_fragment, catalogue_version
from .models import MalayFieldsMixin, ShippingMethod, ShippingZone, TaxRate
from .money import tax_sen

EAST_MALAYSIA_STATES = ("sabah", "sarawak", "labuan")


def _normalise_state(state: str) -> str:
    return re.sub(r"[^a-z ]", " ", state.lower())


def zone_for(country_code: str, state: str) -> ShippingZone:
    """The shipping zone of an address given its ISO country code and state."""
    if (country_code or "").upper() != "MY":
        return ShippingZone.INTERNATIONAL
    words = set(_normalise_state(state or "").split())
    if words & set(EAST_MALAYSIA_STATES):
        return ShippingZone.EAST
    return ShippingZone.PENINSULAR


def zone_for_address(address) -> ShippingZone:
    return zone_for(address.country.code or "", address.state)


@dataclass(frozen=True)
class MethodOption(MalayFieldsMixin):
    """A method as the customer sees it (cached, so plain values only)."""

    id: int
    zone: str
    name: str
    name_ms: str
    price_sen: int
    min_days: int
    max_days: int

    @property
    def display_name(self) -> str:
        return self.localised("name")


def offered_methods() -> dict[str, list[MethodOption]]:
    """Active methods per zone, cheapest first within each position (cached per catalogue
    version; placing an order reads the table itself)."""

    def build() -> dict[str, list[MethodOption]]:
        methods: dict[str, list[MethodOption]] = {zone: [] for zone in ShippingZone.values}
        for method in ShippingMethod.objects.active().order_by("zone", "position", "price_sen"):
            methods[method.zone].append(
                MethodOption(
                    method.pk,
                    method.zone,
                    method.name,
                    method.name_ms,
                    method.price_sen,
                    method.min_days,
                    method.max_days,
                )
            )
        return methods

    return cached_fragment(f"orders:shipping-methods:{catalogue_version()}", build)


def cheapest_in_zone(zone: str) -> MethodOption | None:
    options = offered_methods().get(zone) or []
    return min(options, key=lambda option: option.price_sen) if options else None


def shipping_tax_rate(rates: dict[str, Decimal] | None = None) -> Decimal:
    """The rate shipping is taxed at: the TaxRate row named by SHIPPING_TAX_RATE_KIND (the
    service tax), or 0 when the setting is empty. `rates` is the kind → rate map if the caller
    already has it."""
    kind = settings.SHIPPING_TAX_RATE_KIND
    if not kind:
        return Decimal(0)
    if rates is None:
        rate = TaxRate.objects.filter(kind=kind).values_list("rate_percent", flat=True).first()
        return rate if rate is not None else Decimal(0)
    return Decimal(rates.get(kind, 0))


def shipping_tax_sen(price_sen: int, rate: Decimal) -> int:
    return tax_sen(price_sen, rate)
