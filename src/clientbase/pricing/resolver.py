"""The one price resolver: what a visitor pays for a variant, and why.

Prices in the storefront, on carts, on orders and in the API all come from
here. Two ways to the same answer:

- `resolve_prices` asks the database for the winning row of every SKU in ONE
  query (effective groups, candidate rows, applicability and ranking in SQL).
  This is the hot path: carts, listings, `GET/POST /prices/resolve`.
- `explain_prices` reads every row of the variants and their products and
  judges each in Python (`_judge`), keeping the reason a row did not apply.

Both follow DESIGN.md's rules; the property tests check that they always
choose the same row. The single SQL statement exists because building a
model instance for every candidate row cost several times the query itself
(see docs/benchmarks.md, pricing).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from django.db import connection, connections, router
from django.db.models import Model
from django.db.models.base import ModelState
from django.utils import timezone

from clientbase.catalog.models import Market, Product, Variant, on_sale_sql
from clientbase.core import metrics
from clientbase.core.currencies import quantize
from clientbase.core.models import looks_like_uuid
from clientbase.core.moments import aware
from clientbase.core.rows import bound_id, model_converter, value_converter
from clientbase.customers.models import Contact
from clientbase.customers.models.visibility import ContactScope, member_of_scope_sql
from clientbase.customers.services.memberships import (  # noqa: F401  (effective_group_keys: part of this API)
    effective_group_keys, group_keys_cte,
)
from clientbase.pricing.models import SPECIFICITY, PriceRow, SaleType


@dataclass(frozen=True)
class Candidate:
    """A price row considered for a variant: whether it applied, and if not, why."""

    row: PriceRow
    applied: bool
    reason: str = ""
    code: str = ""
    level: str = "variant"  # "variant" or "product": where the row is set

    @property
    def unit_price(self) -> Decimal:
        return quantize(self.row.unit_price, self.row.currency)


@dataclass
class Resolution:
    """The price of one SKU for one visitor. `variant_id` is None for an
    unknown SKU; `price` is None when no row applies. `variant` (the object)
    and `group_keys` (the visitor's effective groups, which judged the group
    prices) are filled in by `explain_prices` only."""

    sku: str
    currency: str
    variant_id: UUID | None = None
    price: PriceRow | None = None
    candidates: list[Candidate] = field(default_factory=list)
    variant: Variant | None = None
    group_keys: frozenset[str] = frozenset()

    @property
    def known(self) -> bool:
        return self.variant_id is not None

    @property
    def unit_price(self) -> Decimal | None:
        return quantize(self.price.unit_price, self.currency) if self.price else None


@dataclass(frozen=True)
class Visitor:
    """Who is buying: a contact with its effective group keys, or anonymous."""

    contact: Contact | None
    group_keys: frozenset[str] = frozenset()


def visitor_for(contact: Contact | None) -> Visitor:
    return Visitor(contact, effective_group_keys(contact))


# --- What to price for -----------------------------------------------------------

_MARKET_FIELDS = [f.attname for f in Market._meta.concrete_fields]


def market_and_contact(market_ident: str, contact_ident: str | UUID | None, *,
                       scope: ContactScope) -> tuple[Market | None, Contact | None]:
    """The market whose id or key is `market_ident` (None: no such market)
    and the contact whose id or key is `contact_ident` among those `scope`
    sees (customers.models.visibility: `contact_scope`; None: none asked, or
    none there), with only its id and key loaded, all the resolver needs of
    it (its other fields are read if ever used). Each ident is an id when
    it looks like one, else a key (api.common.id_or_key_lookup's rule)."""
    db = connections[router.db_for_read(Market)]
    contact = None
    # A scope that sees no contact at all asks nothing: no contact.
    if contact_ident is not None and (scope.everything or not scope.organizations.nothing):
        by, value = id_or_key(contact_ident, db)
        visible, visible_params = ("", []) if scope.everything else member_of_scope_sql(
            scope.organizations, "c.id", db)
        contact = ContactAsked(by, value, visible, tuple(visible_params))
    return market_with_contact(*id_or_key(market_ident, db), contact=contact)


def id_or_key(ident, connection) -> tuple[str, object]:
    """("id", the id as bound) for an ident that looks like an id, else ("key", the key)."""
    ident = str(ident).strip()
    return ("id", bound_id(ident, connection)) if looks_like_uuid(ident) else ("key", ident)


@dataclass(frozen=True)
class ContactAsked:
    """The contact to find beside a market: its column `by` ("id" or "key")
    is `value` (as bound), and SQL `visible` (about `c.id`) holds for it,
    with its parameters."""
    by: str
    value: object
    visible: str = ""
    visible_params: tuple = ()


def market_with_contact(by: str | None, value=None, *, open_only: bool = False,
                        contact: ContactAsked | None = None) -> tuple[Market | None, Contact | None]:
    """The market whose column `by` ("id" or "key") is `value` — with `by`
    None, the first by key — only an open one (`on_sale`) with `open_only`;
    and beside it the `contact` asked for, with its id and key loaded (None:
    not asked, or not there). (None, None) when there is no such market.

    The one lookup of "a market and a shopper" (the resolver's doors and the
    store listing): one statement written by hand and built once per shape —
    through the ORM, building and compiling the lookups cost several times
    the query itself."""
    alias = router.db_for_read(Market)
    db = connections[alias]
    params = [] if contact is None else [contact.value, *contact.visible_params]
    if by is not None:
        params.append(value)
    sql = _market_with_contact_sql(alias, by, open_only, contact and contact.by, contact and contact.visible)
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None, None
    market = Market.from_db(alias, _MARKET_FIELDS,
                            model_converter(Market, _MARKET_FIELDS, db)(row[:len(_MARKET_FIELDS)]))
    if contact is None or row[-2] is None:
        return market, None
    return market, Contact.from_db(alias, ["id", "key"], model_converter(Contact, ["id", "key"], db)(row[-2:]))


@lru_cache(maxsize=64)
def _market_with_contact_sql(alias: str, by: str | None, open_only: bool, contact_by: str | None,
                             visible: str | None) -> str:
    """SQL for `market_with_contact`: the contact's parameters are bound
    first, the market's value last. Names quoted for the database of `alias`."""
    quote = connections[alias].ops.quote_name
    market, contact = quote(Market._meta.db_table), quote(Contact._meta.db_table)
    columns = ", ".join(f"m.{quote(Market._meta.get_field(name).column)}" for name in _MARKET_FIELDS)
    conditions = ([on_sale_sql(Market, "m")] if open_only else []) + ([f"m.{quote(by)} = %s"] if by else [])
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    if contact_by is None:
        return f"SELECT {columns} FROM {market} m{where} ORDER BY m.{quote('key')} LIMIT 1"
    visible = f" AND {visible}" if visible else ""
    return (f"SELECT {columns}, c.id, c.key FROM {market} m "
            f"LEFT JOIN (SELECT c.id, c.key FROM {contact} c WHERE c.{quote(contact_by)} = %s{visible} LIMIT 1) c "
            f"ON 1 = 1{where} ORDER BY m.{quote('key')} LIMIT 1")


# --- Resolving in the database -------------------------------------------------


# What a resolved price shows (the API's price object); the row's timestamps
# stay deferred, which spares converting them for every winner.
# The variant and market ids are not read back: the query knows them already.
RESOLVED_FIELDS = ("id", "version", "product", "currency", "sale_type",
                   "sale_code", "min_quantity", "unit_price", "valid_from", "valid_until")


# Their attribute names, in the same order: how a winner's values are stored.
RESOLVED_ATTNAMES = tuple(PriceRow._meta.get_field(name).attname for name in RESOLVED_FIELDS)

_MARKET_FIELD = PriceRow._meta.get_field("market")
_PRODUCT_FIELD = PriceRow._meta.get_field("product")
_MARKET_PK = Market._meta.pk.attname


def winning_row(values, *, for_sku: str, variant_id: UUID, product_key: str | None, market: Market,
                db: str) -> PriceRow:
    """The PriceRow of a winner's RESOLVED_FIELDS `values` (converted), with
    what callers show of it at hand: its market, and its SKU (`for_sku`, read
    by PriceRow.sku) or its product's key. Its timestamps are deferred:
    loaded from the database if ever read.

    Built as unpickling builds a model instance: the values straight into its
    __dict__, without `Model.__init__` (`from_db`), whose per-field
    descriptor calls for the 50 winners of a batch cost more than reading
    them. PriceRow has no post_init receivers for that to skip."""
    row = PriceRow.__new__(PriceRow)
    state = row._state = ModelState()
    state.adding = False
    state.db = db
    # The related objects at hand, as ForeignKey.set_cached_value keeps them.
    state.fields_cache = cached = {_MARKET_FIELD.cache_name: market}
    fields = row.__dict__
    fields.update(zip(RESOLVED_ATTNAMES, values))
    fields["for_sku"] = for_sku
    fields["market_id"] = market.__dict__[_MARKET_PK]
    if fields["product_id"]:
        fields["variant_id"] = None
        cached[_PRODUCT_FIELD.cache_name] = Product(id=fields["product_id"], key=product_key)
    else:
        fields["variant_id"] = variant_id
    return row


def _sku_count(skus: list[str]) -> int | None:
    """How the SKUs are bound (`_sku_params`): None on PostgreSQL, as ONE
    array parameter, whatever their number: one statement text for any
    number of SKUs, with few enough parameters (psycopg caches the parse of a
    statement of at most 50) — bound one by one, the resolver's 4 kB
    statement was parsed again on every call. Elsewhere their number, one
    parameter each."""
    return None if connection.vendor == "postgresql" else len(skus)


def _sku_params(skus: list[str], sku_count: int | None) -> list:
    return [skus] if sku_count is None else skus


def _candidates_sql(sku_count: int | None) -> str:
    """SQL defining `wanted` (the variants of the SKUs bound as parameters,
    `_sku_params`) and `candidates` (their rows in the market and currency
    bound three times next: a variant's own rows, or its product's when it
    has none there), each row with the SKU it is for (`for_sku`)."""
    price = PriceRow._meta.db_table
    variant = Variant._meta.db_table
    skus = "= ANY(%s)" if sku_count is None else f"IN ({', '.join(['%s'] * sku_count)})"
    return f"""
      wanted(variant_id, sku, product_id) AS (
        SELECT id, sku, product_id FROM {variant} WHERE sku {skus}
      ),
      candidates AS (
        -- The variant's own rows in this market and currency ...
        SELECT w.sku AS for_sku, p.* FROM wanted w CROSS JOIN {price} p
         WHERE p.variant_id = w.variant_id AND p.market_id = %s AND p.currency = %s
        UNION ALL
        -- ... or, when it has none there, its product's.
        SELECT w.sku AS for_sku, p.* FROM wanted w CROSS JOIN {price} p
         WHERE p.product_id = w.product_id AND p.market_id = %s AND p.currency = %s
           AND NOT EXISTS (SELECT 1 FROM {price} own WHERE own.variant_id = w.variant_id
                            AND own.market_id = %s AND own.currency = %s)
      )"""


def _applies_sql(group_keys: str = "group_keys") -> str:
    """SQL: a candidate row applies to the visitor at the moment bound twice,
    whose customer sale codes (key, id) are bound next and whose effective
    group keys are the table `group_keys`; the quantity is judged apart."""
    return f"""
           (valid_from IS NULL OR valid_from <= %s)
           AND (valid_until IS NULL OR valid_until > %s)
           AND (sale_type = '{SaleType.ALL_CUSTOMERS.value}'
                OR (sale_type = '{SaleType.CUSTOMER.value}' AND sale_code IN (%s, %s))
                OR (sale_type = '{SaleType.CUSTOMER_GROUP.value}'
                    AND sale_code IN (SELECT key FROM {group_keys})))"""


_APPLIES_SQL = _applies_sql()


def _rank_sql(alias: str = "") -> str:
    # Ties: the more specific sale type, then the higher minimum quantity,
    # then the id, exactly as `_rank`.
    a = f"{alias}." if alias else ""
    specificity = " ".join(f"WHEN '{t.value}' THEN {n}" for t, n in SPECIFICITY.items())
    return f"{a}unit_price, CASE {a}sale_type {specificity} END, {a}min_quantity DESC, {a}id"


def _columns_sql() -> str:
    return ", ".join(f"r.{PriceRow._meta.get_field(name).column}" for name in RESOLVED_FIELDS)


@lru_cache(maxsize=64)
def _resolve_sql(sku_count: int | None, one_quantity: bool = False) -> str:
    product = Product._meta.db_table
    # Each SKU with the quantity it is priced at. With `one_quantity`, every
    # SKU at the quantity bound once (the SKUs found are those `wanted`
    # holds: only they have candidates); else two arrays (SKUs, quantities)
    # with the SKUs as one array, or (sku, quantity) pairs. Bound once, the
    # quantity spares adapting and sending one per SKU.
    if one_quantity:
        asked = f"SELECT sku, {'CAST(%s AS numeric)' if sku_count is None else '%s'} FROM wanted"
    elif sku_count is None:
        asked = "SELECT * FROM unnest(CAST(%s AS text[]), CAST(%s AS numeric[]))"
    else:
        asked = "VALUES " + ", ".join(["(%s, %s)"] * sku_count)
    return f"""
    WITH RECURSIVE {group_keys_cte()},{_candidates_sql(sku_count)},
      asked(sku, quantity) AS ({asked}),
      ranked AS (
        SELECT c.*, ROW_NUMBER() OVER (PARTITION BY for_sku ORDER BY {_rank_sql("c")}) AS place
          FROM candidates c JOIN asked a ON a.sku = c.for_sku
         WHERE c.min_quantity <= a.quantity AND {_APPLIES_SQL}
      )
    SELECT w.sku AS for_sku, w.variant_id AS for_variant_id, pr.key AS for_product_key, {_columns_sql()}
      FROM wanted w
      LEFT JOIN ranked r ON r.for_sku = w.sku AND r.place = 1
      LEFT JOIN {product} pr ON pr.id = r.product_id
    """


def _visitor_params(contact: Contact | None) -> tuple[list, list]:
    """(the group CTE's parameters, the customer sale codes' parameters)."""
    # A contact id that matches nothing stands for the anonymous visitor.
    contact_id = bound_id(contact.pk if contact else UUID(int=0), connection)
    codes = [(contact.key or "") if contact else "", str(contact.pk) if contact else ""]
    return [contact_id, contact_id], codes


def _market_params(market: Market, currency: str) -> list:
    return [bound_id(market.pk, connection), currency] * 3


def _as_uuid(value) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)


@metrics.timed_resolver
def resolve_prices(skus: list[str], *, contact: Contact | None, quantity: Decimal, market: Market,
                   currency: str, at: datetime | None = None,
                   quantities: Mapping[str, Decimal] | None = None) -> dict[str, Resolution]:
    """The price of each SKU for a contact (None: anonymous), keyed by SKU.
    ONE query, whatever the number of SKUs and the depth of the trees.

    Each SKU is priced at `quantity`, or at its own quantity in `quantities`
    when it is there (a cart: each line at the line's quantity, still one
    query).

    Each Resolution has `variant_id` (None: unknown SKU) and `price` (None:
    no row applies; its `created_at` and `updated_at` are deferred);
    `candidates` is empty — ask `explain_prices` for those.
    """
    at = aware(at) or timezone.now()
    unique = list(dict.fromkeys(skus))
    result = {sku: Resolution(sku=sku, currency=currency) for sku in unique}
    if not unique:
        return result
    groups, codes = _visitor_params(contact)
    moment = connection.ops.adapt_datetimefield_value(at)
    adapt = connection.ops.adapt_decimalfield_value
    sku_count = _sku_count(unique)
    # A cart's lines each at its own quantity; when they all have the same
    # one (a batch at one quantity), it is bound once.
    amounts = {Decimal(quantities.get(sku, quantity)) for sku in unique} if quantities else {Decimal(quantity)}
    one_quantity = len(amounts) == 1
    if one_quantity:
        asked = [adapt(amounts.pop())]
    else:
        asked = [adapt(Decimal(quantities.get(sku, quantity))) for sku in unique]
        if sku_count is None:
            asked = [unique, asked]
        else:
            asked = [value for pair in zip(unique, asked) for value in pair]
    params = [*groups, *_sku_params(unique, sku_count), *_market_params(market, currency), *asked,
              moment, moment, *codes]
    # A replica's, when the request reads from one (core.routing); the
    # converters above are the same for any connection to the same kind of database.
    with connections[router.db_for_read(PriceRow)].cursor() as cursor:
        cursor.execute(_resolve_sql(sku_count, one_quantity), params)
        found = cursor.fetchall()
    convert, db = model_converter(PriceRow, RESOLVED_FIELDS, connection), connection.alias
    for for_sku, for_variant_id, for_product_key, *values in found:
        resolution = result[for_sku]
        resolution.variant_id = _as_uuid(for_variant_id)
        if values[0] is None:
            continue  # a known SKU without an applicable price
        resolution.price = winning_row(convert(values), for_sku=for_sku,
                                       variant_id=resolution.variant_id, product_key=for_product_key,
                                       market=market, db=db)
    return {sku: result[sku] for sku in skus}


# --- Price ladders: the price at every quantity ----------------------------------


@dataclass(frozen=True, slots=True)
class Rung:
    """The row that wins at one step of a ladder: its id and unit price, all
    a listing shows of it. (A PriceRow per step, ~400 for a page of 24
    products, cost more than the ladder's query.)"""

    pk: UUID
    unit_price: Decimal


@dataclass
class Ladder:
    """What one SKU costs a visitor at every quantity: `steps` are (quantity,
    winning row) at each minimum quantity of a row that applies to the
    visitor, ascending; the price at any quantity is the last step at or
    below it (the resolver's answer at that quantity). `variant_id` is None
    for an unknown SKU; `steps` is empty when no row applies at all.
    `anonymous` is the anonymous visitor's winning row at the quantity asked
    (`resolve_price_ladders(anonymous_at=...)`), None when none applies or
    it was not asked."""

    sku: str
    currency: str
    variant_id: UUID | None = None
    steps: list[tuple[Decimal, Rung]] = field(default_factory=list)
    anonymous: Rung | None = None

    def price_at(self, quantity: Decimal) -> Rung | None:
        """The winning row at `quantity`; None when no row applies there."""
        found = None
        for step_quantity, row in self.steps:
            if step_quantity > quantity:
                break
            found = row
        return found

    def unit_price_at(self, quantity: Decimal) -> Decimal | None:
        row = self.price_at(quantity)
        return quantize(row.unit_price, self.currency) if row else None

    @property
    def anonymous_unit_price(self) -> Decimal | None:
        return quantize(self.anonymous.unit_price, self.currency) if self.anonymous else None

    def breaks(self, after: Decimal = Decimal(1)) -> list[tuple[Decimal, Decimal]]:
        """(minimum quantity, unit price) where the price, rounded to the
        currency, gets lower than it was at `after` and at every break before:
        "from 10: 45.08". A step that only changes the winning row at the
        same price is no break."""
        shown = self.unit_price_at(after)
        found = []
        for step_quantity, row in self.steps:
            if step_quantity <= after:
                continue
            price = quantize(row.unit_price, self.currency)
            if shown is None or price < shown:
                found.append((step_quantity, price))
                shown = price
        return found


# No effective groups: the anonymous visitor's.
_NO_GROUP_KEYS = "(key) AS (SELECT CAST(NULL AS TEXT) WHERE 1 = 0)"


@lru_cache(maxsize=128)
def _ladder_sql(sku_count: int | None, for_contact: bool, with_anonymous: bool = False) -> str:
    # A row per SKU found (its variant id), then the candidate rows that
    # apply, best first by the resolver's rank: the winner at a quantity is
    # the first of a SKU's rows whose minimum quantity is at or below it
    # (`_ladder_steps`). Ranking each step's rows in SQL instead joined every
    # step to every row of its SKU; PostgreSQL, which cannot estimate a
    # CTE's rows, ran that as a nested loop of ~46,000 comparisons for a Gold
    # page of 24 products (and a join of the SKUs to their rows, ~22,000):
    # hence no join here.
    # Without a contact, no group CTE: the anonymous visitor has no groups,
    # and planning that CTE was half the statement's planning time.
    # With the anonymous visitor's price too: the same candidates judged by
    # the same rule for a visitor with no customer codes and no groups, at
    # the quantity bound last.
    groups = group_keys_cte() if for_contact else f"\n      group_keys{_NO_GROUP_KEYS}"
    anonymous = "0"
    no_group_keys = ""
    if with_anonymous:
        anonymous = f"CASE WHEN {_applies_sql('no_group_keys')} AND c.min_quantity <= %s THEN 1 ELSE 0 END"
        no_group_keys = f"\n      no_group_keys{_NO_GROUP_KEYS},"
    return f"""
    WITH RECURSIVE {groups},{_candidates_sql(sku_count)},{no_group_keys}
      judged AS (
        SELECT c.for_sku, c.id, c.min_quantity, c.unit_price, c.sale_type,
               CASE WHEN {_APPLIES_SQL} THEN 1 ELSE 0 END AS applies, {anonymous} AS anonymous
          FROM candidates c
      )
    SELECT for_sku, variant_id, min_quantity, id, unit_price, applies, anonymous FROM (
      SELECT w.sku AS for_sku, w.variant_id, NULL AS min_quantity, NULL AS id, NULL AS unit_price,
             NULL AS sale_type, 0 AS applies, 0 AS anonymous
        FROM wanted w
      UNION ALL
      SELECT j.for_sku, NULL, j.min_quantity, j.id, j.unit_price, j.sale_type, j.applies, j.anonymous
        FROM judged j WHERE j.applies = 1 OR j.anonymous = 1
    ) found
    ORDER BY {_rank_sql("found")}
    """


def _ladder_steps(ranked: list[tuple[Decimal, Rung]]) -> list[tuple[Decimal, Rung]]:
    """The steps of a ladder from the rows that apply, best first as
    (minimum quantity, row): at each minimum quantity, ascending, the best
    row at or below it."""
    return [(step, next(rung for quantity, rung in ranked if quantity <= step))
            for step in sorted({quantity for quantity, _ in ranked})]


def value_loader(name: str, model: type[Model] = PriceRow):
    """A function reading a column's database value (by default a
    PriceRow's) as the model field would (core.rows.value_converter)."""
    return value_converter(model._meta.get_field(name), connection)


def resolve_price_ladders(skus: list[str], *, contact: Contact | None, market: Market, currency: str,
                          at: datetime | None = None,
                          anonymous_at: Decimal | None = None) -> dict[str, Ladder]:
    """The price ladder of each SKU for a contact (None: anonymous), keyed by
    SKU: in ONE query, what `resolve_prices` would answer at every quantity
    (a listing's unit price and its quantity breaks at once).

    With `anonymous_at`, each ladder's `anonymous` is also what
    `resolve_prices` answers an anonymous visitor at that quantity (a
    listing's list price beside a contact's own), in the same query."""
    at = aware(at) or timezone.now()
    unique = list(dict.fromkeys(skus))
    result = {sku: Ladder(sku=sku, currency=currency) for sku in unique}
    if not unique:
        return result
    groups, codes = _visitor_params(contact)
    moment = connection.ops.adapt_datetimefield_value(at)
    sku_count = _sku_count(unique)
    params = [*(groups if contact else []), *_sku_params(unique, sku_count), *_market_params(market, currency),
              moment, moment, *codes]
    if anonymous_at is not None:
        _, anonymous_codes = _visitor_params(None)
        params += [moment, moment, *anonymous_codes,
                   connection.ops.adapt_decimalfield_value(Decimal(anonymous_at))]
    with connections[router.db_for_read(PriceRow)].cursor() as cursor:
        cursor.execute(_ladder_sql(sku_count, contact is not None, anonymous_at is not None), params)
        found = cursor.fetchall()
    load_quantity, load_id, load_price = (value_loader(name) for name in ("min_quantity", "id", "unit_price"))
    ranked: dict[str, list[tuple[Decimal, Rung]]] = {sku: [] for sku in unique}
    for sku, variant_id, min_quantity, row_id, unit_price, applies, anonymous in found:
        ladder = result[sku]
        if row_id is None:
            ladder.variant_id = _as_uuid(variant_id)
            continue
        rung = Rung(load_id(row_id), Decimal(load_price(unit_price)))
        if anonymous and ladder.anonymous is None:
            ladder.anonymous = rung
        if applies:
            ranked[sku].append((Decimal(load_quantity(min_quantity)), rung))
    for sku, ladder in result.items():
        ladder.steps = _ladder_steps(ranked[sku])
    return {sku: result[sku] for sku in skus}


# --- Explaining in Python ------------------------------------------------------


def _judge(row: PriceRow, *, visitor: Visitor, quantity: Decimal, market: Market, currency: str,
           at: datetime) -> tuple[str, str]:
    """(code, reason) why a row does not apply; ("", "") when it does."""
    if row.market_id != market.pk:
        return "market_mismatch", f"market mismatch (row is for {row.market.key})"
    if row.currency != currency:
        return "currency_mismatch", f"currency mismatch (row is in {row.currency})"
    if row.valid_from and at < row.valid_from:
        return "not_yet_valid", f"not yet valid (from {row.valid_from.isoformat()})"
    if row.valid_until and at >= row.valid_until:
        return "expired", f"expired (until {row.valid_until.isoformat()})"
    if quantity < row.min_quantity:
        return "quantity_below_minimum", f"quantity below {row.min_quantity.normalize():f}"
    if row.sale_type == SaleType.CUSTOMER:
        if visitor.contact is None:
            return "anonymous", f"customer price for {row.sale_code}; the visitor is anonymous"
        if row.sale_code not in {visitor.contact.key, str(visitor.contact.pk)}:
            return "other_customer", f"customer price for {row.sale_code}, not this contact"
    if row.sale_type == SaleType.CUSTOMER_GROUP:
        if visitor.contact is None:
            return "anonymous", f"group price for {row.sale_code}; the visitor is anonymous"
        if row.sale_code not in visitor.group_keys:
            return "not_in_group", f"contact not in group {row.sale_code}"
    return "", ""


def _rank(row: PriceRow) -> tuple:
    # Lowest price wins; ties go to the more specific sale type, then to the
    # higher minimum quantity; the id keeps the answer stable.
    return (row.unit_price, SPECIFICITY[SaleType(row.sale_type)], -row.min_quantity, row.pk.hex)


def explain_prices(skus: list[str], *, contact: Contact | None, quantity: Decimal, market: Market,
                   currency: str, at: datetime | None = None) -> dict[str, Resolution]:
    """Like `resolve_prices`, with every row of each variant and of its
    product in `candidates`: applied or not, and why not. Three queries
    (effective groups, variants, rows) whatever the number of SKUs."""
    at = aware(at) or timezone.now()
    quantity = Decimal(quantity)
    visitor = visitor_for(contact)
    variants = {v.sku: v for v in Variant.objects.filter(sku__in=set(skus)).order_by()}
    rows = PriceRow.objects.for_variants(
        [v.pk for v in variants.values()], {v.product_id for v in variants.values()}
    ).select_related("market", "variant", "product").order_by()
    by_variant: dict[UUID, list[PriceRow]] = {}
    by_product: dict[UUID, list[PriceRow]] = {}
    for row in rows:
        if row.variant_id:
            by_variant.setdefault(row.variant_id, []).append(row)
        else:
            by_product.setdefault(row.product_id, []).append(row)

    result: dict[str, Resolution] = {}
    for sku in skus:
        variant = variants.get(sku)
        resolution = Resolution(sku=sku, currency=currency, variant=variant,
                                variant_id=variant.pk if variant else None,
                                group_keys=visitor.group_keys)
        result[sku] = resolution
        if variant is None:
            continue
        own = by_variant.get(variant.pk, [])
        # Product-level rows stand in only when the variant has no row of its
        # own in this market and currency, whether or not any of those applies.
        has_own_here = any(r.market_id == market.pk and r.currency == currency for r in own)
        for level, level_rows in (("variant", own), ("product", by_product.get(variant.product_id, []))):
            for row in level_rows:
                code, reason = _judge(row, visitor=visitor, quantity=quantity, market=market,
                                      currency=currency, at=at)
                if not code and level == "product" and has_own_here:
                    code = "variant_has_own_prices"
                    reason = f"the variant has its own prices in {market.key}/{currency}"
                resolution.candidates.append(Candidate(row, not code, reason, code, level))
        applicable = [c.row for c in resolution.candidates if c.applied]
        resolution.price = min(applicable, key=_rank) if applicable else None
    return result


def resolve_price(sku: str, *, contact: Contact | None, quantity: Decimal = Decimal(1),
                  market: Market, currency: str | None = None, at: datetime | None = None,
                  explain: bool = False) -> Resolution:
    """The price of one SKU for a contact (None: anonymous); with explain, the
    candidates too."""
    currency = currency or market.default_currency
    if explain:
        return explain_prices([sku], contact=contact, quantity=quantity, market=market,
                              currency=currency, at=at)[sku]
    return resolve_prices([sku], contact=contact, quantity=quantity, market=market,
                          currency=currency, at=at)[sku]
