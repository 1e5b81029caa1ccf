"""Bulk writes send no signals: imports of prices and memberships (and the
back office's bulk actions, through the same membership writer) move the
cache's versions themselves, so what they change shows at once."""

import pytest

from clientbase.customers.models import Contact
from tests.cache.test_lookups import gold_prices, unit_price  # noqa: F401  (fixture)
from tests.transfer.conftest import run, write_csv  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db(transaction=True)

PRICE_HEADER = ["variant", "product", "market", "currency", "sale_type", "sale_code", "min_quantity",
                "unit_price", "valid_from", "valid_until"]


def test_imported_price_rows_show_at_once(redis_cache, accounts, token_of, gold_prices, contact_in, run,
                                           tmp_path):
    # given a Gold contact's price, resolved (and cached) twice
    contact_in(key="BUYER", groups=["GOLD"])
    admin = token_of("admin")
    assert unit_price(admin, "BUYER") == unit_price(admin, "BUYER") == "15.00"
    # when an import changes the Gold row
    changed = write_csv(tmp_path / "changed.csv", [
        PRICE_HEADER, ["TS-M", "", "EU", "EUR", "customer_group", "GOLD", "0", "14.00", "", ""]])
    out, error = run("import", "prices", str(changed))
    assert error is None and "1 updated" in out
    # then
    assert unit_price(admin, "BUYER") == "14.00"
    # when an import adds a cheaper row for the contact alone
    added = write_csv(tmp_path / "added.csv", [
        PRICE_HEADER, ["TS-M", "", "EU", "EUR", "customer", "BUYER", "0", "9.00", "", ""]])
    out, error = run("import", "prices", str(added))
    assert error is None and "1 created" in out
    # then
    assert unit_price(admin, "BUYER") == "9.00"


def test_imported_memberships_show_at_once(redis_cache, accounts, token_of, gold_prices, contact_in, run,
                                            tmp_path):
    contact_in(key="BUYER")
    admin = token_of("admin")
    assert unit_price(admin, "BUYER") == unit_price(admin, "BUYER") == "20.00"
    # when an import puts the contact in Gold
    joins = write_csv(tmp_path / "joins.csv", [
        ["contact", "organization", "customer_group", "action"], ["BUYER", "", "GOLD", "add"]])
    out, error = run("import", "memberships", str(joins))
    assert error is None and "1 created" in out, out
    # then
    assert Contact.objects.get(key="BUYER").customer_groups.filter(key="GOLD").exists()
    assert unit_price(admin, "BUYER") == "15.00"
