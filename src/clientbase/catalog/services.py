"""Operations on markets, products and variants, shared by the API, the admin and imports."""

from clientbase.catalog.models import Market, Product, Variant
from clientbase.core.errors import FieldError, Invalid
from clientbase.core.unique import check_unique, save_unique
from clientbase.core.countries import is_country
from clientbase.core.currencies import is_currency


def validate_market(market: Market) -> None:
    """Raise Invalid naming every bad field of a market."""
    errors: list[FieldError] = []
    bad_countries = [c for c in market.countries if not isinstance(c, str) or not is_country(c)]
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


def save_market(market: Market) -> Market:
    market.countries = sorted({c.upper() if isinstance(c, str) else c for c in market.countries})
    market.currencies = list(dict.fromkeys(c.upper() if isinstance(c, str) else c for c in market.currencies))
    market.default_currency = (market.default_currency or
                               (market.currencies[0] if market.currencies else "")).upper()
    validate_market(market)
    check_unique(market, "key")
    save_unique(market, "key")
    return market


def save_product(product: Product) -> Product:
    product.key = product.key or None
    check_unique(product, "key")
    save_unique(product, "key")
    return product


def save_variant(variant: Variant) -> Variant:
    if not isinstance(variant.options, dict) or not all(
            isinstance(k, str) and isinstance(v, (str, int, float, bool)) for k, v in variant.options.items()):
        raise Invalid.on("options", "Options are a flat object of names to values, e.g. {\"size\": \"M\"}.")
    check_unique(variant, "sku")
    save_unique(variant, "sku")
    return variant
