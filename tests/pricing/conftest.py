"""A small catalog on top of the shared `world`: markets EU (EUR) and US (USD),
a T-shirt with three variants, and a helper to add price rows."""

from decimal import Decimal

import pytest

from clientbase.catalog.models import Market, Product, Variant
from clientbase.customers.models import Contact
from clientbase.pricing.models import PriceRow


@pytest.fixture
def catalog(world):
    eu = Market.objects.create(key="EU", name="Europe", countries=["DE", "FR", "NL"],
                               currencies=["EUR"], default_currency="EUR")
    us = Market.objects.create(key="US", name="United States", countries=["US"],
                               currencies=["USD"], default_currency="USD")
    shirt = Product.objects.create(key="TSHIRT", name="T-shirt")
    variants = {
        sku: Variant.objects.create(sku=sku, product=shirt, name=name, options=options)
        for sku, name, options in [
            ("TS-S", "T-shirt S", {"size": "S"}),
            ("TS-M", "T-shirt M", {"size": "M"}),
            ("TS-L", "T-shirt L", {"size": "L"}),
        ]
    }
    return {"EU": eu, "US": us, "TSHIRT": shirt, **variants}


@pytest.fixture
def price(catalog):
    """price("TS-M", "10.00", sale_type=..., sale_code=..., min_quantity=..., market="EU")"""

    def make(target: str, unit_price: str, *, market: str = "EU", currency: str | None = None,
             sale_type: str = "all_customers", sale_code: str = "", min_quantity: str = "0",
             valid_from=None, valid_until=None) -> PriceRow:
        obj = catalog[target]
        market_obj = catalog[market]
        return PriceRow.objects.create(
            variant=obj if target != "TSHIRT" else None,
            product=obj if target == "TSHIRT" else None,
            market=market_obj, currency=currency or market_obj.default_currency,
            sale_type=sale_type, sale_code=sale_code, min_quantity=Decimal(min_quantity),
            unit_price=Decimal(unit_price), valid_from=valid_from, valid_until=valid_until,
        )

    return make


@pytest.fixture
def contact_in(world):
    """contact_in(organizations=[...keys], groups=[...keys], key=...) → a new contact."""
    counter = iter(range(10_000))

    def make(*, organizations=(), groups=(), key=None) -> Contact:
        n = next(counter)
        contact = Contact.objects.create(first_name="Pat", last_name=f"Buyer{n}",
                                         email=f"buyer{n}@example.com", key=key)
        contact.organizations.set([world[k] for k in organizations])
        contact.customer_groups.set([world[k] for k in groups])
        return contact

    return make


@pytest.fixture
def shop_prices(catalog, price):
    """The storefront's usual prices, in EU/EUR: everyone pays 20.00 for TS-S
    and TS-M (18.00 from 10), Gold pays 15.00; TS-L has no price. Returns the
    catalog."""
    for sku in ("TS-S", "TS-M"):
        price(sku, "20.00")
        price(sku, "18.00", min_quantity="10")
        price(sku, "15.00", sale_type="customer_group", sale_code="GOLD")
    return catalog
