"""The catalog as a visitor sees it: products on sale, each variant with the
visitor's price, the list price beside it, and the quantity breaks.

The storefront's pages and the store API (`/api/v1/store/products`) both read
the shop through here, so that a visitor sees the same prices whichever door
it uses. Reads only: nothing here writes.

Who is looking is a contact (a logged-in shopper's) or None (anonymous, and
an account without a contact, e.g. staff: they see what anyone sees). Prices
come from the one resolver, in batches: a page of products costs a fixed
number of queries however many products and variants it holds —

    the page of products, their variants on sale, the visitor's price
    ladders (one query for every SKU, which for a contact also answers the
    list prices: the anonymous visitor's).

A variant without a price for the visitor stays in the list, marked
unavailable (`unit_price` None): hiding it would make a product's sizes
change from one visitor to the next without a word, and a shop's staff must
see a missing price to fix it. A product is listed only when at least one of
its variants is on sale (there is nothing else to buy).
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from clientbase.catalog.models import Market, Product, Variant
from clientbase.core.errors import Invalid, NotFound
from clientbase.core.models import looks_like_uuid
from clientbase.core.pagination import Keyset
from clientbase.customers.models import Contact
from clientbase.pricing.resolver import Ladder, resolve_price_ladders

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
    markets = Market.objects.on_sale()
    if market is not None:
        market = market.strip()
        lookup = {"pk": market} if looks_like_uuid(market) else {"key": market}
        found = markets.filter(**lookup).first()
        if found is None:
            raise Invalid.on("market", f"No market '{market}' is open.", code="unknown_market")
    elif configured := getattr(settings, "STOREFRONT_MARKET", ""):
        found = markets.filter(key=configured).first()
        if found is None:
            raise Invalid.on("market", f"STOREFRONT_MARKET names no open market: '{configured}'.",
                             code="unknown_market")
    else:
        found = markets.order_by("key").first()
        if found is None:
            raise NotFound(detail="The shop has no open market yet.", code="no_market")
    chosen = (currency or found.default_currency).strip().upper()
    if chosen not in found.currencies:
        raise Invalid.on("currency", f"Market {found.key} sells in {', '.join(found.currencies)}, "
                                     f"not {chosen}.", code="unknown_currency")
    return Storefront(found, chosen)


def storefront_choices() -> list[Storefront]:
    """Every (market, currency) a visitor may choose, by market key: one query."""
    return [Storefront(m, c) for m in Market.objects.on_sale().order_by("key") for c in m.currencies]


def shopper_contact(account) -> Contact | None:
    """The contact whose prices `account` sees: its own contact; None (the
    anonymous visitor's prices) for an anonymous visitor, an inactive
    account, or an account without a contact (staff)."""
    if account is None or not account.is_authenticated or not account.is_active:
        return None
    return account.contact


# --- What the visitor sees ---------------------------------------------------------


@dataclass(frozen=True)
class QuantityBreak:
    min_quantity: Decimal
    unit_price: Decimal


@dataclass
class ListedVariant:
    """A variant with the visitor's prices. `unit_price` None: unavailable
    to this visitor (no price applies at quantity 1)."""

    variant: Variant
    currency: str
    unit_price: Decimal | None
    list_price: Decimal | None
    quantity_breaks: list[QuantityBreak] = field(default_factory=list)

    @property
    def sku(self) -> str:
        return self.variant.sku

    @property
    def name(self) -> str:
        return self.variant.name

    @property
    def options(self) -> dict:
        return self.variant.options

    @property
    def available(self) -> bool:
        return self.unit_price is not None

    @property
    def is_own_price(self) -> bool:
        """True when the visitor pays less than the list price: "your price"."""
        return (self.unit_price is not None and self.list_price is not None
                and self.unit_price < self.list_price)


@dataclass
class ListedProduct:
    product: Product
    variants: list[ListedVariant]

    @property
    def id(self):
        return self.product.pk

    @property
    def key(self) -> str | None:
        return self.product.key

    @property
    def ident(self) -> str:
        """What names the product in a URL: its key, or its id when it has none."""
        return self.product.key or str(self.product.pk)

    @property
    def name(self) -> str:
        return self.product.name

    @property
    def description(self) -> str:
        return self.product.description

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


def products_on_sale(q: str | None = None) -> QuerySet:
    """Active products with at least one variant on sale; with `q`, those
    whose name or key contains it, or one of whose variants on sale has a
    SKU containing it (any case)."""
    variants = Variant.objects.on_sale().filter(product=OuterRef("pk"))
    products = Product.objects.on_sale().filter(Exists(variants))
    if q := (q or "").strip():
        products = products.filter(Q(name__icontains=q) | Q(key__icontains=q)
                                   | Exists(variants.filter(sku__icontains=q)))
    return products


def _with_variants(products: QuerySet) -> QuerySet:
    return products.prefetch_related(
        Prefetch("variants", queryset=Variant.objects.on_sale().order_by("sku"), to_attr="on_sale"))


def list_products(*, contact: Contact | None, storefront: Storefront, q: str | None = None,
                  limit: int = PAGE_SIZE, cursor: str | None = None,
                  at: datetime | None = None) -> ProductPage:
    """A page of the products on sale (`products_on_sale(q)`, by name), each
    with its variants on sale priced for `contact`. Invalid on `limit` or
    `cursor` for a bad page (core.pagination)."""
    page = PRODUCT_ORDER.page(_with_variants(products_on_sale(q)), limit=limit, cursor=cursor)
    return ProductPage(price_products(page.items, contact=contact, storefront=storefront, at=at),
                       page.next_cursor)


def get_product(ident: str, *, contact: Contact | None, storefront: Storefront,
                at: datetime | None = None) -> ListedProduct:
    """One product on sale by key or id, priced for `contact`; NotFound when
    there is none (or it is not on sale: a shopper cannot tell the two apart)."""
    ident = str(ident).strip()
    lookup = {"pk": ident} if looks_like_uuid(ident) else {"key": ident}
    product = _with_variants(products_on_sale()).filter(**lookup).first()
    if product is None:
        raise NotFound(detail=f"No product '{ident}'.", code="not_found")
    return price_products([product], contact=contact, storefront=storefront, at=at)[0]


def price_products(products: list[Product], *, contact: Contact | None, storefront: Storefront,
                   at: datetime | None = None) -> list[ListedProduct]:
    """The products (their variants prefetched `on_sale`) priced for
    `contact`: one query for the visitor's ladders and, for a contact, the
    list prices — whatever the number of SKUs."""
    at = at or timezone.now()
    skus = [v.sku for p in products for v in p.on_sale]
    market, currency = storefront.market, storefront.currency
    # For a contact, the list prices (the anonymous visitor's) come along in
    # the same query.
    ladders = resolve_price_ladders(skus, contact=contact, market=market, currency=currency, at=at,
                                    anonymous_at=None if contact is None else ONE)
    return [ListedProduct(p, [_listed(v, ladders[v.sku], currency, anonymous=contact is None)
                              for v in p.on_sale])
            for p in products]


def _listed(variant: Variant, ladder: Ladder, currency: str, *, anonymous: bool) -> ListedVariant:
    unit_price = ladder.unit_price_at(ONE)
    return ListedVariant(
        variant=variant, currency=currency, unit_price=unit_price,
        list_price=unit_price if anonymous else ladder.anonymous_unit_price,
        quantity_breaks=[QuantityBreak(q, price) for q, price in ladder.breaks(after=ONE)],
    )
