"""How the shop writes numbers."""

from decimal import Decimal

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

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


@register.simple_tag(takes_context=True)
def content_slot(context, key: str) -> str:
    """The content slot `key` as this visitor sees it: the variant of the
    first visitor group it matches, else the slot's default; nothing when
    the shop has no such slot. (Its HTML was sanitized when saved.)"""
    from clientbase.storefront.personalization import audience

    request = context.get("request")
    html = audience(request).slot_html(key) if request is not None else None
    return mark_safe(f'<div class="slot" data-slot="{escape(key)}">{html}</div>') if html else ""


@register.inclusion_tag("storefront/_preview_bar.html", takes_context=True)
def preview_bar(context) -> dict:
    """The bar a previewing staff member sees: as whom, and why each
    visitor group matched or not."""
    from clientbase.storefront.personalization import preview_context

    request = context.get("request")
    return {"request": request, **(preview_context(request) if request is not None else {})}
