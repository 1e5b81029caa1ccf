"""The storefront's shopping pages build on the pricing tests' catalog
(markets EU and US, a T-shirt with TS-S, TS-M, TS-L) with prices: everyone
pays 20.00 (18.00 from 10), Gold pays 15.00; TS-L has no price."""

import pytest
from django.test import Client

from clientbase.customers.models import Role
from tests.conftest import make_account
from tests.pricing import conftest as pricing_fixtures

catalog, price, contact_in = pricing_fixtures.catalog, pricing_fixtures.price, pricing_fixtures.contact_in
shop_prices = pricing_fixtures.shop_prices

ADDRESS = {"first_name": "Ada", "last_name": "Lovelace", "line1": "Hauptstr. 1", "line2": "",
           "postcode": "10115", "city": "Berlin", "country": "DE"}


@pytest.fixture
def priced_shop(shop_prices):
    return shop_prices


@pytest.fixture
def gold_shopper(contact_in):
    return make_account("gold@example.com", Role.REGISTERED, contact=contact_in(groups=["GOLD"]))


@pytest.fixture
def gold_client(gold_shopper):
    client = Client()
    client.force_login(gold_shopper)
    return client


def add(client: Client, sku: str, quantity="1", **extra):
    return client.post("/cart/add/", {"sku": sku, "quantity": quantity, **extra}, follow=True)


def checkout_data(email: str | None = "guest@example.com", same: bool = True, **changes) -> dict:
    data = {f"shipping-{k}": v for k, v in ADDRESS.items()}
    if email is not None:
        data["email"] = email
    if same:
        data["billing_same"] = "on"
    data.update(changes)
    return data
