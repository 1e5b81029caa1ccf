"""Operations on markets, products and variants, shared by the API, the admin and imports."""

import re

from django.db import IntegrityError, transaction

from clientbase.catalog.models import Market, Product, Variant
from clientbase.core.errors import Conflict, FieldError, Invalid
from clientbase.core.currencies import is_currency

_COUNTRY_RE = re.compile(r"^[A-Z]{2}$")


def validate_market(market: Market) -> None:
    """Raise Invalid naming every bad field of a market."""
    errors: list[FieldError] = []
    bad_countries = [c for c in market.countries if not isinstance(c, str) or not _COUNTRY_RE.match(c)]
    if bad_countries:
        errors.append(FieldError("countries", f"Not ISO 3166-1 alpha-2 country codes: {bad_countries}."))
    if not market.currencies:
        errors.append(FieldError("currencies", "A market needs at least one currency."))
    bad_currencies = [c for c in market.currencies if not isinstance(c, str) or not is_currency(c)]
    if bad_currencies:
        errors.append(FieldError("currencies", f"Not ISO 4217 currency codes: {bad_currencies}."))
    if market.default_currency not in market.currencies:
        errors.append(FieldError("default_currency", "The default currency must be one of the market's currencies."))
    if errors:
        raise Invalid(detail="; ".join(f"{e.field}: {e.message}" for e in errors), code="validation",
                      errors=errors)


def _unique(model, field: str, value, obj) -> None:
    if value and model.objects.filter(**{field: value}).exclude(pk=obj.pk).exists():
        raise Conflict.on(field, f"A {model._meta.verbose_name} with {field} '{value}' already exists.",
                          code=f"duplicate_{field}")


def _save(obj, field: str) -> None:
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:
        raise Conflict.on(field, f"A {obj._meta.verbose_name} with {field} "
                                 f"'{getattr(obj, field)}' already exists.",
                          code=f"duplicate_{field}") from exc


def save_market(market: Market) -> Market:
    market.countries = sorted({c.upper() if isinstance(c, str) else c for c in market.countries})
    market.currencies = list(dict.fromkeys(c.upper() if isinstance(c, str) else c for c in market.currencies))
    market.default_currency = (market.default_currency or
                               (market.currencies[0] if market.currencies else "")).upper()
    validate_market(market)
    _unique(Market, "key", market.key, market)
    _save(market, "key")
    return market


def save_product(product: Product) -> Product:
    product.key = product.key or None
    _unique(Product, "key", product.key, product)
    _save(product, "key")
    return product


def save_variant(variant: Variant) -> Variant:
    if not isinstance(variant.options, dict) or not all(
            isinstance(k, str) and isinstance(v, (str, int, float, bool)) for k, v in variant.options.items()):
        raise Invalid.on("options", "Options are a flat object of names to values, e.g. {\"size\": \"M\"}.")
    _unique(Variant, "sku", variant.sku, variant)
    _save(variant, "sku")
    return variant
