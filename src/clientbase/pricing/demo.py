"""Demo catalog and price grid, loaded after the customers' demo data.

Two markets (EU in EUR, US in USD), 20 products with size or colour variants,
and per variant in each market: a price for all customers, a quantity break
from 10, and group prices Bronze > Silver > Gold below it — so Gold < Silver <
Bronze < all customers. One customer-specific price (Michael Smith, C-0021,
on the Classic T-shirt) shows a price that beats every group.

Loading is an upsert by key, SKU and (variant, market, sale type, code,
minimum quantity): running it twice changes nothing.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from clientbase.catalog.models import Market, Product, Variant
from clientbase.core.currencies import quantize
from clientbase.customers.models import Contact
from clientbase.pricing.models import PriceRow, SaleType

MARKETS = [
    ("EU", "Europe", ["DE", "FR", "NL", "GB"], ["EUR"], "EUR"),
    ("US", "United States", ["US"], ["USD"], "USD"),
]

# key, name, option name, option values, base price in EUR
PRODUCTS: list[tuple[str, str, str, list[str], str]] = [
    ("TSHIRT", "Classic T-shirt", "size", ["S", "M", "L", "XL"], "19.90"),
    ("HOODIE", "Hooded sweatshirt", "size", ["S", "M", "L", "XL"], "49.00"),
    ("JEANS", "Slim jeans", "size", ["30", "32", "34"], "79.00"),
    ("CAP", "Baseball cap", "colour", ["black", "navy", "red"], "15.00"),
    ("SOCKS", "Wool socks", "size", ["39-42", "43-46"], "9.50"),
    ("SCARF", "Merino scarf", "colour", ["grey", "camel"], "39.00"),
    ("JACKET", "Rain jacket", "size", ["M", "L"], "129.00"),
    ("POLO", "Polo shirt", "colour", ["white", "navy", "green"], "34.90"),
    ("SHORTS", "Chino shorts", "size", ["30", "32", "34"], "44.00"),
    ("BELT", "Leather belt", "size", ["85", "95", "105"], "29.00"),
    ("MUG", "Enamel mug", "colour", ["white", "blue"], "12.00"),
    ("BOTTLE", "Steel bottle", "colour", ["silver", "black"], "24.00"),
    ("TOTE", "Canvas tote", "colour", ["natural", "black"], "14.50"),
    ("BACKPACK", "Day backpack", "colour", ["black", "olive"], "89.00"),
    ("NOTEBOOK", "Dotted notebook", "size", ["A5", "A4"], "8.90"),
    ("PEN", "Brass pen", "colour", ["brass", "black"], "32.00"),
    ("UMBRELLA", "Compact umbrella", "colour", ["black", "yellow"], "27.00"),
    ("GLOVES", "Knit gloves", "size", ["S/M", "L/XL"], "19.00"),
    ("BEANIE", "Rib beanie", "colour", ["grey", "orange", "black"], "17.50"),
    ("APRON", "Work apron", "colour", ["denim", "brown"], "36.00"),
]

USD_PER_EUR = Decimal("1.10")
# Share of the base price each group pays, and the quantity break's.
GROUP_SHARES = [("BRONZE", Decimal("0.95")), ("SILVER", Decimal("0.90")), ("GOLD", Decimal("0.85"))]
BREAK_QUANTITY, BREAK_SHARE = Decimal(10), Decimal("0.92")
CUSTOMER_PRICE = ("C-0021", "TSHIRT-M", Decimal("0.75"))


@dataclass
class CatalogSummary:
    markets: int = 0
    products: int = 0
    variants: int = 0
    prices: int = 0
    created: int = 0

    def lines(self) -> list[str]:
        return [f"{self.markets} markets, {self.products} products, {self.variants} variants, "
                f"{self.prices} price rows ({self.created} created)"]


def _sku(product_key: str, value: str) -> str:
    return f"{product_key}-{value}".upper().replace("/", "-").replace(" ", "-")


def _upsert(model, lookup: dict, values: dict, summary: CatalogSummary):
    obj = model.objects.filter(**lookup).first()
    if obj is None:
        summary.created += 1
        return model.objects.create(**lookup, **values)
    changed = {k: v for k, v in values.items() if getattr(obj, k) != v}
    if changed:
        for k, v in changed.items():
            setattr(obj, k, v)
        obj.save()
    return obj


@transaction.atomic
def load_catalog_demo() -> CatalogSummary:
    """Upsert the demo markets, products, variants and price grid."""
    summary = CatalogSummary()
    markets = {}
    for key, name, countries, currencies, default in MARKETS:
        markets[key] = _upsert(Market, {"key": key}, {"name": name, "countries": countries,
                                                      "currencies": currencies,
                                                      "default_currency": default}, summary)
    for product_key, name, option, values, base in PRODUCTS:
        product = _upsert(Product, {"key": product_key}, {"name": name}, summary)
        for value in values:
            variant = _upsert(Variant, {"sku": _sku(product_key, value)},
                              {"product": product, "name": f"{name} {value}",
                               "options": {option: value}}, summary)
            for market in markets.values():
                _load_grid(variant, market, Decimal(base), summary)
    customer_key, sku, share = CUSTOMER_PRICE
    if Contact.objects.filter(key=customer_key).exists():
        variant = Variant.objects.get(sku=sku)
        for market in markets.values():
            _price(variant, market, SaleType.CUSTOMER, customer_key, Decimal(0),
                   _base(market, Decimal(PRODUCTS[0][4])) * share, summary)
    summary.markets = Market.objects.count()
    summary.products = Product.objects.count()
    summary.variants = Variant.objects.count()
    summary.prices = PriceRow.objects.count()
    return summary


def _base(market: Market, eur: Decimal) -> Decimal:
    return eur if market.default_currency == "EUR" else eur * USD_PER_EUR


def _load_grid(variant: Variant, market: Market, base_eur: Decimal, summary: CatalogSummary) -> None:
    base = _base(market, base_eur)
    _price(variant, market, SaleType.ALL_CUSTOMERS, "", Decimal(0), base, summary)
    _price(variant, market, SaleType.ALL_CUSTOMERS, "", BREAK_QUANTITY, base * BREAK_SHARE, summary)
    for group_key, share in GROUP_SHARES:
        _price(variant, market, SaleType.CUSTOMER_GROUP, group_key, Decimal(0), base * share, summary)


def _price(variant, market, sale_type, code, min_quantity, amount, summary) -> None:
    currency = market.default_currency
    _upsert(PriceRow, {"variant": variant, "market": market, "currency": currency,
                       "sale_type": sale_type, "sale_code": code, "min_quantity": min_quantity},
            {"unit_price": quantize(amount, currency)}, summary)


# The product the demo's banner prices for an anonymous visitor and for the
# Gold shopper, as the storefront shows it.
SHOWCASE_PRODUCT, SHOWCASE_SKU = "HOODIE", "HOODIE-M"


def price_lines() -> list[str]:
    """What the storefront shows for one demo product to an anonymous visitor
    and to the Gold shopper (clientbase.customers.demo.GROUP_SHOPPERS); no
    line when the demo catalog or that shopper is gone."""
    # Here rather than at the top: listing reads settings and the catalog,
    # which the loaders above do not need.
    from clientbase.customers.demo import GROUP_SHOPPERS
    from clientbase.core.errors import DomainError
    from clientbase.pricing import listing

    gold = Contact.objects.filter(account__email=GROUP_SHOPPERS["GOLD"]).first()
    try:
        storefront = listing.storefront_market()
        seen = {who: listing.get_product(SHOWCASE_PRODUCT, contact=contact, storefront=storefront)
                for who, contact in (("anyone", None), ("gold", gold))}
    except DomainError:
        return []
    anyone = next((v for v in seen["anyone"].variants if v.sku == SHOWCASE_SKU), None)
    mine = next((v for v in seen["gold"].variants if v.sku == SHOWCASE_SKU), None)
    if gold is None or anyone is None or mine is None or not anyone.available:
        return []
    breaks = "".join(f", from {b.min_quantity.normalize():f}: {b.unit_price}" for b in anyone.quantity_breaks)
    return [
        f"Storefront:       {seen['anyone'].name} {anyone.options.get('size', '')} in "
        f"{storefront.market.key}: anonymous visitors pay {anyone.unit_price} {storefront.currency}"
        f"{breaks}; {GROUP_SHOPPERS['GOLD']} (Gold) pays {mine.unit_price} {storefront.currency}",
    ]
