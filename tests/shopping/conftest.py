"""Shopping builds on the pricing tests' small catalog (markets EU and US, a
T-shirt with TS-S, TS-M, TS-L; `price` adds rows) and adds shoppers: an
anonymous cart, and registered accounts with a contact in a group."""

import pytest

from clientbase.customers.models import Account, Role
from clientbase.shopping.services import carts
from tests.conftest import make_account
from tests.pricing import conftest as pricing

# The pricing tests' fixtures, shared.
catalog, price, contact_in = pricing.catalog, pricing.price, pricing.contact_in


@pytest.fixture
def eu_prices(price):
    """Everyone pays 20.00 for each size in EU/EUR, 18.00 from 10; Gold pays 15.00."""
    for sku in ("TS-S", "TS-M", "TS-L"):
        price(sku, "20.00")
        price(sku, "18.00", min_quantity="10")
        price(sku, "15.00", sale_type="customer_group", sale_code="GOLD")


@pytest.fixture
def anonymous_cart(catalog):
    return carts.new_cart(market=catalog["EU"])


@pytest.fixture
def shopper(contact_in):
    """shopper("gold@example.com", groups=["GOLD"]) → a registered account whose contact is in those groups."""

    def make(email: str, groups=()) -> Account:
        contact = contact_in(groups=groups)
        return make_account(email, Role.REGISTERED, contact=contact)

    return make
