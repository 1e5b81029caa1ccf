"""The catalog as a visitor sees it: products on sale, each variant with the
visitor's price, the list price beside it, and the quantity breaks.

The storefront's pages and the store API (`/api/v1/store/products`) both read
the shop through here, so that a visitor sees the same prices whichever door
it uses. Reads only: nothing here writes.

Who is looking is a contact (a logged-in shopper's) or None (anonymous, and
an account without a contact, e.g. staff: they see what anyone sees). Prices
come from the one resolver, in batches: a page of products costs a fixed
number of queries however many products and variants it holds —

    the page of products with their variants on sale, the visitor's price
    ladders (one query for every SKU, which for a contact also answers the
    list prices: the anonymous visitor's).

A variant without a price for the visitor stays in the list, marked
unavailable (`unit_price` None): hiding it would make a product's sizes
change from one visitor to the next without a word, and a shop's staff must
see a missing price to fix it. A product is listed only when at least one of
its variants is on sale (there is nothing else to buy).
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from uuid import UUID

from django.conf import settings
from django.db import connection, connections, router

from clientbase.catalog.models import Market, Product, Variant, on_sale_sql
from clientbase.core.errors import Invalid, NotFound
from clientbase.core.models import looks_like_uuid
from clientbase.core.pagination import Keyset, check_limit
from clientbase.core.rows import bound_id
from clientbase.customers.models import Account, Contact
from clientbase.pricing.price_cache import resolve_price_ladders
from clientbase.pricing.resolver import ContactAsked, Ladder, id_or_key, market_with_contact, value_loader

# A page of the storefront's grid: 4 rows of 6, 6 of 4, 12 of 2.
PAGE_SIZE = 24
ONE = Decimal(1)

# Products in name order; the id makes the order total for the cursor.
PRODUCT_ORDER = Keyset("name", "id")


# --- Where the visitor shops ---------------------------------------------------


@dataclass(frozen=True)
class Storefront:
    """The market and currency a visitor shops in."""

    market: Market
    currency: str


def storefront_market(market: str | None = None, currency: str | None = None) -> Storefront:
    """The market and currency to show prices in.

    The market: `market` (a key or an id) when given, else the one the
    setting STOREFRONT_MARKET names, else the first active market by key.
    The currency: `currency` when given (any case), else the market's default;
    it must be one the market sells in.

    Raises Invalid on `market` for a market that does not exist or is not
    active, Invalid on `currency` for a currency the market does not sell in,
    NotFound (code `no_market`) when the shop has no active market at all. A
    STOREFRONT_MARKET naming no active market is a mistake of the set-up:
    Invalid too, naming the setting, rather than prices in another market.
    """
    return _storefront(market, currency, contact_id=None)[0]


def shopper_storefront(account, market: str | None = None,
                       currency: str | None = None) -> tuple[Storefront, Contact | None]:
    """`storefront_market(market, currency)` and `shopper_contact(account)`
    in one query: the contact's id and key, all a listing reads of it, come
    along with the market (its other fields are deferred: read from the
    database if ever asked for)."""
    if not _shops_as_itself(account) or account.contact_id is None or Account.contact.is_cached(account):
        return _storefront(market, currency, contact_id=None)[0], shopper_contact(account)
    storefront, key = _storefront(market, currency, contact_id=account.contact_id)
    return storefront, Contact.from_db(storefront.market._state.db, ["id", "key"], [account.contact_id, key])


def _storefront(market: str | None, currency: str | None, *,
                contact_id: UUID | None) -> tuple[Storefront, str | None]:
    """storefront_market's answer, and with `contact_id` that contact's key."""
    if market is not None:
        market = market.strip()
        found, key = _open_market(*id_or_key(market, connection), contact_id)
        if found is None:
            raise Invalid.on("market", f"No market '{market}' is open.", code="unknown_market")
    elif configured := getattr(settings, "STOREFRONT_MARKET", ""):
        found, key = _open_market("key", configured, contact_id)
        if found is None:
            raise Invalid.on("market", f"STOREFRONT_MARKET names no open market: '{configured}'.",
                             code="unknown_market")
    else:
        found, key = _open_market(None, None, contact_id)
        if found is None:
            raise NotFound(detail="The shop has no open market yet.", code="no_market")
    chosen = (currency or found.default_currency).strip().upper()
    if chosen not in found.currencies:
        raise Invalid.on("currency", f"Market {found.key} sells in {', '.join(found.currencies)}, "
                                     f"not {chosen}.", code="unknown_currency")
    return Storefront(found, chosen), key


def _open_market(by: str | None, value, contact_id: UUID | None) -> tuple[Market | None, str | None]:
    """(the open market whose column `by` is `value`, else the first open one
    by key; the key of the contact `contact_id`); (None, None) for none."""
    asked = None if contact_id is None else ContactAsked("id", bound_id(contact_id, connection))
    market, contact = market_with_contact(by, value, open_only=True, contact=asked)
    return market, contact.key if contact is not None else None


def storefront_choices() -> list[Storefront]:
    """Every (market, currency) a visitor may choose, by market key: one query."""
    return [Storefront(m, c) for m in Market.objects.on_sale().order_by("key") for c in m.currencies]


def shopper_contact(account) -> Contact | None:
    """The contact whose prices `account` sees: its own contact; None (the
    anonymous visitor's prices) for an anonymous visitor, an inactive
    account, or an account without a contact (staff)."""
    return account.contact if _shops_as_itself(account) else None


def _shops_as_itself(account) -> bool:
    return account is not None and account.is_authenticated and account.is_active


# --- What the visitor sees ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QuantityBreak:
    min_quantity: Decimal
    unit_price: Decimal


@dataclass(slots=True)
class ListedVariant:
    """A variant with the visitor's prices. `unit_price` None: unavailable
    to this visitor (no price applies at quantity 1)."""

    sku: str
    name: str
    options: dict
    currency: str
    unit_price: Decimal | None
    list_price: Decimal | None
    quantity_breaks: list[QuantityBreak]

    @property
    def available(self) -> bool:
        return self.unit_price is not None

    @property
    def is_own_price(self) -> bool:
        """True when the visitor pays less than the list price: "your price"."""
        return (self.unit_price is not None and self.list_price is not None
                and self.unit_price < self.list_price)


@dataclass(slots=True)
class ListedProduct:
    """A product on sale with its variants on sale. `variants` holds, until
    the product is priced, the variants as read: (sku, name, options)."""

    id: UUID
    key: str | None
    name: str
    description: str
    variants: list

    @property
    def ident(self) -> str:
        """What names the product in a URL: its key, or its id when it has none."""
        return self.key or str(self.id)

    @property
    def from_price(self) -> Decimal | None:
        """The lowest price the visitor pays for one of its variants; None: none priced."""
        prices = [v.unit_price for v in self.variants if v.unit_price is not None]
        return min(prices) if prices else None

    @property
    def from_list_price(self) -> Decimal | None:
        prices = [v.list_price for v in self.variants if v.list_price is not None]
        return min(prices) if prices else None

    @property
    def available(self) -> bool:
        return any(v.available for v in self.variants)


@dataclass(frozen=True)
class ProductPage:
    items: list[ListedProduct]
    next_cursor: str | None


def list_products(*, contact: Contact | None, storefront: Storefront, q: str | None = None,
                  limit: int = PAGE_SIZE, cursor: str | None = None,
                  at: datetime | None = None) -> ProductPage:
    """A page of the products on sale, by name: active products with at
    least one variant on sale; with `q`, those whose name or key contains
    it, or one of whose variants on sale has a SKU containing it (any case).
    Each with its variants on sale priced for `contact`. Invalid on `limit`
    or `cursor` for a bad page (core.pagination)."""
    check_limit(limit)
    after = PRODUCT_ORDER.values(cursor, Product) if cursor else None
    page = PRODUCT_ORDER.page_of(_products_on_sale(q=(q or "").strip(), after=after, limit=limit), limit)
    return ProductPage(_priced(page.items, contact=contact, storefront=storefront, at=at), page.next_cursor)


def get_product(ident: str, *, contact: Contact | None, storefront: Storefront,
                at: datetime | None = None) -> ListedProduct:
    """One product on sale by key or id, priced for `contact`; NotFound when
    there is none (or it is not on sale: a shopper cannot tell the two apart)."""
    ident = str(ident).strip()
    found = _products_on_sale(ident=ident)
    if not found:
        raise NotFound(detail=f"No product '{ident}'.", code="not_found")
    return _priced(found, contact=contact, storefront=storefront, at=at)[0]


# --- Reading the products: one statement ---------------------------------------------


def _icontains(column: str) -> str:
    """SQL: `column` contains the pattern bound next, in any case, as the
    ORM's `icontains` lookup writes it for this database."""
    return f"{connection.ops.lookup_cast('icontains', 'CharField') % column} {connection.operators['icontains']}"


@lru_cache(maxsize=8)
def _products_sql(*, searching: bool, after: str | None, by: str | None) -> str:
    """SQL: the products on sale in PRODUCT_ORDER, as many as bound last,
    each with its variants on sale (a row each, by SKU). With `searching`, those
    matching the pattern bound three times first; with `after`, those the
    keyset condition `after` (PRODUCT_ORDER.sql_after) lets through, its
    values bound next; with `by` ("id" or "key"), the one whose column is
    the value bound next.

    Written by hand, and built once for each of these shapes: the ORM took
    ~1.6 ms of CPU to build and compile this query on every request, and
    a model instance for each product and variant cost more again (see
    docs/benchmarks.md, store listing). "On sale" is the rule of
    `CatalogQuerySet.on_sale`, written by `catalog.models.on_sale_sql`."""
    product, variant = Product._meta.db_table, Variant._meta.db_table
    # The product `p` is selected whole, so that a variant's rule may read its flags.
    product_on_sale = on_sale_sql(Product, "p")
    variant_on_sale = {alias: on_sale_sql(Variant, alias, product="p") for alias in ("s", "v")}
    conditions = ""
    if searching:
        conditions += f"""
           AND ({_icontains("p.name")} OR {_icontains("p.key")}
                OR EXISTS (SELECT 1 FROM {variant} s
                            WHERE s.product_id = p.id AND {variant_on_sale["s"]} AND {_icontains("s.sku")}))"""
    if after:
        conditions += f"\n           AND {after}"
    if by:
        conditions += f"\n           AND p.{by} = %s"
    return f"""
    SELECT p.id, p.key, p.name, p.description, v.sku, v.name, v.options
      FROM (SELECT p.* FROM {product} p
             WHERE {product_on_sale}
               AND EXISTS (SELECT 1 FROM {variant} s
                            WHERE s.product_id = p.id AND {variant_on_sale["s"]}){conditions}
             ORDER BY p.name, p.id LIMIT %s) p
      CROSS JOIN {variant} v
     WHERE v.product_id = p.id AND {variant_on_sale["v"]}
     ORDER BY p.name, p.id, v.sku"""


def _products_on_sale(*, q: str = "", after: list | None = None, ident: str | None = None,
                      limit: int = 1) -> list[ListedProduct]:
    """The products on sale (`list_products`), with their variants as read:
    matching `q`; after the ordering values `after`; the one named `ident`
    (key or id). At most `limit` and one more (Keyset.page_of)."""
    params: list = []
    if q:
        params += [f"%{connection.ops.prep_for_like_query(q)}%"] * 3
    after_sql = None
    if after:
        after_sql, after_params = PRODUCT_ORDER.sql_after(("p.name", "p.id"), [after[0], bound_id(after[1], connection)])
        params += after_params
    by = None
    if ident is not None:
        by = "id" if looks_like_uuid(ident) else "key"
        params.append(bound_id(ident, connection) if by == "id" else ident)
    params.append(limit + 1)
    with connections[router.db_for_read(Product)].cursor() as cursor:
        cursor.execute(_products_sql(searching=bool(q), after=after_sql, by=by), params)
        rows = cursor.fetchall()
    load_id, load_options = value_loader("id", Product), value_loader("options", Variant)
    products: list[ListedProduct] = []
    read_id = None
    for product_id, key, name, description, sku, variant_name, options in rows:
        if product_id != read_id:  # the rows of a product come together (ORDER BY)
            products.append(ListedProduct(load_id(product_id), key, name, description, []))
            read_id = product_id
        products[-1].variants.append((sku, variant_name, load_options(options)))
    return products


# --- Pricing them -------------------------------------------------------------------


def _priced(products: list[ListedProduct], *, contact: Contact | None, storefront: Storefront,
            at: datetime | None = None) -> list[ListedProduct]:
    """The products (their variants as read) priced for `contact`: one query
    for the visitor's ladders and, for a contact, the list prices — whatever
    the number of SKUs; none when the shared cache holds them all
    (pricing.price_cache: only when `at` is not given)."""
    skus = [sku for p in products for sku, _, _ in p.variants]
    market, currency = storefront.market, storefront.currency
    anonymous = contact is None
    # For a contact, the list prices (the anonymous visitor's) come along in
    # the same query.
    ladders = resolve_price_ladders(skus, contact=contact, market=market, currency=currency, at=at,
                                    anonymous_at=None if anonymous else ONE)
    for product in products:
        product.variants = [_listed(sku, name, options, ladders[sku], currency, anonymous=anonymous)
                            for sku, name, options in product.variants]
    return products


def _listed(sku: str, name: str, options: dict, ladder: Ladder, currency: str, *,
            anonymous: bool) -> ListedVariant:
    unit_price = ladder.unit_price_at(ONE)
    return ListedVariant(
        sku=sku, name=name, options=options, currency=currency, unit_price=unit_price,
        list_price=unit_price if anonymous else ladder.anonymous_unit_price,
        quantity_breaks=[QuantityBreak(q, price) for q, price in ladder.breaks(after=ONE)],
    )
