"""Decimals in API answers: money as a string with its currency's decimals,
quantities as plain decimal strings without trailing zeros; never a JSON number."""

import re

import pytest
from django.test import Client

from clientbase.catalog.models import Market

MONEY = re.compile(r"^\d+(\.\d+)?$")
QUANTITY = re.compile(r"^\d+(\.\d*[1-9])?$")


@pytest.fixture
def japan(catalog):
    return Market.objects.create(key="JP", name="Japan", countries=["JP"], currencies=["JPY"],
                                 default_currency="JPY")


@pytest.mark.parametrize(("sent", "answered"), [
    ({"unit_price": "12.5", "min_quantity": "10.00"}, {"unit_price": "12.50", "min_quantity": "10"}),
    ({"unit_price": 12.5, "min_quantity": 2.5}, {"unit_price": "12.50", "min_quantity": "2.5"}),
    ({"unit_price": "7", "min_quantity": "0"}, {"unit_price": "7.00", "min_quantity": "0"}),
    ({"unit_price": "0.10", "min_quantity": "0.25"}, {"unit_price": "0.10", "min_quantity": "0.25"}),
])
def test_a_price_row_answers_money_in_the_currencys_precision_and_quantities_plainly(
        admin_api, catalog, sent, answered):
    # when
    row = admin_api.post("/prices", {"variant": "TS-M", "market": "EU", **sent})
    # then
    assert row.status_code == 201, row.content
    assert {k: row.json()[k] for k in answered} == answered
    again = admin_api.get(f"/prices/{row.json()['id']}").json()
    assert {k: again[k] for k in answered} == answered
    listed = admin_api.get("/prices", variant="TS-M").json()["items"]
    assert {k: listed[0][k] for k in answered} == answered


def test_a_currency_without_decimals_answers_whole_amounts(admin_api, japan):
    row = admin_api.post("/prices", {"variant": "TS-M", "market": "JP", "unit_price": "1200"}).json()
    assert row["unit_price"] == "1200"
    resolved = admin_api.get("/prices/resolve", sku="TS-M", market="JP").json()
    assert (resolved["unit_price"], resolved["currency"]) == ("1200", "JPY")


def test_resolve_explain_and_batch_answer_the_same_formats(admin_api, price, contact_in):
    # given
    price("TS-M", "20.00")
    price("TS-M", "18.50", min_quantity="2.50")
    # when
    resolved = admin_api.get("/prices/resolve", sku="TS-M", market="EU", quantity="3.000").json()
    explained = admin_api.get("/prices/explain", sku="TS-M", market="EU", quantity="3.000").json()
    batch = admin_api.post("/prices/resolve", {"skus": ["TS-M"], "market": "EU", "quantity": "3.0"}).json()
    # then
    assert (resolved["unit_price"], resolved["quantity"], resolved["price"]["min_quantity"]) == (
        "18.50", "3", "2.5")
    assert (explained["unit_price"], explained["quantity"]) == ("18.50", "3")
    assert sorted(c["price"]["min_quantity"] for c in explained["candidates"]) == ["0", "2.5"]
    assert batch["items"][0]["unit_price"] == "18.50"


def test_no_decimal_in_a_price_answer_is_a_json_number(admin_api, price):
    price("TS-M", "20.00", min_quantity="1.5")
    bodies = [admin_api.get("/prices").json(),
              admin_api.get("/prices/explain", sku="TS-M", market="EU", quantity="2").json()]

    def decimals(value, name=""):
        if isinstance(value, dict):
            for key, item in value.items():
                yield from decimals(item, key)
        elif isinstance(value, list):
            for item in value:
                yield from decimals(item, name)
        elif name in ("unit_price", "min_quantity", "quantity"):
            yield name, value

    found = [d for body in bodies for d in decimals(body)]
    assert found and all(isinstance(v, str) for _, v in found)
    assert all((MONEY if n == "unit_price" else QUANTITY).match(v) for n, v in found), found


def test_the_schema_types_every_price_decimal_as_a_string_with_a_pattern(db):
    schemas = Client().get("/api/v1/openapi.json").json()["components"]["schemas"]
    fields = [("PriceOut", "unit_price"), ("PriceOut", "min_quantity"), ("ResolveOut", "unit_price"),
              ("ResolveOut", "quantity"), ("ExplainOut", "unit_price"), ("ExplainOut", "quantity"),
              ("BatchItem", "unit_price"), ("PriceIn", "unit_price"), ("PriceIn", "min_quantity"),
              ("PricePatch", "unit_price"), ("BatchIn", "quantity")]
    for component, field in fields:
        prop = schemas[component]["properties"][field]
        branches = [b for b in prop.get("anyOf", [prop]) if b.get("type") != "null"]
        assert [(b["type"], bool(b.get("pattern"))) for b in branches] == [("string", True)], (component, field)
