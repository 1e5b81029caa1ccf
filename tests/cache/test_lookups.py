"""The four cached lookups on the real Redis, through the API: a change and
an immediate read-back show the change, whichever lookup it touches."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from freezegun import freeze_time
from hypothesis import HealthCheck, given, settings, strategies as st

from clientbase.customers.models import Contact, CustomerGroup, Grant, Role
from clientbase.customers.services.accounts import issue_token
from clientbase.pricing import resolver, services as pricing
from tests.cache.conftest import bearer
from tests.conftest import keys_of, role

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def employees(world):
    """A contact in EU Management (inside the CSR's grant) and one in US Sales."""
    eu = Contact.objects.create(key="EMP-EU", first_name="Eva", last_name="Europe", email="eva@example.com")
    eu.organizations.add(world["EU-MGMT"])
    us = Contact.objects.create(key="EMP-US", first_name="Sam", last_name="States", email="sam@example.com")
    us.organizations.add(world["US-SALES"])
    return {"EU": eu, "US": us}


def contact_keys(api) -> set[str]:
    response = api.get("/contacts")
    assert response.status_code == 200, response.content
    return set(keys_of(response))


# --- Effective groups and prices ----------------------------------------------------


@pytest.fixture
def gold_prices(catalog, price):
    price("TS-M", "20.00")
    price("TS-M", "15.00", sale_type="customer_group", sale_code="GOLD")
    return catalog


def unit_price(api, contact: str, sku: str = "TS-M") -> str | None:
    response = api.get("/prices/resolve", sku=sku, market="EU", contact=contact)
    assert response.status_code == 200, response.content
    return response.json()["unit_price"]


def test_adding_a_contact_to_gold_shows_the_gold_price_at_once(redis_cache, accounts, token_of, gold_prices,
                                                                 contact_in):
    # given a contact's price, resolved (and cached) twice
    contact_in(key="BUYER")
    admin = token_of("admin")
    assert unit_price(admin, "BUYER") == unit_price(admin, "BUYER") == "20.00"
    # when the contact joins Gold
    assert admin.patch("/contacts/BUYER", {"customer_groups": ["GOLD"]}).status_code == 200
    # then
    assert unit_price(admin, "BUYER") == "15.00"
    # and leaving it ends the Gold price at once too
    assert admin.patch("/contacts/BUYER", {"customer_groups": []}).status_code == 200
    assert unit_price(admin, "BUYER") == "20.00"


def test_giving_an_organization_gold_gives_its_members_the_gold_price_at_once(
        redis_cache, accounts, token_of, gold_prices, contact_in):
    contact_in(key="BUYER", organizations=["US-SALES"])
    admin = token_of("admin")
    assert unit_price(admin, "BUYER") == unit_price(admin, "BUYER") == "20.00"
    # when the parent of the contact's organization gets Gold
    assert admin.patch("/organizations/US-HQ", {"customer_groups": ["GOLD"]}).status_code == 200
    # then
    assert unit_price(admin, "BUYER") == "15.00"
    assert admin.get("/contacts/BUYER/effective-groups").status_code == 200


def test_moving_an_organization_under_a_gold_one_gives_the_gold_price_at_once(
        redis_cache, accounts, token_of, gold_prices, contact_in, world):
    world["EU-HQ"].customer_groups.add(world["GOLD"])
    contact_in(key="BUYER", organizations=["US-SALES"])
    admin = token_of("admin")
    assert unit_price(admin, "BUYER") == unit_price(admin, "BUYER") == "20.00"
    assert admin.post("/organizations/US-SALES/move", {"parent": "EU-HQ"}).status_code == 200
    assert unit_price(admin, "BUYER") == "15.00"


def test_changing_a_price_row_shows_at_once(redis_cache, accounts, token_of, catalog, price, contact_in):
    contact_in(key="BUYER", groups=["GOLD"])
    price("TS-M", "20.00")
    gold = price("TS-M", "15.00", sale_type="customer_group", sale_code="GOLD")
    admin = token_of("admin")
    assert unit_price(admin, "BUYER") == unit_price(admin, "BUYER") == "15.00"
    # when the Gold price changes
    assert admin.patch(f"/prices/{gold.pk}", {"unit_price": "14.00"}).status_code == 200
    assert unit_price(admin, "BUYER") == "14.00"
    # when it is made to expire
    past = (timezone.now() - timedelta(minutes=1)).isoformat()
    assert admin.patch(f"/prices/{gold.pk}", {"valid_from": None, "valid_until": past}).status_code == 200
    assert unit_price(admin, "BUYER") == "20.00"
    # when a row is added, and when one is deleted
    cheaper = admin.post("/prices", {"variant": "TS-M", "market": "EU", "currency": "EUR",
                                     "unit_price": "9.00"})
    assert cheaper.status_code == 201, cheaper.content
    assert unit_price(admin, "BUYER") == "9.00"
    assert admin.delete(f"/prices/{cheaper.json()['id']}").status_code == 204
    assert unit_price(admin, "BUYER") == "20.00"


def test_a_product_price_and_a_new_variant_show_at_once(redis_cache, accounts, token_of, catalog, price):
    admin = token_of("admin")
    assert admin.get("/prices/resolve", sku="TS-XL", market="EU").status_code == 404
    price("TSHIRT", "25.00")
    assert unit_price(admin, "", sku="TS-L") == "25.00"
    # when a variant with the unknown SKU appears
    created = admin.post("/variants", {"sku": "TS-XL", "product": "TSHIRT", "name": "T-shirt XL"})
    assert created.status_code == 201, created.content
    # then it is priced at once, by its product's row
    assert unit_price(admin, "", sku="TS-XL") == "25.00"


def test_a_price_row_starting_or_ending_by_itself_shows_at_that_moment(redis_cache, accounts, token_of,
                                                                       catalog, price):
    now = timezone.now()
    price("TS-M", "20.00")
    price("TS-M", "12.00", valid_until=now + timedelta(hours=1))
    price("TS-M", "10.00", valid_from=now + timedelta(hours=2))
    admin = token_of("admin")
    # freezegun must not stop the Redis client's own clock
    with freeze_time(now, ignore=["redis", "django_redis"]) as clock:
        assert unit_price(admin, "") == unit_price(admin, "") == "12.00"
        clock.move_to(now + timedelta(hours=1, minutes=1))
        assert unit_price(admin, "") == "20.00"
        clock.move_to(now + timedelta(hours=2, minutes=1))
        assert unit_price(admin, "") == "10.00"


# --- Scopes -----------------------------------------------------------------------------


def test_moving_organizations_changes_a_csrs_contact_list_at_once(redis_cache, accounts, token_of, employees):
    csr, admin = token_of("csr"), token_of("admin")
    assert contact_keys(csr) == contact_keys(csr) == {"EMP-EU"}
    # when US Sales moves into the CSR's grant
    assert admin.post("/organizations/US-SALES/move", {"parent": "EU-HQ"}).status_code == 200
    assert contact_keys(csr) == {"EMP-EU", "EMP-US"}
    # when the granted organization itself moves (its path changes)
    assert admin.post("/organizations/EU-HQ/move", {"parent": "US-HQ"}).status_code == 200
    assert contact_keys(csr) == {"EMP-EU", "EMP-US"}
    # when US Sales moves out again
    assert admin.post("/organizations/US-SALES/move", {"parent": "US-HQ"}).status_code == 200
    assert contact_keys(csr) == {"EMP-EU"}


def test_revoking_a_grant_shrinks_the_scope_at_once(redis_cache, accounts, token_of, employees):
    csr, admin = token_of("csr"), token_of("admin")
    assert contact_keys(csr) == contact_keys(csr) == {"EMP-EU"}
    grant = Grant.objects.get(account=accounts["csr"])
    assert admin.delete(f"/grants/{grant.pk}").status_code == 204
    assert contact_keys(csr) == set()
    assert csr.get("/contacts/EMP-EU").status_code == 404


def test_a_grant_to_a_role_widens_its_members_scopes_at_once(redis_cache, accounts, token_of, employees):
    csr, admin = token_of("csr_nogrant"), token_of("admin")
    assert contact_keys(csr) == contact_keys(csr) == set()
    response = admin.post("/grants", {"role": Role.CUSTOMER_SERVICE.value, "organization": "US-HQ",
                                      "include_descendants": True, "level": "view"})
    assert response.status_code == 201, response.content
    assert contact_keys(csr) == {"EMP-US"}


# --- Tokens and accounts ---------------------------------------------------------------


def test_revoking_a_token_answers_401_at_once(redis_cache, accounts, token_of):
    token, raw = issue_token(accounts["csr"], actor=None)
    api = bearer(raw)
    assert api.get("/organizations").status_code == api.get("/organizations").status_code == 200
    assert token_of("admin").delete(f"/accounts/{accounts['csr'].pk}/tokens/{token.pk}").status_code == 204
    assert api.get("/organizations").status_code == 401


def test_deactivating_an_account_answers_401_at_once(redis_cache, accounts, token_of):
    csr = token_of("csr")
    assert csr.get("/organizations").status_code == csr.get("/organizations").status_code == 200
    response = token_of("admin").patch(f"/accounts/{accounts['csr'].pk}", {"is_active": False})
    assert response.status_code == 200, response.content
    assert csr.get("/organizations").status_code == 401


def test_taking_a_role_away_takes_its_permissions_at_once(redis_cache, accounts, token_of, employees):
    csr = token_of("csr")
    assert contact_keys(csr) == {"EMP-EU"}
    response = token_of("admin").patch(f"/accounts/{accounts['csr'].pk}", {"roles": [Role.REGISTERED.value]})
    assert response.status_code == 200, response.content
    assert csr.get("/contacts").status_code == 403


def test_taking_a_permission_from_a_role_takes_it_from_its_members_at_once(redis_cache, accounts, token_of,
                                                                           employees):
    csr = token_of("csr")
    assert contact_keys(csr) == {"EMP-EU"}
    representatives = role(Role.CUSTOMER_SERVICE)
    representatives.permissions.remove(*representatives.permissions.filter(codename="view_contact"))
    assert csr.get("/contacts").status_code == 403


# --- The cache is used ---------------------------------------------------------------------


def test_a_repeated_request_reads_no_token_account_scope_or_price_rows(redis_cache, accounts, token_of,
                                                                       gold_prices, contact_in):
    contact_in(key="BUYER", groups=["GOLD"], organizations=["EU-MGMT"])
    csr = token_of("csr")  # a scoped account: its scope decides which contact it may price for
    body = {"skus": ["TS-S", "TS-M", "TS-L"], "market": "EU", "contact": "BUYER"}
    with CaptureQueriesContext(connection) as first:
        assert csr.post("/prices/resolve", body).status_code == 200
    with CaptureQueriesContext(connection) as second:
        response = csr.post("/prices/resolve", body)
    assert response.status_code == 200
    assert [i["unit_price"] for i in response.json()["items"]] == [None, "15.00", None]
    tables = ("customers_apitoken", "customers_account", "auth_permission", "customers_grant",
              "pricing_pricerow", "WITH RECURSIVE")
    read = [q["sql"] for q in second.captured_queries]
    assert not [sql for sql in read if any(t in sql for t in tables)], read
    assert len(second.captured_queries) < len(first.captured_queries)


# --- Two customers never share an answer ------------------------------------------------------


@pytest.fixture
def two_buyers(catalog, price, contact_in):
    price("TS-M", "20.00")
    price("TS-M", "15.00", sale_type="customer_group", sale_code="GOLD")
    price("TS-M", "17.00", sale_type="customer_group", sale_code="SILVER")
    price("TS-M", "11.00", sale_type="customer", sale_code="A")
    price("TS-S", "30.00")
    price("TS-S", "25.00", sale_type="customer", sale_code="B")
    price("TS-S", "27.00", sale_type="customer_group", sale_code="CUSTOMERS", min_quantity="5")
    return {"A": contact_in(key="A"), "B": contact_in(key="B"), "catalog": catalog}


ACTIONS = st.lists(st.tuples(st.sampled_from(["resolve", "join", "leave"]), st.sampled_from(["A", "B"]),
                             st.sampled_from(["GOLD", "SILVER", "CUSTOMERS"]), st.sampled_from([1, 5])),
                   min_size=1, max_size=12)


def test_two_customers_never_get_each_others_cached_results(redis_cache, two_buyers):
    market = two_buyers["catalog"]["EU"]

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(ACTIONS)
    def run(actions):
        for action, who, group, quantity in actions:
            contact = two_buyers[who]
            if action != "resolve":
                change = contact.customer_groups.add if action == "join" else contact.customer_groups.remove
                change(CustomerGroup.objects.get(key=group))
                continue
            kwargs = dict(contact=Contact.objects.get(pk=contact.pk), quantity=Decimal(quantity),
                          market=market, currency="EUR")
            cached = pricing.resolve_prices(["TS-M", "TS-S"], **kwargs)
            truth = resolver.resolve_prices(["TS-M", "TS-S"], **kwargs)
            for sku in ("TS-M", "TS-S"):
                assert cached[sku].unit_price == truth[sku].unit_price, (who, sku, actions)
                assert (cached[sku].price and cached[sku].price.pk) == (truth[sku].price and truth[sku].price.pk)

    run()
