"""Writes to markets, products and variants: the one path for the API, the
back office and imports.

Each write takes the acting account (`actor`; None is the system) and
enforces, in this order: the actor's permission, the object's rules, the
version the caller read (`expected_version`, from If-Match or the back
office's form; None checks nothing), and records who did it in the history.

Deleting a market is a pricing operation (its price rows go first), see
`clientbase.pricing.services.delete_market`.
"""

import re
from collections.abc import Mapping
from typing import Any

from django.db import transaction

from clientbase.catalog.models import Market, Product, Variant
from clientbase.core.currencies import is_currency
from clientbase.core.deletion import collect_deletion
from clientbase.core.errors import FieldError, Invalid
from clientbase.core.history import record_actor
from clientbase.core.permissions import require
from clientbase.core.unique import check_unique, save_unique
from clientbase.core.versions import check_version, locked

_COUNTRY_RE = re.compile(r"^[A-Z]{2}$")


def _apply(obj, changes: Mapping[str, Any]) -> None:
    for name, value in changes.items():
        setattr(obj, name, value)


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


def _check_market(market: Market) -> None:
    normalize_market(market)
    validate_market(market)
    check_unique(market, "key")
    # Price rows keep their market's currencies: clientbase.pricing.signals
    # refuses dropping one that rows use, when the market is saved.


def _save(obj, field: str, actor) -> None:
    record_actor(obj, actor)
    save_unique(obj, field)


def create_market(market: Market, *, actor) -> Market:
    """Save a new market; 403 without catalog.add_market, 422 for bad codes,
    409 for a key in use."""
    require(actor, "catalog.add_market")
    _check_market(market)
    _save(market, "key", actor)
    return market


@transaction.atomic
def update_market(market: Market, *, changes: Mapping[str, Any], actor,
                  expected_version: int | None = None) -> Market:
    """Apply `changes` (field → value) to the market and save it; answers the
    saved market. 412 when it is no longer at `expected_version`; 409 when it
    drops a currency that price rows use."""
    require(actor, "catalog.change_market")
    market = locked(market)
    _apply(market, changes)
    _check_market(market)
    check_version(market, expected_version)
    _save(market, "key", actor)
    return market


# --- Products -----------------------------------------------------------------


def _check_product(product: Product) -> None:
    product.key = product.key or None
    check_unique(product, "key")


def create_product(product: Product, *, actor) -> Product:
    require(actor, "catalog.add_product")
    _check_product(product)
    _save(product, "key", actor)
    return product


@transaction.atomic
def update_product(product: Product, *, changes: Mapping[str, Any], actor,
                   expected_version: int | None = None) -> Product:
    require(actor, "catalog.change_product")
    product = locked(product)
    _apply(product, changes)
    _check_product(product)
    check_version(product, expected_version)
    _save(product, "key", actor)
    return product


@transaction.atomic
def delete_product(product: Product, *, actor, expected_version: int | None = None) -> None:
    """Delete a product with its variants and their prices; the actor needs
    the permission to delete each kind it has."""
    product = locked(product)
    deletion = collect_deletion(product, actor=actor)
    check_version(product, expected_version)
    deletion.delete()


# --- Variants -----------------------------------------------------------------


def validate_options(options: Any) -> None:
    """Options are a flat object of names to plain values (size, colour)."""
    if not isinstance(options, dict) or not all(
            isinstance(k, str) and isinstance(v, (str, int, float, bool)) for k, v in options.items()):
        raise Invalid.on("options", "Options are a flat object of names to values, e.g. {\"size\": \"M\"}.")


def _check_variant(variant: Variant) -> None:
    validate_options(variant.options)
    check_unique(variant, "sku")


def create_variant(variant: Variant, *, actor) -> Variant:
    require(actor, "catalog.add_variant")
    _check_variant(variant)
    _save(variant, "sku", actor)
    return variant


@transaction.atomic
def update_variant(variant: Variant, *, changes: Mapping[str, Any], actor,
                   expected_version: int | None = None) -> Variant:
    require(actor, "catalog.change_variant")
    variant = locked(variant)
    _apply(variant, changes)
    _check_variant(variant)
    check_version(variant, expected_version)
    _save(variant, "sku", actor)
    return variant


@transaction.atomic
def delete_variant(variant: Variant, *, actor, expected_version: int | None = None) -> None:
    """Delete a variant with its prices; the actor needs delete_pricerow too
    when it has any."""
    variant = locked(variant)
    deletion = collect_deletion(variant, actor=actor)
    check_version(variant, expected_version)
    deletion.delete()
