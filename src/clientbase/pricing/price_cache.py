"""Resolved prices and price ladders kept in the shared cache
(core.caching), one entry per visitor, market, currency and SKU: a price
(`price:`) for each quantity asked, a ladder (`ladder:`) for the listing's
prices at every quantity.

A price entry holds what `resolver.resolve_prices` answered for that SKU
(the winning row's columns, or that none applies, or that the SKU is
unknown); a ladder entry what `resolver.resolve_price_ladders` answered (its
steps, and the anonymous visitor's row beside a contact's). Both follow one
rule (`_cached_per_sku`): an entry is served only while:
- the SKU's price version (`prices:sku:<sku>`) is unchanged: any save or
  deletion of a row on the variant or on its product, and any change of
  the variant (created, deleted, renamed) or of its product, bumps it
  (pricing.signals);
- for a contact, its own version (its memberships, its key, which is its
  customer sale code) and the trees' generation are unchanged (what decides
  its effective groups, see customers.cache_names);
- the next validity boundary of any row of the SKU in that market and
  currency (a row starting or ending) has not come: an entry never outlives
  the moment its answer changes by itself.

The key names the contact: two contacts never share an entry, even in the
same groups (a customer price may apply to one of them). Anonymous visitors
share theirs. A resolve or a ladder at an explicit moment (`at`) is never
cached.
"""

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal

from django.db import connection, models
from django.utils import timezone

from clientbase.catalog.models import Market, Variant
from clientbase.core import caching
from clientbase.core.rows import bound_id
from clientbase.customers.cache_names import TREES, contact_version
from clientbase.customers.models import Contact
from clientbase.pricing import resolver
from clientbase.pricing.models import PriceRow
from clientbase.pricing.resolver import RESOLVED_ATTNAMES, Ladder, Resolution, Rung, winning_row


def sku_version(sku: str) -> str:
    """The version of every price answer for one SKU."""
    return f"prices:sku:{sku}"


def bump_priced_by(places) -> None:
    """After a bulk write of price rows (which sends no post_save: see
    pricing.signals, rows_written), move on the versions of every SKU the
    rows price when the transaction commits: `places` are (variant id,
    product id) pairs, either may be None; a product's row prices all its
    variants."""
    variant_ids = {v for v, _ in places if v}
    product_ids = {p for v, p in places if p and not v}
    if not (variant_ids or product_ids):
        return
    skus = Variant.objects.filter(
        models.Q(pk__in=variant_ids) | models.Q(product_id__in=product_ids)).values_list("sku", flat=True)
    caching.bump(*(sku_version(sku) for sku in sorted(set(skus))))


def resolve_prices(skus: list[str], *, contact: Contact | None, quantity: Decimal, market: Market,
                   currency: str, at: datetime | None = None,
                   quantities: Mapping[str, Decimal] | None = None) -> dict[str, Resolution]:
    """`resolver.resolve_prices`' answer, from the shared cache for the SKUs
    it holds and one query (plus one for validity boundaries) for the
    others."""
    if at is not None or not caching.usable():
        return resolver.resolve_prices(skus, contact=contact, quantity=quantity, market=market,
                                       currency=currency, at=at, quantities=quantities)
    quantities = quantities or {}
    wanted = {sku: Decimal(quantities.get(sku, quantity)) for sku in dict.fromkeys(skus)}

    def load(missing: list[str], now: datetime) -> dict[str, tuple]:
        found = resolver.resolve_prices(missing, contact=contact, quantity=quantity, market=market,
                                        currency=currency, at=now,
                                        quantities={sku: wanted[sku] for sku in missing})
        return {sku: _stored(found[sku]) for sku in missing}

    entries = _cached_per_sku("price", wanted, contact=contact, market=market, currency=currency,
                              detail=lambda sku: wanted[sku].normalize(), load=load)
    answers = {sku: _answer(sku, currency, market, entry) for sku, entry in entries.items()}
    return {sku: answers[sku] for sku in skus}


def resolve_price_ladders(skus: list[str], *, contact: Contact | None, market: Market, currency: str,
                          at: datetime | None = None,
                          anonymous_at: Decimal | None = None) -> dict[str, Ladder]:
    """`resolver.resolve_price_ladders`' answer, from the shared cache for
    the SKUs it holds and one query (plus one for validity boundaries) for
    the others."""
    if at is not None or not caching.usable():
        return resolver.resolve_price_ladders(skus, contact=contact, market=market, currency=currency, at=at,
                                              anonymous_at=anonymous_at)
    # With the anonymous visitor's row at a quantity, an entry of its own.
    beside = "-" if anonymous_at is None else Decimal(anonymous_at).normalize()

    def load(missing: list[str], now: datetime) -> dict[str, tuple]:
        found = resolver.resolve_price_ladders(missing, contact=contact, market=market, currency=currency,
                                               at=now, anonymous_at=anonymous_at)
        return {sku: _ladder_stored(found[sku]) for sku in missing}

    entries = _cached_per_sku("ladder", dict.fromkeys(skus), contact=contact, market=market, currency=currency,
                              detail=lambda sku: beside, load=load)
    ladders = {sku: _ladder_answer(sku, currency, entry) for sku, entry in entries.items()}
    return {sku: ladders[sku] for sku in skus}


def _cached_per_sku(kind: str, skus, *, contact: Contact | None, market: Market, currency: str,
                    detail: Callable[[str], object],
                    load: Callable[[list[str], datetime], dict[str, tuple]]) -> dict[str, tuple]:
    """The entries of one kind for `skus` (distinct), by SKU: each under
    `<kind>:<contact id or ->:<market>:<currency>:<sku>:<detail(sku)>`,
    carrying the SKU's version and, for a contact, the contact's and the
    trees'. `load(missing SKUs, now)` answers the others' values (tuples)
    as true at `now`; each is stored with the SKU's next validity boundary
    appended (a timestamp, or None), which it never outlives. One round
    trip to the cache when every entry is good."""
    if not skus:
        return {}
    who = contact.pk if contact is not None else "-"
    sku_of = {f"{kind}:{who}:{market.pk}:{currency}:{sku}:{detail(sku)}": sku for sku in skus}
    deps = [contact_version(contact.pk), TREES] if contact is not None else []

    def load_keys(keys: list[str]) -> dict[str, tuple]:
        now = timezone.now()
        missing = [sku_of[k] for k in keys]
        found = load(missing, now)
        ends = _boundaries(missing, market, currency, now)
        return {k: (*found[sku_of[k]], _timestamp(ends.get(sku_of[k]))) for k in keys}

    entries = caching.cached_many(sku_of, deps, load_keys, key_deps=lambda k: [sku_version(sku_of[k])],
                                  until=lambda entry: entry[-1])
    return {sku_of[k]: entry for k, entry in entries.items()}


def _timestamp(moment: datetime | None) -> float | None:
    return moment.timestamp() if moment else None


def resolve_price(sku: str, *, contact: Contact | None, quantity: Decimal = Decimal(1),
                  market: Market, currency: str | None = None, at: datetime | None = None,
                  explain: bool = False) -> Resolution:
    """`resolver.resolve_price`, through this cache unless explained."""
    if explain:
        return resolver.resolve_price(sku, contact=contact, quantity=quantity, market=market,
                                      currency=currency, at=at, explain=True)
    currency = currency or market.default_currency
    return resolve_prices([sku], contact=contact, quantity=quantity, market=market,
                          currency=currency, at=at)[sku]


def _stored(resolution: Resolution) -> tuple:
    """(variant id, product key, winning row's columns or None)."""
    row = resolution.price
    values = tuple(getattr(row, name) for name in RESOLVED_ATTNAMES) if row is not None else None
    product_key = row.product.key if row is not None and row.product_id else None
    return (resolution.variant_id, product_key, values)


def _answer(sku: str, currency: str, market: Market, entry: tuple) -> Resolution:
    variant_id, product_key, values, _ = entry
    resolution = Resolution(sku=sku, currency=currency, variant_id=variant_id)
    if values is not None:
        resolution.price = winning_row(values, for_sku=sku, variant_id=variant_id, product_key=product_key,
                                       market=market, db=connection.alias)
    return resolution


def _ladder_stored(ladder: Ladder) -> tuple:
    """(variant id, steps as (quantity, row id, unit price), the anonymous
    visitor's (row id, unit price) or None)."""
    steps = tuple((quantity, rung.pk, rung.unit_price) for quantity, rung in ladder.steps)
    anonymous = (ladder.anonymous.pk, ladder.anonymous.unit_price) if ladder.anonymous is not None else None
    return (ladder.variant_id, steps, anonymous)


def _ladder_answer(sku: str, currency: str, entry: tuple) -> Ladder:
    variant_id, steps, anonymous, _ = entry
    return Ladder(sku=sku, currency=currency, variant_id=variant_id,
                  steps=[(quantity, Rung(pk, unit_price)) for quantity, pk, unit_price in steps],
                  anonymous=Rung(*anonymous) if anonymous is not None else None)


def _boundaries(skus: list[str], market: Market, currency: str, now: datetime) -> dict[str, datetime]:
    """Each SKU's next moment (after `now`) at which one of its rows, or its
    product's, in this market and currency starts or stops applying; SKUs
    without one are absent. One query."""
    price, variant = PriceRow._meta, Variant._meta
    column = {name: price.get_field(name).column for name in
              ("variant", "product", "market", "currency", "valid_from", "valid_until")}
    sku_column, variant_product = variant.get_field("sku").column, variant.get_field("product").column
    marks = ", ".join(["%s"] * len(skus))
    half = (f"SELECT v.{sku_column}, p.{column['valid_from']}, p.{column['valid_until']} "
            f"FROM {variant.db_table} v CROSS JOIN {price.db_table} p "
            f"WHERE v.{sku_column} IN ({marks}) AND p.{{link}} "
            f"AND p.{column['market']} = %s AND p.{column['currency']} = %s "
            f"AND (p.{column['valid_from']} > %s OR p.{column['valid_until']} > %s)")
    sql = " UNION ALL ".join([half.format(link=f"{column['variant']} = v.id"),
                              half.format(link=f"{column['product']} = v.{variant_product}")])
    moment = connection.ops.adapt_datetimefield_value(now)
    params = [*skus, bound_id(market.pk, connection), currency, moment, moment] * 2
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    convert = resolver.value_loader("valid_from")
    ends: dict[str, datetime] = {}
    for sku, *moments in found:
        for value in map(convert, moments):
            if value is not None and value > now and (sku not in ends or value < ends[sku]):
                ends[sku] = value
    return ends
