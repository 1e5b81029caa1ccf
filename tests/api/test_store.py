"""/api/v1/store: the catalog as the caller sees it, for anonymous visitors,
shoppers on the session and token callers alike."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from clientbase.catalog.models import Product, Variant
from clientbase.customers.models import ApiToken, Role
from tests.conftest import ApiClient, make_account
from tests.pricing import conftest as pricing_fixtures

# The pricing tests' catalog fixtures, shared.
catalog = pricing_fixtures.catalog
contact_in = pricing_fixtures.contact_in
price = pricing_fixtures.price
shop_prices = pricing_fixtures.shop_prices

PROBLEM = "application/problem+json"


@pytest.fixture
def shop(shop_prices, price):
    price("TS-M", "22.00", market="US")
    return shop_prices


@pytest.fixture
def gold_shopper(contact_in):
    contact = contact_in(groups=["GOLD"], key="C-GOLD")
    return make_account("gold@example.com", Role.REGISTERED, contact=contact)


def as_account(account) -> ApiClient:
    client = Client()
    if account is not None:
        client.force_login(account)
    return ApiClient(client, account)


def variant(body: dict, sku: str) -> dict:
    return next(v for v in body["variants"] if v["sku"] == sku)


def test_an_anonymous_visitor_gets_the_list_prices_and_breaks(shop):
    # when
    response = as_account(None).get("/store/products")
    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["market"], body["currency"], body["next_cursor"]) == ("EU", "EUR", None)
    [product] = body["items"]
    assert (product["key"], product["name"]) == ("TSHIRT", "T-shirt")
    assert variant(product, "TS-M") == {
        "sku": "TS-M", "name": "T-shirt M", "options": {"size": "M"}, "unit_price": "20.00",
        "list_price": "20.00", "currency": "EUR",
        "quantity_breaks": [{"min_quantity": "10", "unit_price": "18.00"}],
    }
    assert variant(product, "TS-L")["unit_price"] is None


def test_a_gold_shopper_on_the_session_gets_the_gold_price_next_to_the_list_price(shop, gold_shopper):
    # when
    response = as_account(gold_shopper).get("/store/products/TSHIRT")
    # then
    assert response.status_code == 200, response.content
    medium = variant(response.json(), "TS-M")
    assert (medium["unit_price"], medium["list_price"], medium["quantity_breaks"]) == ("15.00", "20.00", [])


def test_a_token_caller_gets_its_own_contacts_prices(shop, gold_shopper):
    # given
    _, raw = ApiToken.issue(gold_shopper)
    # when
    response = Client().get("/api/v1/store/products/TSHIRT", headers={"Authorization": f"Bearer {raw}"})
    # then
    assert response.status_code == 200
    assert variant(response.json(), "TS-M")["unit_price"] == "15.00"


@pytest.mark.parametrize("code", ["key", "id"])
def test_a_token_caller_gets_the_customer_price_set_for_its_contact(shop, gold_shopper, price, code):
    # given: a price for the Gold shopper's contact, by its key or its id
    contact = gold_shopper.contact
    price("TS-M", "9.00", sale_type="customer", sale_code=contact.key if code == "key" else str(contact.pk))
    _, raw = ApiToken.issue(gold_shopper)
    # when
    response = Client().get("/api/v1/store/products", headers={"Authorization": f"Bearer {raw}"})
    # then: its own price, the list price beside it
    tshirt = next(p for p in response.json()["items"] if p["key"] == "TSHIRT")
    assert (variant(tshirt, "TS-M")["unit_price"], variant(tshirt, "TS-M")["list_price"]) == ("9.00", "20.00")


def test_a_token_that_matches_nothing_is_refused_rather_than_taken_for_anonymous(shop):
    response = Client().get("/api/v1/store/products", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response["Content-Type"].startswith(PROBLEM)


def test_staff_without_a_contact_see_the_anonymous_prices(shop, accounts):
    response = as_account(accounts["admin"]).get("/store/products/TSHIRT")
    assert variant(response.json(), "TS-M")["unit_price"] == "20.00"


def test_no_parameter_shows_another_contacts_price(shop, gold_shopper, contact_in):
    # given: a shopper in no group asks for the Gold contact's prices
    plain = make_account("plain@example.com", Role.REGISTERED, contact=contact_in())
    # when
    response = as_account(plain).get("/store/products/TSHIRT", contact="C-GOLD")
    # then: its own price; `contact` means nothing here
    assert variant(response.json(), "TS-M")["unit_price"] == "20.00"


def test_another_market_and_currency_are_chosen_by_parameter(shop):
    # when
    response = as_account(None).get("/store/products/TSHIRT", market="US")
    # then
    assert response.status_code == 200
    medium = variant(response.json(), "TS-M")
    assert (medium["unit_price"], medium["currency"]) == ("22.00", "USD")
    assert variant(response.json(), "TS-S")["unit_price"] is None


@pytest.mark.parametrize(("params", "field"), [
    ({"market": "MARS"}, "market"),
    ({"market": "EU", "currency": "USD"}, "currency"),
    ({"currency": "XXX"}, "currency"),
    ({"cursor": "not-ours"}, "cursor"),
    ({"limit": "0"}, "limit"),
])
def test_a_bad_market_currency_or_page_is_a_422_problem(shop, params, field):
    response = as_account(None).get("/store/products", **params)
    assert response.status_code == 422, response.content
    assert response["Content-Type"].startswith(PROBLEM)
    assert field in [e["field"].split(".")[-1] for e in response.json()["errors"]]


@pytest.mark.parametrize("ident", ["NOPE", "00000000-0000-0000-0000-000000000000", "OLD"])
def test_an_unknown_or_withdrawn_product_is_a_404_problem(shop, ident):
    # given
    old = Product.objects.create(key="OLD", name="Old", is_active=False)
    Variant.objects.create(sku="OLD-1", product=old)
    # when
    response = as_account(None).get(f"/store/products/{ident}")
    # then
    assert response.status_code == 404
    assert response["Content-Type"].startswith(PROBLEM)


def test_a_product_is_found_by_its_id_too(shop):
    response = as_account(None).get(f"/store/products/{shop['TSHIRT'].pk}")
    assert response.json()["key"] == "TSHIRT"


def test_search_and_pages(shop):
    # given
    for n in range(5):
        product = Product.objects.create(key=f"MUG-{n}", name=f"Mug {n}")
        Variant.objects.create(sku=f"MUG-{n}-W", product=product)
    api = as_account(None)
    # when
    first = api.get("/store/products", q="mug", limit=3).json()
    second = api.get("/store/products", q="mug", limit=3, cursor=first["next_cursor"]).json()
    by_sku = api.get("/store/products", q="ts-m").json()
    # then
    assert [p["key"] for p in first["items"]] == ["MUG-0", "MUG-1", "MUG-2"]
    assert [p["key"] for p in second["items"]] == ["MUG-3", "MUG-4"] and second["next_cursor"] is None
    assert [p["key"] for p in by_sku["items"]] == ["TSHIRT"]


@pytest.mark.parametrize("who", ["anonymous", "gold"])
def test_the_listing_costs_the_same_for_2_and_24_products(shop, gold_shopper, who):
    # given
    for n in range(24):
        product = Product.objects.create(key=f"P-{n:02d}", name=f"Product {n:02d}")
        for size in "SML":
            Variant.objects.create(sku=f"P-{n:02d}-{size}", product=product)
    api = as_account(gold_shopper if who == "gold" else None)
    counts = []
    # when
    for limit in (2, 24):
        with CaptureQueriesContext(connection) as captured:
            response = api.get("/store/products", q="Product", limit=limit)
        assert len(response.json()["items"]) == limit
        counts.append(len(captured))
    # then
    assert counts[0] == counts[1]


def test_the_schema_lets_anybody_call_the_store(client):
    schema = client.get("/api/v1/openapi.json").json()
    for path in ("/api/v1/store/products", "/api/v1/store/products/{ident}"):
        assert {} in schema["paths"][path]["get"]["security"]


def test_prices_are_decimal_strings_in_the_currencys_precision(shop, price):
    price("TS-S", "19.999", min_quantity="5")
    small = variant(as_account(None).get("/store/products/TSHIRT").json(), "TS-S")
    assert small["quantity_breaks"] == [{"min_quantity": "10", "unit_price": "18.00"}]
    assert Decimal(small["unit_price"]) == Decimal("20.00")
