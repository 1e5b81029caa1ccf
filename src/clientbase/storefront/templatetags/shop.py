"""How the shop writes numbers."""

from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def quantity(value: Decimal) -> str:
    """A quantity without trailing zeros or an exponent: 10, 2.5."""
    return f"{Decimal(value).normalize():f}"
