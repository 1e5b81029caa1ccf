"""Writes to markets, products and variants: the one path for the API, the
back office and imports.

Each write takes the acting account (`actor`; None is the system) and goes
through `clientbase.core.writes`: the actor's permission, the version the
caller read (`expected_version`, from If-Match or the back office's page;
None checks nothing), the rules below, then the save with its history.

Deleting a market is a pricing operation (its price rows go first), see
`clientbase.pricing.services.delete_market`.
"""

from collections.abc import Mapping
from typing import Any

from clientbase.catalog.models import Market, Product, Variant
from clientbase.core import writes
from clientbase.core.countries import is_country
from clientbase.core.currencies import is_currency
from clientbase.core.errors import FieldError, Invalid
from clientbase.core.text import check_plain_text
from clientbase.core.unique import check_unique
from clientbase.core.versions import ExpectedVersion


# --- Markets ----------------------------------------------------------------


def normalize_market(market: Market) -> None:
    """Codes in upper case, countries sorted and unique, currencies unique in
    the order given, the default currency the first one unless chosen."""
    market.countries = sorted({c.upper() if isinstance(c, str) else c for c in market.countries})
    market.currencies = list(dict.fromkeys(c.upper() if isinstance(c, str) else c for c in market.currencies))
    market.default_currency = (market.default_currency or
                               (market.currencies[0] if market.currencies else "")).upper()


def validate_market(market: Market) -> None:
    """Raise Invalid naming every bad field of a (normalized) market."""
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


def _check_market(market: Market) -> None:
    check_plain_text(market.name, "name")
    normalize_market(market)
    validate_market(market)
    check_unique(market, "key")
    # Price rows keep their market's currencies: clientbase.pricing.signals
    # refuses dropping one that rows use, when the market is saved (409).


def create_market(market: Market, *, actor) -> Market:
    return writes.create(market, actor=actor, check=_check_market, unique="key")


def update_market(market: Market, *, changes: Mapping[str, Any], actor,
                  expected_version: ExpectedVersion = None) -> Market:
    return writes.update(market, changes, actor=actor, check=_check_market,
                         expected_version=expected_version, unique="key")


# --- Products -----------------------------------------------------------------


def _check_product(product: Product) -> None:
    check_plain_text(product.name, "name")
    product.key = product.key or None
    check_unique(product, "key")


def create_product(product: Product, *, actor) -> Product:
    return writes.create(product, actor=actor, check=_check_product, unique="key")


def update_product(product: Product, *, changes: Mapping[str, Any], actor,
                   expected_version: ExpectedVersion = None) -> Product:
    return writes.update(product, changes, actor=actor, check=_check_product,
                         expected_version=expected_version, unique="key")


def delete_product(product: Product, *, actor, expected_version: ExpectedVersion = None) -> None:
    """Delete a product with its variants and their prices; the actor needs
    the permission to delete each kind it has."""
    writes.delete(product, actor=actor, expected_version=expected_version)


# --- Variants -----------------------------------------------------------------


def validate_options(options: Any) -> None:
    """Options are a flat object of names to plain values (size, colour)."""
    if not isinstance(options, dict) or not all(
            isinstance(k, str) and isinstance(v, (str, int, float, bool)) for k, v in options.items()):
        raise Invalid.on("options", "Options are a flat object of names to values, e.g. {\"size\": \"M\"}.")


def _check_variant(variant: Variant) -> None:
    check_plain_text(variant.name, "name")
    validate_options(variant.options)
    check_unique(variant, "sku")


def create_variant(variant: Variant, *, actor) -> Variant:
    return writes.create(variant, actor=actor, check=_check_variant, unique="sku")


def update_variant(variant: Variant, *, changes: Mapping[str, Any], actor,
                   expected_version: ExpectedVersion = None) -> Variant:
    return writes.update(variant, changes, actor=actor, check=_check_variant,
                         expected_version=expected_version, unique="sku")


def delete_variant(variant: Variant, *, actor, expected_version: ExpectedVersion = None) -> None:
    """Delete a variant with its prices; the actor needs delete_pricerow too
    when it has any."""
    writes.delete(variant, actor=actor, expected_version=expected_version)
