"""Writes to price rows, the one path for the API, the back office and
imports, and the deletions that must not leave rows pointing nowhere.

Each write takes the acting account (`actor`; None is the system) and goes
through `clientbase.core.writes`: the actor's permission, the version the
caller read (`expected_version`; None checks nothing), the row's rules, then
the save with its history.

Resolving prices lives in `clientbase.pricing.resolver`; its entry points are
re-exported here so that callers import every pricing operation from one
place (`resolve_prices`, `resolve_price` and `resolve_price_ladders`
through the shared cache, `clientbase.pricing.price_cache`).
"""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction

from clientbase.catalog.models import Market
from clientbase.core.currencies import EXPONENTS, has_precision, is_currency
from clientbase.core import writes
from clientbase.core.errors import Conflict, DomainError, FieldError, Invalid
from clientbase.core.models import looks_like_uuid, subtree_q
from clientbase.core.moments import aware
from clientbase.core.permissions import require
from clientbase.core.versions import ExpectedVersion, check_version, locked
from clientbase.customers.models import Contact, CustomerGroup
from clientbase.customers.models.visibility import contact_scope
from clientbase.customers.services.groups import delete_customer_group
from clientbase.pricing.models import PriceRow, SaleType
from clientbase.pricing.price_cache import (  # noqa: F401  (re-exported)
    resolve_price, resolve_price_ladders, resolve_prices,
)
from clientbase.pricing.resolver import (  # noqa: F401  (re-exported)
    Candidate,
    Ladder,
    Resolution,
    Visitor,
    effective_group_keys,
    explain_prices,
    market_and_contact,
    visitor_for,
)


# --- Price rows -------------------------------------------------------------


def shown_candidates(candidates: list[Candidate], viewer) -> list[Candidate]:
    """Of an explanation's candidate rows, those `viewer` may be shown: the
    rows of PriceRow.objects.visible_to(viewer). The resolver judges every
    row (the price it finds is the contact's true price); the other
    customers' rows it passed over are no business of a viewer who cannot see
    those customers. One query, none for a viewer who sees every contact."""
    if not candidates or contact_scope(viewer).everything:
        return list(candidates)
    ids = [c.row.pk for c in candidates]
    visible = set(PriceRow.objects.visible_to(viewer).filter(pk__in=ids).values_list("pk", flat=True))
    return [c for c in candidates if c.row.pk in visible]


def normalize_price_row(row: PriceRow) -> None:
    """The currency in upper case (empty: the market's default), the sale
    code without surrounding blanks, validity bounds without a zone read as UTC."""
    row.valid_from, row.valid_until = aware(row.valid_from), aware(row.valid_until)
    row.currency = (row.currency or (row.market.default_currency if row.market_id else "")).upper()
    row.sale_code = (row.sale_code or "").strip()


@dataclass(frozen=True)
class SaleCodes:
    """The sale codes of some price rows that name something: customer
    groups by key, contacts the actor sees by key or id (as written)."""

    groups: frozenset[str]
    contacts: frozenset[str]

    @classmethod
    def of(cls, rows: Sequence[PriceRow], actor) -> "SaleCodes":
        """The codes of `rows` that name a group, or a contact `actor` sees
        (None: the system, which sees all); a query per kind of code named."""
        group_codes = {r.sale_code for r in rows if r.sale_type == SaleType.CUSTOMER_GROUP and r.sale_code}
        contact_codes = {r.sale_code for r in rows if r.sale_type == SaleType.CUSTOMER and r.sale_code}
        groups = set(CustomerGroup.objects.filter(key__in=group_codes).values_list("key", flat=True)) \
            if group_codes else set()
        contacts: set[str] = set()
        if contact_codes:
            ids = {code: uuid.UUID(code) for code in contact_codes if looks_like_uuid(code)}
            visible = Contact.objects.all() if actor is None else Contact.objects.visible_to(actor)
            for key, pk in visible.filter(models.Q(key__in=contact_codes - set(ids))
                                          | models.Q(pk__in=list(ids.values()))).values_list("key", "pk"):
                contacts.add(key)
                contacts.update(code for code, named in ids.items() if named == pk)
        return cls(frozenset(groups), frozenset(contacts))


def price_row_errors(row: PriceRow, codes: SaleCodes) -> list[FieldError]:
    """Every bad field of `row` (normalised): currency of the market, price >= 0
    with the currency's precision, validity ordered, a sale code in `codes`
    — for a customer price, a contact the actor sees: one it cannot see
    answers like one that does not exist. The rules of one row and of a
    batch alike."""
    errors: list[FieldError] = []
    if (row.variant_id is None) == (row.product_id is None):
        errors.append(FieldError("variant", "Give either a variant or a product, not both."))
    market = row.market
    if row.currency not in market.currencies:
        errors.append(FieldError("currency", f"Market {market.key} sells in {', '.join(market.currencies)}, "
                                             f"not {row.currency}."))
    if row.unit_price is None or row.unit_price < 0:
        errors.append(FieldError("unit_price", "A price is zero or more."))
    elif is_currency(row.currency) and not has_precision(row.unit_price, row.currency):
        errors.append(FieldError("unit_price", f"{row.currency} prices have at most "
                                               f"{EXPONENTS[row.currency]} decimal(s)."))
    if row.min_quantity is None or row.min_quantity < 0:
        errors.append(FieldError("min_quantity", "The minimum quantity is zero or more."))
    if row.valid_from and row.valid_until and row.valid_until <= row.valid_from:
        errors.append(FieldError("valid_until", "valid_until must be after valid_from."))
    if row.sale_type not in SaleType.values:
        errors.append(FieldError("sale_type", f"The sale type is one of {', '.join(SaleType.values)}, "
                                              f"not '{row.sale_type}'."))
    elif row.sale_type == SaleType.ALL_CUSTOMERS:
        if row.sale_code:
            errors.append(FieldError("sale_code", "A price for all customers has no sale code."))
    elif not row.sale_code:
        errors.append(FieldError("sale_code", f"A {row.sale_type} price needs a sale code."))
    elif row.sale_type == SaleType.CUSTOMER_GROUP:
        if row.sale_code not in codes.groups:
            errors.append(FieldError("sale_code", f"No customer group '{row.sale_code}'."))
    elif row.sale_type == SaleType.CUSTOMER:
        if row.sale_code not in codes.contacts:
            errors.append(FieldError("sale_code", f"No contact with key or id '{row.sale_code}'."))
    return errors


def _invalid(errors: list[FieldError]) -> Invalid | None:
    if not errors:
        return None
    return Invalid(detail="; ".join(f"{e.field}: {e.message}" for e in errors), code="validation", errors=errors)


def validate_price_row(row: PriceRow, *, actor) -> None:
    """Raise Invalid naming every bad field (see `price_row_errors`; `actor`
    None is the system, which sees every contact)."""
    if error := _invalid(price_row_errors(row, SaleCodes.of([row], actor))):
        raise error


def _checker(actor):
    def check(row: PriceRow) -> None:
        normalize_price_row(row)
        validate_price_row(row, actor=actor)

    return check


def _batch_checker(actor):
    # The single write's rules, with the sale codes of the whole batch looked up at once.
    def check_many(rows: Sequence[PriceRow]) -> list[Invalid | None]:
        for row in rows:
            normalize_price_row(row)
        codes = SaleCodes.of(rows, actor)
        return [_invalid(price_row_errors(row, codes)) for row in rows]

    return check_many


def create_price_row(row: PriceRow, *, actor) -> PriceRow:
    return writes.create(row, actor=actor, check=_checker(actor))


def update_price_row(row: PriceRow, *, changes: Mapping[str, Any], actor,
                     expected_version: ExpectedVersion = None) -> PriceRow:
    return writes.update(row, changes, actor=actor, check=_checker(actor),
                         expected_version=expected_version)


def create_price_rows(rows: Sequence[PriceRow], *, actor) -> list[DomainError | None]:
    """`create_price_row` for many new rows at once (imports): the same
    permission and rules, a few queries and statements for the batch; one
    error per row, in order (None: created, with its history record). All
    rows go into the same transaction."""
    return writes.create_many(rows, actor=actor, check_many=_batch_checker(actor))


def update_price_rows(changes: Sequence[tuple[PriceRow, Mapping[str, Any]]], *,
                      actor) -> list[DomainError | None]:
    """`update_price_row` for many (row, changes) pairs at once: the same
    permission and rules; each row locked, its version moved on, a history
    record; one error per pair, in order (None: changed)."""
    return writes.update_many(changes, actor=actor, check_many=_batch_checker(actor), related=("market",))


def delete_price_row(row: PriceRow, *, actor, expected_version: ExpectedVersion = None) -> None:
    writes.delete(row, actor=actor, expected_version=expected_version)


def counted_rows(rows, actor) -> str:
    """How a message counts `rows` to `actor` ("5 price row(s)"): only the
    rows it may read carry a number; rows of customers it cannot see are
    "others", uncounted (issue 8: a count never betrays a contact)."""
    total = rows.count()
    if actor is None or not total:
        return f"{total} price row(s)"
    shown = rows.visible_to(actor).count()
    if shown == total:
        return f"{total} price row(s)"
    return f"{shown} price row(s) and others" if shown else "price rows"


def check_market_currencies(market: Market) -> None:
    """Refuse to drop a currency from a market while price rows use it.
    (No count: the check runs without knowing who asks.)"""
    if market._state.adding:
        return
    if PriceRow.objects.filter(market=market).exclude(currency__in=market.currencies).exists():
        raise Conflict.on("currencies", f"Price rows of market {market.key} use a currency "
                                        "you are removing; change or delete them first.",
                          code="currency_in_use")


@transaction.atomic
def delete_market(market: Market, *, actor, expected_version: ExpectedVersion = None,
                  delete_prices: bool = False) -> int:
    """Delete a market; refused (409, with the count) while price rows use
    it, unless `delete_prices` — which also needs pricing.delete_pricerow.
    Returns the number of rows deleted with it."""
    require(actor, "catalog.delete_market")
    market = locked(market)
    check_version(market, expected_version)
    rows = PriceRow.objects.filter(market=market)
    count = rows.count()
    if count:
        if not delete_prices:
            raise Conflict.on("id", f"{counted_rows(rows, actor)} use market {market.key}; delete them first "
                                    "or pass delete_prices=true.", code="in_use")
        require(actor, "pricing.delete_pricerow")
    rows.delete()
    writes.record_actor(market, actor)
    market.delete()
    return count


@transaction.atomic
@transaction.atomic
def delete_customer_group_with_prices(group: CustomerGroup, *, actor,
                                      expected_version: ExpectedVersion = None) -> int:
    """Delete a customer group together with the price rows that name it (or
    a group of its subtree), which otherwise keep it from being deleted
    (409). Needs `pricing.delete_pricerow` besides what deleting the group
    needs; all or nothing. Returns the number of price rows deleted."""
    require(actor, "customers.delete_customergroup", "pricing.delete_pricerow")
    keys = CustomerGroup.objects.filter(subtree_q(group.path)).values_list("key", flat=True)
    deleted, _ = PriceRow.objects.filter(sale_type=SaleType.CUSTOMER_GROUP, sale_code__in=list(keys)).delete()
    delete_customer_group(group, actor=actor, expected_version=expected_version)
    return deleted
