"""The store listing's price ladders in the shared cache (pricing.price_cache),
on the real Redis, through the store API: a change to a price row, a
membership or a tree, read back at once, shows in the listing; a repeated
listing reads no ladder; and the answer is the same, byte for byte, with
and without the cache."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from freezegun import freeze_time

from clientbase.customers.models import Role
from clientbase.customers.services.accounts import issue_token
from clientbase.pricing import price_cache
from tests.api.test_store import variant
from tests.cache.conftest import bearer
from tests.conftest import ApiClient, make_account

pytestmark = pytest.mark.django_db(transaction=True)

# What only the ladder statement reads (pricing.resolver._ladder_sql), and
# the validity boundaries read beside it when an entry is stored.
LADDER_SQL = "judged AS"
BOUNDARIES_SQL = "UNION ALL SELECT v."


@pytest.fixture
def listed(catalog, price):
    """TS-M: 20.00 for everyone, 18.00 from 10, 15.00 for Gold, 17.00 for
    Silver. The catalog, with these rows by name."""
    return {**catalog, "everyone": price("TS-M", "20.00"), "from 10": price("TS-M", "18.00", min_quantity="10"),
            "gold": price("TS-M", "15.00", sale_type="customer_group", sale_code="GOLD"),
            "silver": price("TS-M", "17.00", sale_type="customer_group", sale_code="SILVER")}


@pytest.fixture
def shopper(contact_in):
    """shopper(groups=..., organizations=...) → an API client with a token of
    a new account whose contact is in those groups and organizations."""
    counter = iter(range(100))

    def make(**memberships) -> ApiClient:
        n = next(counter)
        contact = contact_in(key=f"SHOPPER-{n}", **memberships)
        account = make_account(f"shopper{n}@example.com", Role.REGISTERED, contact=contact)
        _, raw = issue_token(account, actor=None)
        api = bearer(raw)
        api.account = account
        return api

    return make


@pytest.fixture
def anonymous(client) -> ApiClient:
    return ApiClient(client)


def medium(api: ApiClient) -> dict:
    """TS-M as the store listing shows it to `api`'s caller."""
    response = api.get("/store/products")
    assert response.status_code == 200, response.content
    [product] = [p for p in response.json()["items"] if p["key"] == "TSHIRT"]
    return variant(product, "TS-M")


def prices(api: ApiClient) -> tuple:
    """(unit price, list price, quantity breaks) of TS-M in the listing."""
    shown = medium(api)
    return (shown["unit_price"], shown["list_price"],
            [(b["min_quantity"], b["unit_price"]) for b in shown["quantity_breaks"]])


def test_changing_a_price_row_shows_in_the_listing_at_once(redis_cache, accounts, token_of, listed, price,
                                                            shopper, anonymous):
    # given the listing, read (and cached) twice, anonymous and for Gold
    admin, gold = token_of("admin"), shopper(groups=["GOLD"])
    assert prices(anonymous) == prices(anonymous) == ("20.00", "20.00", [("10", "18.00")])
    assert prices(gold) == prices(gold) == ("15.00", "20.00", [])
    row = price("TS-M", "19.00", min_quantity="5")
    # then a new row shows at once
    assert prices(anonymous) == ("20.00", "20.00", [("5", "19.00"), ("10", "18.00")])
    # when the list price changes
    assert admin.patch(f"/prices/{listed['everyone'].pk}", {"unit_price": "21.00"}).status_code == 200
    assert prices(anonymous) == ("21.00", "21.00", [("5", "19.00"), ("10", "18.00")])
    assert prices(gold) == ("15.00", "21.00", [])
    # when a row is made to expire, and one is deleted
    past = (timezone.now() - timedelta(minutes=1)).isoformat()
    assert admin.patch(f"/prices/{row.pk}", {"valid_until": past}).status_code == 200
    assert prices(anonymous) == ("21.00", "21.00", [("10", "18.00")])
    assert admin.delete(f"/prices/{listed['gold'].pk}").status_code == 204
    assert prices(gold) == ("21.00", "21.00", [("10", "18.00")])


def test_a_product_row_and_a_new_variant_show_in_the_listing_at_once(redis_cache, accounts, token_of, catalog,
                                                                      price, anonymous):
    admin = token_of("admin")
    price("TS-M", "20.00")
    assert medium(anonymous)["unit_price"] == medium(anonymous)["unit_price"] == "20.00"
    small = lambda: next(v for v in anonymous.get("/store/products").json()["items"][0]["variants"]  # noqa: E731
                         if v["sku"] == "TS-S")
    assert small()["unit_price"] is None
    # when the product gets a row: its variants without their own rows are priced by it
    assert admin.post("/prices", {"product": "TSHIRT", "market": "EU", "currency": "EUR",
                                  "unit_price": "25.00"}).status_code == 201
    assert small()["unit_price"] == "25.00"
    assert medium(anonymous)["unit_price"] == "20.00"
    # when a variant appears, it is listed with its product's price
    created = admin.post("/variants", {"sku": "TS-XL", "product": "TSHIRT", "name": "T-shirt XL"})
    assert created.status_code == 201, created.content
    [product] = anonymous.get("/store/products").json()["items"]
    assert variant(product, "TS-XL")["unit_price"] == "25.00"


def test_joining_and_leaving_gold_shows_in_the_listing_at_once(redis_cache, accounts, token_of, listed,
                                                                shopper):
    # given a shopper in no group, its listing read (and cached) twice
    admin, buyer = token_of("admin"), shopper()
    key = buyer.account.contact.key
    assert prices(buyer) == prices(buyer) == ("20.00", "20.00", [("10", "18.00")])
    # when its contact joins Gold
    assert admin.patch(f"/contacts/{key}", {"customer_groups": ["GOLD"]}).status_code == 200
    # then
    assert prices(buyer) == ("15.00", "20.00", [])
    # and leaving it ends the Gold price at once too
    assert admin.patch(f"/contacts/{key}", {"customer_groups": []}).status_code == 200
    assert prices(buyer) == ("20.00", "20.00", [("10", "18.00")])


def test_a_change_to_the_trees_shows_in_the_listing_at_once(redis_cache, accounts, token_of, listed, shopper):
    # given a shopper in US Sales, in no group
    admin, buyer = token_of("admin"), shopper(organizations=["US-SALES"])
    assert prices(buyer) == prices(buyer) == ("20.00", "20.00", [("10", "18.00")])
    # when the parent of its organization gets Silver
    assert admin.patch("/organizations/US-HQ", {"customer_groups": ["SILVER"]}).status_code == 200
    assert prices(buyer) == ("17.00", "20.00", [])
    # when its organization moves under an organization in Gold
    assert admin.patch("/organizations/EU-HQ", {"customer_groups": ["GOLD"]}).status_code == 200
    assert admin.post("/organizations/US-SALES/move", {"parent": "EU-HQ"}).status_code == 200
    assert prices(buyer) == ("15.00", "20.00", [])
    # when the customer-group tree changes: Bronze, its own group, moves under Silver
    bronze = shopper(groups=["BRONZE"])
    assert prices(bronze) == prices(bronze) == ("20.00", "20.00", [("10", "18.00")])
    assert admin.patch("/customer-groups/BRONZE", {"parent": "SILVER"}).status_code == 200
    assert prices(bronze) == ("17.00", "20.00", [])


def test_a_row_starting_or_ending_by_itself_shows_in_the_listing_at_that_moment(redis_cache, catalog, price,
                                                                                 anonymous):
    now = timezone.now()
    price("TS-M", "20.00")
    price("TS-M", "12.00", valid_until=now + timedelta(hours=1))
    price("TS-M", "10.00", valid_from=now + timedelta(hours=2))
    # freezegun must not stop the Redis client's own clock
    with freeze_time(now, ignore=["redis", "django_redis"]) as clock:
        assert medium(anonymous)["unit_price"] == medium(anonymous)["unit_price"] == "12.00"
        clock.move_to(now + timedelta(hours=1, minutes=1))
        assert medium(anonymous)["unit_price"] == "20.00"
        clock.move_to(now + timedelta(hours=2, minutes=1))
        assert medium(anonymous)["unit_price"] == "10.00"


# --- The cache is used, and changes nothing -------------------------------------------------


@pytest.mark.parametrize("who", ["anonymous", "gold"])
def test_a_repeated_listing_reads_no_ladder(redis_cache, listed, shopper, anonymous, who):
    api = anonymous if who == "anonymous" else shopper(groups=["GOLD"])
    with CaptureQueriesContext(connection) as first:
        assert api.get("/store/products").status_code == 200
    with CaptureQueriesContext(connection) as second:
        assert api.get("/store/products").status_code == 200
    ladders = lambda queries: [q["sql"] for q in queries if LADDER_SQL in q["sql"]]  # noqa: E731
    boundaries = lambda queries: [q["sql"] for q in queries if BOUNDARIES_SQL in q["sql"]]  # noqa: E731
    assert len(ladders(first.captured_queries)) == len(boundaries(first.captured_queries)) == 1
    assert ladders(second.captured_queries) == boundaries(second.captured_queries) == []
    # the page of products is still read: only the prices come from the cache
    assert [q for q in second.captured_queries if "CROSS JOIN" in q["sql"] and "v.options" in q["sql"]]


@pytest.mark.parametrize("who", ["anonymous", "gold"])
def test_the_listing_is_byte_identical_with_and_without_the_cache(redis_cache, settings, listed, price,
                                                                   shopper, anonymous, who):
    # given prices with every part of a listing: breaks, a product row, a row without a price
    price("TSHIRT", "30.00")
    price("TSHIRT", "27.50", min_quantity="3")
    price("TS-S", "19.99", min_quantity="2.5", sale_type="customer_group", sale_code="CUSTOMERS")
    api = anonymous if who == "anonymous" else shopper(groups=["GOLD"])
    paths = ["/store/products", "/store/products/TSHIRT"]
    stored, served = [api.get(p).content for p in paths], [api.get(p).content for p in paths]
    # when the cache is off
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # then
    assert [api.get(p).content for p in paths] == stored == served


def test_a_ladder_at_a_given_moment_is_never_cached(redis_cache, listed):
    market = listed["EU"]
    at = timezone.now()
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            ladders = price_cache.resolve_price_ladders(["TS-M"], contact=None, market=market, currency="EUR",
                                                        at=at)
        assert [q for q in queries.captured_queries if LADDER_SQL in q["sql"]]
        assert ladders["TS-M"].unit_price_at(Decimal(1)) == Decimal("20.00")
    assert not [k for k in redis_cache.keys("*") if b"ladder:" in k]


def test_a_ladder_entry_names_its_visitor_market_currency_and_sku(redis_cache, listed, shopper, anonymous):
    gold = shopper(groups=["GOLD"])
    medium(anonymous), medium(gold)
    market, contact = listed["EU"].pk, gold.account.contact.pk
    names = {k.decode().split(":c:", 1)[1] for k in redis_cache.keys("*") if b":c:ladder:" in k}
    assert {f"ladder:-:{market}:EUR:TS-M:-", f"ladder:{contact}:{market}:EUR:TS-M:1"} <= names


def test_without_a_shared_cache_every_listing_reads_its_ladders(listed, anonymous):
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            assert medium(anonymous)["unit_price"] == "20.00"
        assert [q for q in queries.captured_queries if LADDER_SQL in q["sql"]]
