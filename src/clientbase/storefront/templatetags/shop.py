"""How the shop writes numbers."""

from decimal import Decimal

from django import template

from clientbase.core.countries import COUNTRY_NAMES
from clientbase.core.currencies import quantize

register = template.Library()


@register.filter
def quantity(value: Decimal) -> str:
    """A quantity without trailing zeros or an exponent: 10, 2.5."""
    return f"{Decimal(value).normalize():f}"


@register.filter
def money(value: Decimal, currency: str) -> str:
    """An amount in its currency's minor units: 41.6500 EUR → 41.65."""
    return f"{quantize(Decimal(value), currency):f}"


@register.filter
def country_name(code: str) -> str:
    """"DE" → "Germany" (the code itself when unknown)."""
    return COUNTRY_NAMES.get(code, code)
