"""/api/v1/prices, /markets, /products, /variants through the HTTP client."""

from decimal import Decimal

import pytest

from clientbase.customers.models import Contact
from clientbase.pricing.models import PriceRow


@pytest.fixture
def grid(catalog, price, world):
    """Gold < Silver < Bronze < all customers on TS-M, with a quantity break."""
    price("TS-M", "20.00")
    price("TS-M", "18.00", min_quantity="10")
    price("TS-M", "17.00", sale_type="customer_group", sale_code="BRONZE")
    price("TS-M", "16.00", sale_type="customer_group", sale_code="SILVER")
    price("TS-M", "15.00", sale_type="customer_group", sale_code="GOLD")
    return catalog


@pytest.fixture
def gold_contact(world):
    contact = Contact.objects.create(first_name="Goldie", last_name="Eu", key="C-GOLD")
    contact.organizations.set([world["EU-MGMT"]])
    world["EU-HQ"].customer_groups.set([world["GOLD"]])
    return contact


@pytest.fixture
def us_contact(world):
    contact = Contact.objects.create(first_name="Sam", last_name="Us", key="C-US")
    contact.organizations.set([world["US-SALES"]])
    contact.customer_groups.set([world["SILVER"]])
    return contact


def test_resolve_gives_an_anonymous_visitor_the_all_customers_price(admin_api, grid):
    response = admin_api.get("/prices/resolve", sku="TS-M", market="EU")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["unit_price"] == "20.00" and body["currency"] == "EUR"
    assert body["price"]["sale_type"] == "all_customers"
    assert body["sku"] == "TS-M"


def test_resolve_gives_a_contact_in_gold_through_an_ancestor_organization_the_gold_price(
        admin_api, grid, gold_contact):
    body = admin_api.get("/prices/resolve", sku="TS-M", market="EU", contact="C-GOLD").json()
    assert body["unit_price"] == "15.00"
    assert body["price"]["sale_code"] == "GOLD"


def test_resolve_applies_quantity_breaks(admin_api, grid):
    body = admin_api.get("/prices/resolve", sku="TS-M", market="EU", quantity="12").json()
    assert body["unit_price"] == "18.00"


def test_no_price_is_a_404_problem_naming_sku_market_and_currency(admin_api, grid):
    response = admin_api.get("/prices/resolve", sku="TS-S", market="EU")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    detail = response.json()["detail"]
    assert "TS-S" in detail and "EU" in detail and "EUR" in detail


def test_an_unknown_sku_is_a_404_problem(admin_api, grid):
    response = admin_api.get("/prices/resolve", sku="NOPE", market="EU")
    assert response.status_code == 404 and "NOPE" in response.json()["detail"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sku": "TS-M", "market": "XX"}, "market"),
        ({"sku": "TS-M", "market": "EU", "currency": "USD"}, "currency"),
        ({"sku": "TS-M", "market": "EU", "quantity": "0"}, "quantity"),
        ({"sku": "TS-M", "market": "EU", "quantity": "abc"}, "quantity"),
        ({"sku": "TS-M", "market": "EU", "at": "yesterday"}, "at"),
        ({"market": "EU"}, "sku"),
    ],
)
def test_bad_resolve_parameters_are_422_problems_naming_the_field(admin_api, grid, params, field):
    response = admin_api.get("/prices/resolve", **params)
    assert response.status_code == 422, response.content
    assert field in [e["field"] for e in response.json()["errors"]]


def test_explain_lists_every_candidate_with_the_reason_it_did_not_apply(admin_api, grid, us_contact):
    body = admin_api.get("/prices/explain", sku="TS-M", market="EU", contact="C-US").json()
    assert body["unit_price"] == "16.00"
    assert "SILVER" in body["groups"] and "CUSTOMERS" in body["groups"]
    reasons = {c["price"]["sale_code"] or c["price"]["min_quantity"]: c["reason"]
               for c in body["candidates"] if not c["applied"]}
    assert reasons["GOLD"] == "contact not in group GOLD"
    assert reasons["BRONZE"] == "contact not in group BRONZE"
    assert reasons["10"] == "quantity below 10"
    winner = [c for c in body["candidates"] if c["applied"] and c["price"]["id"] == body["price"]["id"]]
    assert len(winner) == 1


def test_explain_computes_the_contact_s_effective_groups_once(admin_api, grid, us_contact,
                                                              django_assert_num_queries):
    # given a warm process (content types and the like are cached once)
    admin_api.get("/prices/explain", sku="TS-M", market="EU", contact="C-US")
    # when
    with django_assert_num_queries(7) as queries:
        body = admin_api.get("/prices/explain", sku="TS-M", market="EU", contact="C-US").json()
    # then: session; the account, and its roles, permissions and grants
    # (customers.authentication); market with the contact, effective groups,
    # variant, rows (it was 11: the groups twice; then 10: the market and the
    # contact apart; then 9: the account in four queries by Django's backend)
    assert sum("group_keys" in q["sql"] for q in queries.captured_queries) == 1
    assert body["groups"] == ["CUSTOMERS", "SILVER"]


def test_batch_resolve_answers_each_sku_with_its_price_or_problem(admin_api, grid, gold_contact):
    response = admin_api.post("/prices/resolve",
                              {"skus": ["TS-M", "TS-S", "NOPE"], "market": "EU", "contact": "C-GOLD"})
    assert response.status_code == 200, response.content
    items = {i["sku"]: i for i in response.json()["items"]}
    assert items["TS-M"]["unit_price"] == "15.00"
    assert items["TS-S"]["problem"] == "no_price" and items["TS-S"]["unit_price"] is None
    assert items["NOPE"]["problem"] == "unknown_sku"


def test_batch_resolve_finds_the_market_and_the_contact_in_one_query(admin_api, grid, gold_contact,
                                                                      django_assert_num_queries):
    # given a warm process
    body = {"skus": ["TS-M", "TS-S", "NOPE"], "market": "EU", "contact": "C-GOLD"}
    admin_api.post("/prices/resolve", body)
    # when
    with django_assert_num_queries(5) as queries:
        response = admin_api.post("/prices/resolve", body)
    # then: session; the account, and its roles, permissions and grants
    # (customers.authentication); the market with the contact; every price
    # at once
    assert response.status_code == 200, response.content
    assert sum('"catalog_market"' in q["sql"] for q in queries.captured_queries) == 1
    assert response.json()["contact"] == str(gold_contact.pk)


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"market": "NOWHERE", "contact": "C-NOBODY"}, 422, "market"),
    ({"market": "EU", "currency": "JPY", "contact": "C-NOBODY"}, 422, "currency"),
    ({"market": "EU", "contact": "C-NOBODY"}, 404, None),
    ({"market": "EU", "contact": "00000000-0000-4000-8000-000000000000"}, 404, None),
])
def test_batch_resolve_refuses_the_market_before_the_contact(admin_api, grid, body, status, field):
    response = admin_api.post("/prices/resolve", {"skus": ["TS-M"], **body})
    assert response.status_code == status, response.content
    if field:
        assert [e["field"] for e in response.json()["errors"]] == [field]
    else:
        assert response.json()["detail"] == f"No contact '{body['contact']}'."


def test_a_contact_priced_by_id_gets_its_customer_price(admin_api, grid, gold_contact, price):
    # given: a customer price named by the contact's key
    price("TS-M", "3.00", sale_type="customer", sale_code="C-GOLD")
    # when: the contact is named by its id
    response = admin_api.post("/prices/resolve", {"skus": ["TS-M"], "market": "EU",
                                                  "contact": str(gold_contact.pk)})
    # then
    assert response.json()["items"][0]["unit_price"] == "3.00"


def test_batch_resolve_takes_at_most_500_skus(admin_api, grid):
    response = admin_api.post("/prices/resolve", {"skus": [f"S{n}" for n in range(501)], "market": "EU"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "skus"


def test_staff_can_price_only_for_contacts_they_may_see(caller, grid, gold_contact, us_contact):
    csr = caller("csr")
    assert csr.get("/prices/resolve", sku="TS-M", market="EU", contact="C-GOLD").status_code == 200
    assert csr.get("/prices/resolve", sku="TS-M", market="EU", contact="C-US").status_code == 404


@pytest.mark.parametrize(("who", "status"), [(None, 401), ("registered", 403)])
def test_resolve_needs_an_account_with_the_permission(caller, grid, who, status):
    assert caller(who).get("/prices/resolve", sku="TS-M", market="EU").status_code == status


def test_price_rows_can_be_created_read_changed_and_deleted(admin_api, catalog, world):
    created = admin_api.post("/prices", {"variant": "TS-M", "market": "EU", "sale_type": "customer_group",
                                         "sale_code": "GOLD", "min_quantity": "5", "unit_price": "12.5"})
    assert created.status_code == 201, created.content
    row = created.json()
    assert row["unit_price"] == "12.50" and row["currency"] == "EUR" and row["variant"] == "TS-M"
    etag = created["ETag"]
    changed = admin_api.patch(f"/prices/{row['id']}", {"unit_price": "11.00"}, headers={"If-Match": etag})
    assert changed.status_code == 200 and changed.json()["unit_price"] == "11.00"
    stale = admin_api.patch(f"/prices/{row['id']}", {"unit_price": "1.00"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert PriceRow.objects.get(pk=row["id"]).unit_price == Decimal("11.00")
    assert admin_api.delete(f"/prices/{row['id']}").status_code == 204
    assert not PriceRow.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"currency": "USD"}, "currency"),
        ({"unit_price": "-1"}, "unit_price"),
        ({"unit_price": "1.234"}, "unit_price"),
        ({"valid_from": "2026-02-01T00:00:00Z", "valid_until": "2026-01-01T00:00:00Z"}, "valid_until"),
        ({"sale_type": "customer_group", "sale_code": "PLATINUM"}, "sale_code"),
        ({"sale_type": "customer", "sale_code": "NOBODY"}, "sale_code"),
        ({"sale_type": "customer_group"}, "sale_code"),
        ({"sale_code": "GOLD"}, "sale_code"),
        ({"product": "TSHIRT"}, "variant"),
        ({"variant": "NOPE"}, "variant"),
        ({"market": "XX"}, "market"),
        ({"unit_price": "abc"}, "unit_price"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_price_rows_are_refused_naming_the_field(admin_api, catalog, world, payload, field):
    body = {"variant": "TS-M", "market": "EU", "unit_price": "10.00", **payload}
    response = admin_api.post("/prices", body)
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert field in [e["field"] for e in response.json()["errors"]]
    assert not PriceRow.objects.exists()


def test_deleting_a_market_with_prices_is_refused_with_the_count(admin_api, grid):
    response = admin_api.delete("/markets/EU")
    assert response.status_code == 409
    assert "5 price row(s)" in response.json()["detail"]
    assert admin_api.delete("/markets/EU?delete_prices=true").status_code == 204
    assert not PriceRow.objects.exists()


def test_dropping_a_market_currency_that_prices_use_is_refused(admin_api, grid):
    admin_api.patch("/markets/EU", {"currencies": ["EUR", "GBP"]})
    response = admin_api.patch("/markets/EU", {"currencies": ["GBP"], "default_currency": "GBP"})
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "currencies"


def test_renaming_a_group_key_keeps_its_prices(admin_api, grid, world, gold_contact):
    group = world["GOLD"]
    group.key = "GOLD-2026"
    group.save()
    assert PriceRow.objects.filter(sale_code="GOLD-2026").count() == 1
    body = admin_api.get("/prices/resolve", sku="TS-M", market="EU", contact="C-GOLD").json()
    assert body["unit_price"] == "15.00"


@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        ("/markets", {"key": "X", "name": "X", "currencies": ["EURO"]}, "currencies"),
        ("/markets", {"key": "X", "name": "X", "currencies": ["EUR"], "default_currency": "USD"}, "default_currency"),
        ("/markets", {"key": "X", "name": "X", "currencies": ["EUR"], "countries": ["Germany"]}, "countries"),
        ("/variants", {"sku": "V-1", "product": "NOPE"}, "product"),
        ("/variants", {"sku": "not a key!", "product": "TSHIRT"}, "sku"),
    ],
)
def test_catalog_input_is_validated(admin_api, catalog, path, payload, field):
    response = admin_api.post(path, payload)
    assert response.status_code == 422, response.content
    assert field in [e["field"] for e in response.json()["errors"]]


def test_duplicate_sku_is_a_409_conflict(admin_api, catalog):
    response = admin_api.post("/variants", {"sku": "TS-M", "product": "TSHIRT"})
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "sku"


def test_catalog_managers_manage_the_catalog_and_customer_service_only_reads_it(caller, accounts, catalog):
    from clientbase.customers.models import Account, Role
    from django.test import Client

    from tests.conftest import ApiClient

    manager = Account.objects.create_user("cat@example.com", "Secret-pass-123", roles=[Role.CATALOG_MANAGERS])
    client = Client()
    client.force_login(manager)
    api = ApiClient(client, manager)
    assert api.post("/products", {"key": "MUG", "name": "Mug"}).status_code == 201
    csr = caller("csr")
    assert csr.get("/products/MUG").status_code == 200
    assert csr.post("/products", {"key": "CUP", "name": "Cup"}).status_code == 403


def test_deleting_a_customer_group_that_prices_use_is_refused_with_the_count(admin_api, grid):
    # given GOLD has one price row (see grid)
    # when
    refused = admin_api.delete("/customer-groups/GOLD")
    # then
    assert refused.status_code == 409
    assert "1 price row(s)" in refused.json()["detail"]
    assert admin_api.get("/customer-groups/GOLD").status_code == 200


def test_a_customer_group_can_be_deleted_with_its_prices_in_one_request(admin_api, grid):
    response = admin_api.delete("/customer-groups/GOLD?delete_prices=true")
    assert response.status_code == 204, response.content
    assert not PriceRow.objects.filter(sale_code="GOLD").exists()
    assert PriceRow.objects.filter(sale_code="SILVER").exists()


def test_deleting_a_contact_removes_its_customer_prices(admin_api, catalog, price, gold_contact):
    price("TS-M", "9.00", sale_type="customer", sale_code="C-GOLD")
    assert admin_api.delete("/contacts/C-GOLD").status_code == 204
    assert not PriceRow.objects.filter(sale_type="customer").exists()
