"""The catalog and pricing back office: markets, products, variants and price
rows, the variant's price grid, and previews of what a visitor pays.

Callers: `admin` (Administrators), `manager` (CatalogManagers: edits the
catalog and prices), `csr` (CustomerServiceRepresentatives with a grant on EU
Headquarters: views prices and previews them, edits nothing).
"""

from datetime import datetime, timezone
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.test import Client
from django.urls import reverse

from clientbase.catalog.models import Market, Product, Variant
from clientbase.customers.models import Role
from clientbase.pricing.models import PriceRow
from tests.conftest import make_account
from tests.pricing.conftest import catalog, contact_in, price  # noqa: F401 - fixtures

JAN = datetime(2026, 1, 1, tzinfo=timezone.utc)
FEB = datetime(2026, 2, 1, tzinfo=timezone.utc)


@pytest.fixture
def manager(accounts) -> Client:
    client = Client()
    client.force_login(make_account("catalog@example.com", Role.CATALOG_MANAGERS))
    return client


@pytest.fixture
def gold_grid(catalog, price):
    """TS-M in EU: everyone 20.00 (18.00 from 10), Gold 15.00, Silver 17.00;
    the T-shirt (product level) 30.00 in EU and 25.00 in US."""
    return {
        "all": price("TS-M", "20.00"),
        "all10": price("TS-M", "18.00", min_quantity="10"),
        "gold": price("TS-M", "15.00", sale_type="customer_group", sale_code="GOLD"),
        "silver": price("TS-M", "17.00", sale_type="customer_group", sale_code="SILVER"),
        "product_eu": price("TSHIRT", "30.00"),
        "product_us": price("TSHIRT", "25.00", market="US"),
    }


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def price_form(catalog, **overrides) -> dict:
    data = {
        "variant": str(catalog["TS-M"].pk), "product": "", "market": str(catalog["EU"].pk),
        "currency": "EUR", "sale_type": "all_customers", "sale_code": "", "min_quantity": "0",
        "unit_price": "12.50", "valid_from_0": "", "valid_from_1": "", "valid_until_0": "",
        "valid_until_1": "",
    }
    data.update(overrides)
    return data


# --- pages open ------------------------------------------------------------------


def _object(model, catalog, gold_grid):
    return {Market: catalog["EU"], Product: catalog["TSHIRT"], Variant: catalog["TS-M"],
            PriceRow: gold_grid["gold"]}[model]


MODELS = [Market, Product, Variant, PriceRow]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.model_name)
@pytest.mark.parametrize("page", ["changelist", "add", "change", "history"])
def test_an_administrator_can_open_every_catalog_page(login, catalog, gold_grid, model, page):
    # given
    opts = model._meta
    args = [_object(model, catalog, gold_grid).pk] if page in ("change", "history") else []
    # when
    response = login("admin").get(reverse(f"admin:{opts.app_label}_{opts.model_name}_{page}", args=args))
    # then
    assert response.status_code == 200


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.model_name)
def test_a_representative_sees_the_catalog_read_only(login, catalog, gold_grid, model):
    opts = model._meta
    client = login("csr")
    assert client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")).status_code == 200
    change = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change",
                                args=[_object(model, catalog, gold_grid).pk]))
    assert change.status_code == 200
    assert change.context["has_change_permission"] is False
    assert client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add")).status_code == 403


def test_the_price_list_filters_by_market_currency_and_sale_type(login, gold_grid, catalog):
    client = login("admin")
    url = reverse("admin:pricing_pricerow_changelist")
    response = client.get(url, {"market__id__exact": str(catalog["US"].pk)})
    assert list(response.context["cl"].result_list) == [gold_grid["product_us"]]
    response = client.get(url, {"currency": "EUR", "sale_type": "customer_group"})
    assert set(response.context["cl"].result_list) == {gold_grid["gold"], gold_grid["silver"]}


@pytest.mark.parametrize("term, expected", [
    ("TS-M", {"all", "all10", "gold", "silver"}),
    ("GOLD", {"gold"}),
    ("TSHIRT", {"product_eu", "product_us"}),
    ("nothing", set()),
])
def test_the_price_list_searches_by_sku_product_and_sale_code(login, gold_grid, term, expected):
    response = login("admin").get(reverse("admin:pricing_pricerow_changelist"), {"q": term})
    found = set(response.context["cl"].result_list)
    assert found == {gold_grid[name] for name in expected}


# --- price rows: validation -------------------------------------------------------


INVALID_PRICES = [
    pytest.param({"currency": "USD"}, "currency", "sells in EUR", id="currency-not-of-the-market"),
    pytest.param({"unit_price": "-1.00"}, "unit_price", "zero or more", id="negative-price"),
    pytest.param({"unit_price": "10.001"}, "unit_price", "at most 2 decimal", id="too-precise-for-eur"),
    pytest.param({"unit_price": "abc"}, "unit_price", "number", id="not-a-number"),
    pytest.param({"valid_from_0": "2026-02-01", "valid_from_1": "00:00",
                  "valid_until_0": "2026-01-01", "valid_until_1": "00:00"},
                 "valid_until", "after valid_from", id="validity-backwards"),
    pytest.param({"sale_type": "customer_group", "sale_code": "PLATINUM"}, "sale_code",
                 "No customer group", id="unknown-group"),
    pytest.param({"sale_type": "customer", "sale_code": "NOBODY"}, "sale_code", "No contact",
                 id="unknown-contact"),
    pytest.param({"sale_type": "customer_group", "sale_code": ""}, "sale_code", "needs a sale code",
                 id="group-without-code"),
    pytest.param({"sale_code": "GOLD"}, "sale_code", "has no sale code", id="code-for-everyone"),
    pytest.param({"variant": ""}, None, "either a variant or a product", id="neither-variant-nor-product"),
    pytest.param({"market": ""}, "market", "required", id="no-market"),
    pytest.param({"min_quantity": "-1"}, "min_quantity", "zero or more", id="negative-quantity"),
]


@pytest.mark.parametrize("overrides, field, message", INVALID_PRICES)
def test_an_invalid_price_row_shows_the_error_on_its_field_and_saves_nothing(
        login, catalog, overrides, field, message):
    # when
    response = login("admin").post(reverse("admin:pricing_pricerow_add"), price_form(catalog, **overrides))
    # then
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    key = field or "variant"
    assert key in errors or "__all__" in errors, errors
    assert message.lower() in " ".join(errors.get(key, []) + errors.get("__all__", [])).lower()
    assert PriceRow.objects.count() == 0


def test_a_price_in_yen_has_no_decimals(login, catalog):
    jp = Market.objects.create(key="JP", name="Japan", countries=["JP"], currencies=["JPY"],
                               default_currency="JPY")
    client = login("admin")
    url = reverse("admin:pricing_pricerow_add")
    refused = client.post(url, price_form(catalog, market=str(jp.pk), currency="JPY", unit_price="1500.50"))
    assert "at most 0 decimal" in " ".join(refused.context["adminform"].form.errors["unit_price"])
    accepted = client.post(url, price_form(catalog, market=str(jp.pk), currency="JPY", unit_price="1500"))
    assert accepted.status_code == 302
    assert PriceRow.objects.get().unit_price == Decimal("1500")


def test_a_catalog_manager_adds_a_price_and_the_currency_defaults_to_the_markets(manager, catalog):
    # when
    response = manager.post(reverse("admin:pricing_pricerow_add"),
                            price_form(catalog, currency="", sale_type="customer_group", sale_code="GOLD",
                                       min_quantity="5"))
    # then
    assert response.status_code == 302
    row = PriceRow.objects.get()
    assert (row.variant, row.currency, row.sale_code, row.min_quantity, row.unit_price) == (
        catalog["TS-M"], "EUR", "GOLD", Decimal(5), Decimal("12.50"))
    assert row.history.count() == 1


def test_a_product_level_price_with_a_customer_code_is_accepted(login, catalog, contact_in):
    contact_in(organizations=["EU-HQ"], key="C-42")
    response = login("admin").post(reverse("admin:pricing_pricerow_add"), price_form(
        catalog, variant="", product=str(catalog["TSHIRT"].pk), sale_type="customer", sale_code="C-42"))
    assert response.status_code == 302
    assert PriceRow.objects.get().product == catalog["TSHIRT"]


def test_a_representative_cannot_add_or_change_a_price(login, catalog, gold_grid):
    client = login("csr")
    assert client.get(reverse("admin:pricing_pricerow_add")).status_code == 403
    assert client.post(reverse("admin:pricing_pricerow_add"), price_form(catalog)).status_code == 403
    change = client.post(reverse("admin:pricing_pricerow_change", args=[gold_grid["gold"].pk]),
                         price_form(catalog, unit_price="1.00"))
    assert change.status_code == 403
    assert PriceRow.objects.count() == len(gold_grid)
    assert PriceRow.objects.get(pk=gold_grid["gold"].pk).unit_price == Decimal("15.00")


# --- markets ----------------------------------------------------------------------


def market_form(**overrides) -> dict:
    data = {"key": "UK", "name": "United Kingdom", "countries": "gb", "currencies": "GBP",
            "default_currency": "", "is_active": "on"}
    data.update(overrides)
    return data


def test_a_market_is_created_with_normalized_codes(manager, world):
    response = manager.post(reverse("admin:catalog_market_add"),
                            market_form(countries="ie, gb", currencies="gbp eur"))
    assert response.status_code == 302
    market = Market.objects.get(key="UK")
    assert (market.countries, market.currencies, market.default_currency) == (
        ["GB", "IE"], ["GBP", "EUR"], "GBP")


@pytest.mark.parametrize("overrides, field, message", [
    ({"currencies": "XXQ"}, "currencies", "ISO 4217"),
    ({"currencies": ""}, "currencies", "required"),
    ({"countries": "GBR"}, "countries", "ISO 3166"),
    ({"default_currency": "EUR"}, "default_currency", "one of the market's currencies"),
    ({"key": "has space"}, "key", "letters, digits"),
])
def test_an_invalid_market_shows_the_error_on_its_field(manager, world, overrides, field, message):
    response = manager.post(reverse("admin:catalog_market_add"), market_form(**overrides))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert message in " ".join(errors[field]), errors
    assert not Market.objects.filter(name="United Kingdom").exists()


def test_a_currency_that_prices_use_cannot_be_removed_from_its_market(manager, catalog, gold_grid):
    eu = catalog["EU"]
    response = manager.post(reverse("admin:catalog_market_change", args=[eu.pk]), market_form(
        key="EU", name="Europe", countries="DE FR NL", currencies="CHF"))
    assert response.status_code == 200
    assert "use a currency you are removing" in " ".join(
        response.context["adminform"].form.errors["currencies"])
    eu.refresh_from_db()
    assert eu.currencies == ["EUR"]


@pytest.mark.parametrize("method", ["get", "post"])
def test_deleting_a_market_with_prices_is_refused_with_the_count(manager, catalog, gold_grid, method):
    eu = catalog["EU"]
    # when
    response = getattr(manager, method)(reverse("admin:catalog_market_delete", args=[eu.pk]),
                                        *([{"post": "yes"}] if method == "post" else []))
    # then
    assert response.status_code == 302
    assert response.url == reverse("admin:catalog_market_change", args=[eu.pk])
    assert any("5 price row(s)" in m for m in messages_of(response))
    assert Market.objects.filter(pk=eu.pk).exists()
    assert PriceRow.objects.filter(market=eu).count() == 5


def test_a_market_without_prices_is_deleted(manager, catalog):
    us = catalog["US"]
    response = manager.post(reverse("admin:catalog_market_delete", args=[us.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Market.objects.filter(pk=us.pk).exists()


# --- products and variants ------------------------------------------------------------


def test_a_product_is_created_with_its_variants_inline(manager, world):
    data = {
        "name": "Mug", "key": "MUG", "description": "",
        "variants-TOTAL_FORMS": "2", "variants-INITIAL_FORMS": "0",
        "variants-MIN_NUM_FORMS": "0", "variants-MAX_NUM_FORMS": "1000",
        "variants-0-sku": "MUG-W", "variants-0-name": "Mug white", "variants-0-options": '{"colour": "white"}',
        "variants-1-sku": "MUG-B", "variants-1-name": "Mug black", "variants-1-options": '{"colour": "black"}',
    }
    response = manager.post(reverse("admin:catalog_product_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    product = Product.objects.get(key="MUG")
    assert {v.sku: v.options for v in product.variants.all()} == {
        "MUG-W": {"colour": "white"}, "MUG-B": {"colour": "black"}}


@pytest.mark.parametrize("options, message", [
    ('["red"]', "flat object"),
    ('{"size": {"eu": 40}}', "flat object"),
    ("{not json", "JSON"),
])
def test_a_variant_with_bad_options_shows_the_error_on_options(manager, catalog, options, message):
    response = manager.post(reverse("admin:catalog_variant_add"), {
        "sku": "TS-XL", "product": str(catalog["TSHIRT"].pk), "name": "XL", "options": options})
    assert response.status_code == 200
    assert message in " ".join(response.context["adminform"].form.errors["options"])
    assert not Variant.objects.filter(sku="TS-XL").exists()


def test_a_duplicate_sku_is_a_field_error(manager, catalog):
    response = manager.post(reverse("admin:catalog_variant_add"), {
        "sku": "TS-M", "product": str(catalog["TSHIRT"].pk), "name": "again", "options": "{}"})
    assert response.status_code == 200
    assert "sku" in response.context["adminform"].form.errors


# --- the price grid ---------------------------------------------------------------------


def _cells(line) -> list[list[str]]:
    return [[str(c.unit_price) for c in cell] for cell in line.cells]


def test_the_variant_page_shows_its_price_grid_with_product_rows(login, catalog, gold_grid, price):
    # given: a time-limited Gold price from 10
    price("TS-M", "14.00", sale_type="customer_group", sale_code="GOLD", min_quantity="10",
          valid_from=JAN, valid_until=FEB)
    # when
    response = login("admin").get(reverse("admin:catalog_variant_change", args=[catalog["TS-M"].pk]))
    # then
    grid = response.context["price_grid"]
    assert grid.columns == [Decimal(0), Decimal(10)]
    lines = {(ln.level, ln.market.key, ln.currency, ln.sale_type, ln.sale_code): ln for ln in grid.lines}
    assert {key: _cells(line) for key, line in lines.items()} == {
        ("variant", "EU", "EUR", "all_customers", ""): [["20.00"], ["18.00"]],
        ("variant", "EU", "EUR", "customer_group", "GOLD"): [["15.00"], ["14.00"]],
        ("variant", "EU", "EUR", "customer_group", "SILVER"): [["17.00"], []],
        ("product", "EU", "EUR", "all_customers", ""): [["30.00"], []],
        ("product", "US", "USD", "all_customers", ""): [["25.00"], []],
    }
    # the EU product row is replaced by the variant's own EU rows; the US one is not
    assert lines[("product", "EU", "EUR", "all_customers", "")].shadowed is True
    assert lines[("product", "US", "USD", "all_customers", "")].shadowed is False
    html = response.content.decode()
    assert 'id="price-grid"' in html and "2026-01-01 00:00" in html and "2026-02-01 00:00" in html
    assert html.count('class="price-cell') == 7


def test_a_variant_without_prices_says_so(login, catalog):
    response = login("admin").get(reverse("admin:catalog_variant_change", args=[catalog["TS-L"].pk]))
    assert response.context["price_grid"].lines == []
    assert 'id="price-grid-empty"' in response.content.decode()


def test_the_grid_costs_the_same_queries_for_many_rows(login, accounts, catalog, price,
                                                        django_assert_max_num_queries):
    from clientbase.backoffice.prices import price_grid

    for n in range(30):
        price("TS-M", f"{20 - n / 10:.2f}", min_quantity=str(n))
    price_grid(catalog["TS-L"], accounts["admin"])  # the account's roles, as a request would have them
    with django_assert_max_num_queries(1):
        grid = price_grid(catalog["TS-M"], accounts["admin"])
    assert len(grid.columns) == 30


# --- previews ------------------------------------------------------------------------


def preview(client, variant, **params):
    return client.get(reverse("admin:pricing_variant_preview", args=[variant.pk]),
                      {"market": "EU", "quantity": "1", **params})


def test_a_gold_contact_gets_the_gold_price_with_the_explanation(login, catalog, gold_grid, contact_in):
    # given
    gold = contact_in(organizations=["EU-MGMT"], groups=["GOLD"])
    # when
    response = preview(login("csr"), catalog["TS-M"], contact=str(gold.pk))
    # then
    assert response.status_code == 200
    assert response.context["resolution"].unit_price == Decimal("15.00")
    explained = {(c["row"].pk): (c["applied"], c["wins"], c["reason"]) for c in response.context["candidates"]}
    assert explained[gold_grid["gold"].pk][:2] == (True, True)
    assert explained[gold_grid["silver"].pk] == (False, False, "contact not in group SILVER")
    assert explained[gold_grid["all10"].pk] == (False, False, "quantity below 10")
    assert explained[gold_grid["all"].pk][:2] == (True, False)
    assert explained[gold_grid["product_us"].pk][0] is False
    assert explained[gold_grid["product_eu"].pk][2] == "the variant has its own prices in EU/EUR"
    assert 'id="explain-table"' in response.content.decode()


def test_an_anonymous_visitor_gets_the_price_for_all_customers(login, catalog, gold_grid):
    response = preview(login("admin"), catalog["TS-M"], quantity="12")
    assert response.context["contact"] is None
    assert response.context["resolution"].unit_price == Decimal("18.00")
    assert response.context["resolution"].price == gold_grid["all10"]


def test_a_contact_can_be_named_by_its_key(login, catalog, gold_grid, contact_in):
    contact_in(organizations=["EU-HQ"], groups=["SILVER"], key="C-SILVER")
    response = preview(login("csr"), catalog["TS-M"], contact="C-SILVER")
    assert response.context["resolution"].unit_price == Decimal("17.00")


def test_a_variant_without_an_applicable_price_shows_no_price(login, catalog, gold_grid):
    response = preview(login("admin"), catalog["TS-L"], market="US", currency="USD")
    assert response.context["resolution"].unit_price == Decimal("25.00")  # product level
    response = preview(login("admin"), catalog["TS-L"], market="EU", currency="EUR", quantity="1")
    assert response.context["resolution"].unit_price == Decimal("30.00")
    PriceRow.objects.filter(product__isnull=False).delete()
    response = preview(login("admin"), catalog["TS-L"])
    assert response.context["resolution"].price is None
    assert "No price" in response.content.decode()


@pytest.mark.parametrize("params, field, message", [
    ({"contact": "US-PERSON"}, "contact", "not found, or not visible to you"),
    ({"currency": "USD"}, "currency", "sells in EUR"),
    ({"quantity": "0"}, "quantity", "greater than or equal"),
    ({"quantity": "lots"}, "quantity", "number"),
    ({"market": "MARS"}, "market", "valid choice"),
])
def test_a_bad_preview_shows_the_error_on_its_field(login, catalog, gold_grid, contact_in, params, field,
                                                    message):
    contact_in(organizations=["US-SALES"], key="US-PERSON")
    response = preview(login("csr"), catalog["TS-M"], **params)
    assert response.status_code == 200
    assert response.context["resolution"] is None
    assert message in " ".join(response.context["preview_form"].errors[field])


def test_a_representative_cannot_preview_as_a_us_contact(login, catalog, gold_grid, contact_in):
    # given: csr sees EU Headquarters only
    us = contact_in(organizations=["US-SALES"], groups=["GOLD"])
    client = login("csr")
    # then: the contact's price list answers 404, the variant preview "no such contact"
    prices = client.get(reverse("admin:pricing_pricerow_preview"), {"contact": str(us.pk)})
    assert prices.status_code == 404
    # and says why, on the page, without telling whether the contact exists
    assert "not visible to you" in prices.content.decode()
    assert not prices.context["lines"]
    response = preview(client, catalog["TS-M"], contact=str(us.pk))
    assert response.context["preview_form"].errors["contact"] == [
        "No contact with this id, key or e-mail: not found, or not visible to you."]
    assert str(gold_grid["gold"].unit_price) not in response.content.decode().split('id="preview-form"')[1]


def test_someone_without_price_permissions_cannot_preview(catalog, accounts, contact_in):
    client = Client()
    client.force_login(make_account("marketing@example.com", Role.EVERYONE))
    response = client.get(reverse("admin:pricing_pricerow_preview"))
    assert response.status_code == 302  # not staff: to the login page
    assert client.get(reverse("admin:pricing_variant_preview", args=[catalog["TS-M"].pk])).status_code == 302


def test_staff_without_price_permissions_are_refused_the_previews(catalog, accounts):
    from django.contrib.auth.models import Permission

    account = make_account("staff@example.com", Role.EVERYONE)
    account.user_permissions.add(Permission.objects.get(codename="access_backoffice"))
    client = Client()
    client.force_login(account)
    for url in (reverse("admin:pricing_pricerow_preview"),
                reverse("admin:pricing_variant_preview", args=[catalog["TS-M"].pk]),
                reverse("admin:pricing_contact_autocomplete")):
        assert client.get(url).status_code == 403


# --- prices as a contact -------------------------------------------------------------------


def test_the_contact_price_list_shows_each_variants_price_as_that_contact(login, catalog, gold_grid,
                                                                          contact_in):
    gold = contact_in(organizations=["EU-MGMT"], groups=["GOLD"])
    response = login("csr").get(reverse("admin:pricing_pricerow_preview"), {"contact": str(gold.pk)})
    assert response.status_code == 200
    prices = {line["variant"].sku: line["resolution"].unit_price for line in response.context["lines"]}
    # TS-M has Gold 15.00; TS-S and TS-L fall back to the product's 30.00
    assert prices == {"TS-S": Decimal("30.00"), "TS-M": Decimal("15.00"), "TS-L": Decimal("30.00")}


def test_the_contact_price_list_as_anonymous_in_another_market(login, catalog, gold_grid):
    response = login("admin").get(reverse("admin:pricing_pricerow_preview"),
                                  {"market": "US", "currency": "USD"})
    prices = {line["variant"].sku: line["resolution"].unit_price for line in response.context["lines"]}
    assert prices == {"TS-S": Decimal("25.00"), "TS-M": Decimal("25.00"), "TS-L": Decimal("25.00")}


def test_the_contact_price_list_is_paginated_with_a_constant_number_of_queries(
        login, catalog, price, contact_in):
    # given: 60 more variants, each with a price
    shirt = catalog["TSHIRT"]
    Variant.objects.bulk_create([Variant(sku=f"X-{n:03}", product=shirt, name=f"X {n}") for n in range(60)])
    for variant in Variant.objects.filter(sku__startswith="X-"):
        PriceRow.objects.create(variant=variant, market=catalog["EU"], currency="EUR", unit_price=Decimal("9.99"))
    gold = contact_in(organizations=["EU-MGMT"], groups=["GOLD"])
    client = login("admin")
    url = reverse("admin:pricing_pricerow_preview")
    # when
    with CaptureQueriesContext(connection) as first_queries:
        first = client.get(url, {"contact": str(gold.pk)})
    with CaptureQueriesContext(connection) as second_queries:
        second = client.get(url, {"contact": str(gold.pk), "cursor": first.context["page"].next_cursor})
    # then: 50 variants cost what 13 do (one batch resolve per page)
    assert len(first.context["lines"]) == 50
    assert len(second.context["lines"]) == 13
    assert len(first_queries) == len(second_queries)
    skus = [ln["variant"].sku for ln in first.context["lines"] + second.context["lines"]]
    assert skus == sorted(skus) and len(set(skus)) == 63
    assert second.context["page"].next_cursor is None
    assert 'id="next-page"' in first.content.decode() and 'id="next-page"' not in second.content.decode()


def test_the_contact_autocomplete_offers_only_visible_contacts(login, contact_in):
    eu = contact_in(organizations=["EU-HQ"])
    contact_in(organizations=["US-SALES"])
    response = login("csr").get(reverse("admin:pricing_contact_autocomplete"), {"term": "pat"})
    assert [r["id"] for r in response.json()["results"]] == [str(eu.pk)]


# --- bad input is never a 500 ------------------------------------------------------------


@pytest.mark.parametrize("url_name, params", [
    ("admin:pricing_pricerow_changelist", {"q": "TS\x00"}),
    ("admin:pricing_pricerow_changelist", {"currency": "EU\x00"}),
    ("admin:pricing_pricerow_changelist", {"sale_type": "x\x00"}),
    ("admin:pricing_pricerow_changelist", {"market__id__exact": "not-a-uuid"}),
    ("admin:catalog_market_changelist", {"q": "E\x00"}),
    ("admin:catalog_product_changelist", {"q": "T\x00"}),
    ("admin:catalog_variant_changelist", {"q": "T\x00"}),
    ("admin:pricing_pricerow_preview", {"market": "E\x00"}),
    ("admin:pricing_pricerow_preview", {"q": "T\x00", "cursor": "last-but-one"}),
    ("admin:pricing_pricerow_preview", {"quantity": "NaN", "currency": "\x00"}),
    ("admin:pricing_contact_autocomplete", {"term": "a\x00"}),
])
def test_odd_query_parameters_never_answer_500(login, catalog, gold_grid, url_name, params):
    response = login("admin").get(reverse(url_name), params)
    # (a NUL in a list's query string is a 400 page: tests/hardening/test_admin_nul.py)
    assert response.status_code in (200, 302, 400)


@pytest.mark.parametrize("params", [
    {"contact": "C\x00"}, {"market": "E\x00"}, {"quantity": "1e40"}, {"currency": "E\x00R"},
    {"at": "tomorrow"}, {"at": "2026-13-45 99:99"},
])
def test_odd_preview_parameters_are_form_errors(login, catalog, gold_grid, params):
    response = preview(login("admin"), catalog["TS-M"], **params)
    assert response.status_code == 200
    assert response.context["preview_form"].errors
    assert response.context["resolution"] is None


def test_a_contact_with_nul_in_its_reference_is_not_found(login, catalog):
    response = login("admin").get(reverse("admin:pricing_pricerow_preview"), {"contact": "C\x00"})
    assert response.status_code == 404


# --- roles ---------------------------------------------------------------------------------


def test_a_catalog_manager_changes_and_deletes_a_price(manager, catalog, gold_grid):
    gold = gold_grid["gold"]
    changed = manager.post(reverse("admin:pricing_pricerow_change", args=[gold.pk]), price_form(
        catalog, sale_type="customer_group", sale_code="GOLD", unit_price="14.00"))
    assert changed.status_code == 302
    gold.refresh_from_db()
    assert (gold.unit_price, gold.version) == (Decimal("14.00"), 2)
    deleted = manager.post(reverse("admin:pricing_pricerow_delete", args=[gold.pk]), {"post": "yes"})
    assert deleted.status_code == 302
    assert not PriceRow.objects.filter(pk=gold.pk).exists()


@pytest.mark.parametrize("who, sees_catalog", [("manager", True), ("csr", True), ("staff", False)])
def test_the_sidebar_links_the_catalog_for_those_who_may_view_it(login, manager, who, sees_catalog):
    if who == "staff":
        # back-office access, and no catalog or price permission
        from django.contrib.auth.models import Permission

        account = make_account("staff@example.com", Role.EVERYONE)
        account.user_permissions.add(Permission.objects.get(codename="access_backoffice"))
        client = Client()
        client.force_login(account)
    else:
        client = manager if who == "manager" else login(who)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    html = response.content.decode()
    for name in ("catalog_market_changelist", "catalog_variant_changelist", "pricing_pricerow_preview"):
        assert (f'href="{reverse(f"admin:{name}")}"' in html) is sees_catalog


def test_a_price_added_from_the_grid_starts_with_the_variant(manager, catalog):
    response = manager.get(reverse("admin:pricing_pricerow_add"), {"variant": str(catalog["TS-M"].pk)})
    assert response.context["adminform"].form.initial["variant"] == str(catalog["TS-M"].pk)


def test_a_preview_at_a_later_moment_uses_the_prices_valid_then(login, catalog, gold_grid, price):
    # given: a sale from 2030 on
    sale = price("TS-M", "9.00", valid_from=datetime(2030, 1, 1, tzinfo=timezone.utc))
    client = login("admin")
    # when / then: today it is not yet valid
    now = preview(client, catalog["TS-M"])
    assert now.context["resolution"].unit_price == Decimal("20.00")
    reasons = {c["row"].pk: c["reason"] for c in now.context["candidates"]}
    assert reasons[sale.pk].startswith("not yet valid")
    # and in June 2030 it wins
    later = preview(client, catalog["TS-M"], at="2030-06-01 12:00")
    assert later.context["resolution"].price == sale
    listed = client.get(reverse("admin:pricing_pricerow_preview"), {"at": "2030-06-01 12:00"})
    assert {ln["variant"].sku: ln["resolution"].unit_price for ln in listed.context["lines"]}["TS-M"] == (
        Decimal("9.00"))


def test_a_market_is_deleted_with_its_prices_only_when_asked_explicitly(manager, catalog, gold_grid):
    eu = catalog["EU"]
    url = reverse("admin:catalog_market_delete", args=[eu.pk])
    # given: the refusal offers the explicit way
    refused = manager.get(url)
    assert any("delete the market with its price rows" in m for m in messages_of(refused))
    # when: the confirmation page (at a URL naming the version it shows), then its POST
    confirm = manager.get(url, {"with_prices": "1"}, follow=True)
    assert confirm.status_code == 200 and confirm.context["count"] == "5 price row(s)"
    confirm_url = confirm.redirect_chain[-1][0]
    assert "version=1" in confirm_url
    assert Market.objects.filter(pk=eu.pk).exists()
    done = manager.post(confirm_url, {"post": "yes"})
    # then
    assert done.status_code == 302
    assert any("Deleted market EU and 5 price row(s)" in m for m in messages_of(done))
    assert not Market.objects.filter(pk=eu.pk).exists()
    assert PriceRow.objects.count() == 1  # the US row stays
    from django.contrib.admin.models import DELETION, LogEntry

    assert LogEntry.objects.filter(object_id=str(eu.pk), action_flag=DELETION).count() == 1


def test_a_market_changed_after_the_confirmation_page_is_not_deleted(manager, catalog, gold_grid):
    # given the confirmation page, then someone else saves the market
    eu = catalog["EU"]
    url = reverse("admin:catalog_market_delete", args=[eu.pk])
    confirm = manager.get(url, {"with_prices": "1"}, follow=True)
    eu.refresh_from_db()
    eu.save()
    # when
    refused = manager.post(confirm.redirect_chain[-1][0], {"post": "yes"})
    # then
    assert refused.status_code == 302
    assert any("changed since you read it (now version 2)" in m for m in messages_of(refused))
    assert PriceRow.objects.filter(market=eu).count() == 5


def test_deleting_a_market_with_prices_needs_the_permission_to_delete_prices(catalog, gold_grid, accounts):
    from django.contrib.auth.models import Permission

    account = make_account("markets@example.com", Role.EVERYONE)
    account.user_permissions.add(*Permission.objects.filter(
        codename__in=["access_backoffice", "view_market", "delete_market"]))
    client = Client()
    client.force_login(account)
    url = reverse("admin:catalog_market_delete", args=[catalog["EU"].pk])
    refused = client.get(url)
    assert not any("with its price rows" in m for m in messages_of(refused))
    assert client.post(url + "?with_prices=1", {"post": "yes"}).status_code == 403
    assert PriceRow.objects.filter(market=catalog["EU"]).count() == 5


@pytest.mark.parametrize("who, offered", [("manager", True), ("csr", False)])
def test_the_variant_page_offers_adding_prices_only_to_those_who_may(login, manager, catalog, who, offered):
    client = manager if who == "manager" else login(who)
    html = client.get(reverse("admin:catalog_variant_change", args=[catalog["TS-M"].pk])).content.decode()
    assert ('id="add-price"' in html) is offered
    assert (f'?product={catalog["TSHIRT"].pk}' in html) is offered
    assert 'id="preview-form"' in html


def test_the_contact_page_shows_effective_groups_and_links_to_its_prices(client, accounts, world):
    from clientbase.customers.models import Contact

    contact = Contact.objects.create(first_name="Goldie", last_name="Eu", key="C-LINK")
    contact.organizations.set([world["EU-MGMT"]])
    world["EU-HQ"].customer_groups.set([world["GOLD"]])
    client.force_login(accounts["admin"])
    page = client.get(f"/admin/customers/contact/{contact.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "GOLD" in html and "an ancestor of organization EU Management" in html
    assert f"/admin/pricing/pricerow/preview/?contact={contact.pk}" in html


def test_the_contact_page_previews_what_the_contact_pays(client, accounts, world, catalog, price):
    from clientbase.customers.models import Contact

    # given a Gold contact (through an ancestor organization) and a grid
    contact = Contact.objects.create(first_name="Goldie", last_name="Eu", key="C-PAGE")
    contact.organizations.set([world["EU-MGMT"]])
    world["EU-HQ"].customer_groups.set([world["GOLD"]])
    price("TS-M", "20.00")
    price("TS-M", "15.00", sale_type="customer_group", sale_code="GOLD")
    client.force_login(accounts["csr"])
    # when
    html = client.get(f"/admin/customers/contact/{contact.pk}/change/").content.decode()
    # then: the Gold price, and no price for the variants without rows
    assert "15.00 EUR" in html and "GOLD" in html
    assert "no price" in html


# --- versions: the page's version goes back to the service ------------------------


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.model_name)
def test_a_change_page_carries_the_version_it_shows(login, catalog, gold_grid, model):
    # given an object saved once since it was made
    obj = _object(model, catalog, gold_grid)
    obj.save()
    opts = model._meta
    # when
    html = login("admin").get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change",
                                      args=[obj.pk])).content.decode()
    # then
    assert '<input type="hidden" name="expected_version" value="2"' in html


def test_the_product_page_carries_each_variant_s_version(login, catalog):
    catalog["TS-M"].save()
    html = login("admin").get(reverse("admin:catalog_product_change",
                                      args=[catalog["TSHIRT"].pk])).content.decode()
    assert html.count('name="variants-') and 'value="2"' in html
    assert html.count('-expected_version"') >= 3


def _product_page_data(client, product) -> dict:
    from tests.parity.test_catalog_parity import form_data

    return form_data(client.get(reverse("admin:catalog_product_change", args=[product.pk])))


def test_a_variant_changed_by_someone_else_is_not_overwritten_from_the_product_page(manager, catalog):
    # given the product page, then someone else renames TS-M
    data = _product_page_data(manager, catalog["TSHIRT"])
    variant = catalog["TS-M"]
    variant.refresh_from_db()
    variant.name = "Theirs"
    variant.save()
    index = next(k.split("-")[1] for k, v in data.items() if k.endswith("-sku") and v == "TS-M")
    data[f"variants-{index}-name"] = "Mine"
    # when
    response = manager.post(reverse("admin:catalog_product_change", args=[catalog["TSHIRT"].pk]), data)
    # then
    assert response.status_code == 302
    assert any("changed since you read it" in m for m in messages_of(response))
    variant.refresh_from_db()
    assert variant.name == "Theirs"


def test_the_product_page_adds_changes_and_deletes_variants_through_the_services(manager, catalog):
    # given the product page: rename TS-S, delete TS-L, add TS-XL
    data = _product_page_data(manager, catalog["TSHIRT"])
    index = {v: k.split("-")[1] for k, v in data.items() if k.endswith("-sku")}
    data[f"variants-{index['TS-S']}-name"] = "Small"
    data[f"variants-{index['TS-L']}-DELETE"] = "on"
    total = int(data["variants-TOTAL_FORMS"])
    data.update({"variants-TOTAL_FORMS": str(total + 1), f"variants-{total}-sku": "TS-XL",
                 f"variants-{total}-name": "T-shirt XL", f"variants-{total}-options": '{"size": "XL"}'})
    # when
    response = manager.post(reverse("admin:catalog_product_change", args=[catalog["TSHIRT"].pk]), data)
    # then
    assert response.status_code == 302, response.context["errors"] if response.context else None
    assert set(Variant.objects.values_list("sku", flat=True)) == {"TS-S", "TS-M", "TS-XL"}
    small = Variant.objects.get(sku="TS-S")
    assert (small.name, small.version) == ("Small", 2)
    # and the history names who did it
    assert small.history.first().history_user.email == "catalog@example.com"


def test_a_bulk_delete_refuses_variants_whose_prices_the_caller_may_not_delete(catalog, gold_grid):
    # given a catalog editor who may delete variants but not price rows
    from django.contrib.auth.models import Permission

    account = make_account("variants@example.com", Role.EVERYONE)
    account.user_permissions.add(*Permission.objects.filter(
        codename__in=["access_backoffice", "view_variant", "delete_variant"]))
    client = Client()
    client.force_login(account)
    # when
    response = client.post(reverse("admin:catalog_variant_changelist"), {
        "action": "delete_selected", "_selected_action": [str(catalog["TS-M"].pk)], "post": "yes"})
    # then
    assert response.status_code == 403
    assert Variant.objects.filter(sku="TS-M").exists()


def test_a_bulk_delete_of_price_rows_goes_through_the_service(manager, gold_grid):
    rows = [gold_grid["gold"].pk, gold_grid["silver"].pk]
    response = manager.post(reverse("admin:pricing_pricerow_changelist"), {
        "action": "delete_selected", "_selected_action": [str(pk) for pk in rows], "post": "yes"})
    assert response.status_code == 302
    assert not PriceRow.objects.filter(pk__in=rows).exists()
    assert PriceRow.history.filter(id=rows[0], history_type="-").first().history_user.email == (
        "catalog@example.com")
