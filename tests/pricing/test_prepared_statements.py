"""DATABASE_PREPARED on PostgreSQL: the resolver's and the ladders' statements,
prepared by psycopg and run on PostgreSQL's generic plan (one plan for any
parameters), answer exactly what they answer planned anew on every call."""

from datetime import datetime, timedelta, timezone as tz
from decimal import Decimal

import pytest
from django.db import connection

from clientbase.pricing.resolver import resolve_price_ladders, resolve_prices

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=tz.utc)
SKUS = ["TS-S", "TS-M", "TS-L", "NOPE"]
QUANTITIES = ["0.5", "1", "9", "10", "25", "60"]


@pytest.fixture
def prepared(db):
    """The raw psycopg connection, when this run prepares statements (PostgreSQL
    with DATABASE_PREPARED on); the test is skipped otherwise."""
    if not connection.settings_dict["OPTIONS"].get("server_side_binding"):
        pytest.skip("statements are prepared on PostgreSQL with DATABASE_PREPARED on")
    connection.ensure_connection()
    return connection.connection


@pytest.fixture
def visitors(shop_prices, price, contact_in, world):
    """Anonymous, a Gold member through an organization, a contact with a
    price of its own (by key), and one with no special price; with rows at
    several quantities, a product row and one outside its validity."""
    world["EU-MGMT"].customer_groups.set([world["GOLD"]])
    price("TS-M", "12.00", sale_type="customer_group", sale_code="GOLD", min_quantity="10")
    price("TS-M", "17.00", min_quantity="25")
    price("TS-M", "5.00", sale_type="customer", sale_code="C-OWN", min_quantity="50")
    price("TSHIRT", "21.00", min_quantity="0.5")
    price("TS-S", "1.00", valid_until=NOW - timedelta(days=1))
    return {"anonymous": None, "gold": contact_in(organizations=["EU-MGMT"]),
            "own": contact_in(key="C-OWN"), "plain": contact_in()}


def answers(catalog, visitors) -> list:
    """Every visitor's winning row per SKU at every quantity, and its ladders
    with the anonymous visitor's row at that quantity."""
    found = []
    for contact in visitors.values():
        for quantity in QUANTITIES:
            resolved = resolve_prices(SKUS, contact=contact, quantity=Decimal(quantity),
                                      market=catalog["EU"], currency="EUR", at=NOW)
            found.append([(r.variant_id, r.price.pk if r.price else None, r.unit_price)
                          for r in resolved.values()])
            ladders = resolve_price_ladders(SKUS, contact=contact, market=catalog["EU"], currency="EUR",
                                            at=NOW, anonymous_at=Decimal(quantity))
            found.append([(ladder.variant_id, ladder.steps, ladder.anonymous) for ladder in ladders.values()])
    return found


def test_the_resolver_answers_alike_prepared_on_a_generic_plan_and_planned_each_time(
        prepared, shop_prices, visitors):
    # given: the answers with nothing prepared (each statement planned for its parameters)
    prepared.prepare_threshold = None
    try:
        planned_each_time = answers(shop_prices, visitors)
    finally:
        prepared.prepare_threshold = connection.settings_dict["OPTIONS"]["prepare_threshold"]
    # when: asked again, the statements prepared and PostgreSQL held to one generic plan
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
    generic = answers(shop_prices, visitors)
    # then
    assert generic == planned_each_time
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans FROM pg_prepared_statements")
        plans = {statement: count for statement, count in cursor.fetchall()}
    resolver = [count for statement, count in plans.items() if "asked(sku, quantity)" in statement]
    ladders = [count for statement, count in plans.items() if "judged AS (" in statement]
    assert resolver and resolver[0] > 0
    assert ladders and ladders[0] > 0
