"""Invariants of the resolver over random price grids (hypothesis)."""

from datetime import datetime, timedelta, timezone as tz
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clientbase.pricing.services import explain_prices, resolve_prices

NOW = datetime(2026, 6, 1, tzinfo=tz.utc)

rows_strategy = st.lists(
    st.fixed_dictionaries({
        "target": st.sampled_from(["TS-M", "TS-S", "TSHIRT"]),
        "market": st.sampled_from(["EU", "EU", "US"]),
        "sale": st.sampled_from([("all_customers", ""), ("customer_group", "GOLD"),
                                 ("customer_group", "CUSTOMERS"), ("customer_group", "SILVER"),
                                 ("customer", "C-1"), ("customer", "C-2")]),
        "min_quantity": st.sampled_from(["0", "1", "5", "10"]),
        "cents": st.integers(min_value=0, max_value=5000),
        "window": st.sampled_from([None, "past", "future", "now"]),
    }),
    max_size=12,
)


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(rows=rows_strategy, quantity=st.sampled_from([1, 5, 10, 20]),
       who=st.sampled_from(["anonymous", "gold", "customer"]))
def test_the_chosen_price_is_never_above_an_applicable_candidate(catalog, price, contact_in, rows,
                                                                 quantity, who):
    with transaction.atomic():
        # given a fresh random grid (rolled back after each example)
        contact = {"anonymous": None,
                   "gold": contact_in(groups=["GOLD"]),
                   "customer": contact_in(key="C-1", organizations=["EU-MGMT"])}[who]
        contact_in(key="C-2")  # another customer, whose prices must never apply
        for row in rows:
            window = {None: (None, None), "past": (NOW - timedelta(days=9), NOW - timedelta(days=1)),
                      "future": (NOW + timedelta(days=1), None),
                      "now": (NOW - timedelta(days=1), NOW + timedelta(days=1))}[row["window"]]
            sale_type, code = row["sale"]
            price(row["target"], str(Decimal(row["cents"]) / 100), market=row["market"],
                  sale_type=sale_type, sale_code=code, min_quantity=row["min_quantity"],
                  valid_from=window[0], valid_until=window[1])
        # when: resolved in SQL, and explained row by row in Python
        resolved = resolve_prices(["TS-M", "TS-S"], contact=contact, quantity=Decimal(quantity),
                                  market=catalog["EU"], currency="EUR", at=NOW)
        explained = explain_prices(["TS-M", "TS-S"], contact=contact, quantity=Decimal(quantity),
                                   market=catalog["EU"], currency="EUR", at=NOW)
        # then
        for sku in ("TS-M", "TS-S"):
            applicable = [c for c in explained[sku].candidates if c.applied]
            assert resolved[sku].price == explained[sku].price
            if applicable:
                assert all(resolved[sku].unit_price <= c.unit_price for c in applicable)
                assert resolved[sku].price in [c.row for c in applicable]
            else:
                assert resolved[sku].price is None
        transaction.set_rollback(True)

