"""`clientbase import prices FILE` and `clientbase export prices`: price rows
by their identity (what, where, for whom, from which quantity, when), through
the pricing services' rules."""

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from clientbase.customers.models import Contact, Grant, Role
from clientbase.pricing.models import PriceRow
from tests.conftest import make_account
from tests.transfer.conftest import read_csv, write_csv

HEADER = ["variant", "product", "market", "currency", "sale_type", "sale_code", "min_quantity", "unit_price",
          "valid_from", "valid_until"]


def price_file(tmp_path, *rows, header=HEADER, name="prices.csv"):
    return str(write_csv(tmp_path / name, [header, *rows]))


def prices() -> set[tuple]:
    """Every price row as (sku or product key, market, currency, sale type, code, min quantity, price, from, until)."""
    return {(r.variant.sku if r.variant_id else r.product.key, r.market.key, r.currency, r.sale_type, r.sale_code,
             r.min_quantity, r.unit_price, r.valid_from, r.valid_until)
            for r in PriceRow.objects.select_related("variant", "product", "market")}


@pytest.fixture
def shop(catalog, price, world):
    price("TS-M", "20.00")
    price("TS-M", "15.00", sale_type="customer_group", sale_code="GOLD")
    eve = Contact.objects.create(key="EVE", first_name="Eve")
    eve.organizations.set([world["EU-MGMT"]])
    sam = Contact.objects.create(key="SAM", first_name="Sam")
    sam.organizations.set([world["US-SALES"]])
    price("TS-S", "777.77", sale_type="customer", sale_code="SAM")
    price("TS-S", "12.00", sale_type="customer", sale_code="EVE")
    return catalog


def test_rows_are_created_and_matched_by_identity(shop, tmp_path, run):
    out, error = run("import", "prices", price_file(
        tmp_path,
        ["TS-M", "", "EU", "", "", "", "", "19.50", "", ""],                     # same identity: new price
        ["TS-M", "", "EU", "EUR", "customer_group", "GOLD", "0", "15", "", ""],  # unchanged
        ["TS-M", "", "EU", "", "", "", "10", "17.00", "", ""],                   # a new quantity break
        ["", "TSHIRT", "US", "usd", "", "", "", "25", "2026-01-01", "2026-12-31T23:00:00+01:00"],
    ))
    assert error is None and "2 created, 1 updated, 1 unchanged, 0 failed" in out
    rows = prices()
    assert ("TS-M", "EU", "EUR", "all_customers", "", Decimal("0"), Decimal("19.5"), None, None) in rows
    assert ("TS-M", "EU", "EUR", "all_customers", "", Decimal("10"), Decimal("17"), None, None) in rows
    assert ("TSHIRT", "US", "USD", "all_customers", "", Decimal("0"), Decimal("25"),
            datetime(2026, 1, 1, tzinfo=timezone.utc), datetime(2026, 12, 31, 22, tzinfo=timezone.utc)) in rows
    assert len(rows) == 6
    # the change is in the row's history, by the import
    changed = PriceRow.objects.get(variant__sku="TS-M", sale_type="all_customers", min_quantity=0)
    assert changed.version == 2 and changed.history.count() == 2


def test_each_kind_of_bad_row_fails_with_its_column(shop, tmp_path, run):
    out, error = run("import", "prices", price_file(
        tmp_path,
        ["NOPE", "", "EU", "", "", "", "", "1", "", ""],
        ["TS-M", "", "MARS", "", "", "", "", "1", "", ""],
        ["TS-M", "", "EU", "USD", "", "", "", "1", "", ""],
        ["TS-M", "", "EU", "", "", "", "", "-1", "", ""],
        ["TS-M", "", "EU", "", "", "", "", "1.001", "", ""],
        ["TS-M", "", "EU", "", "", "", "", "ten", "", ""],
        ["TS-M", "", "EU", "", "", "", "1.5.1", "1", "", ""],
        ["TS-M", "", "EU", "", "", "", "", "1", "yesterday", ""],
        ["TS-M", "", "EU", "", "", "", "", "1", "2026-02-01", "2026-01-01"],
        ["TS-M", "", "EU", "", "wholesale", "", "", "1", "", ""],
        ["TS-M", "", "EU", "", "customer_group", "PLATINUM", "", "1", "", ""],
        ["TS-M", "", "EU", "", "customer", "NOBODY", "", "1", "", ""],
        ["", "", "EU", "", "", "", "", "1", "", ""],
        ["TS-L", "", "EU", "", "", "", "", "1", "", ""],
        ["TS-L", "", "EU", "", "", "", "", "2", "", ""],
    ))
    assert error == "14 of 15 rows failed."
    for expected in [
        "row 2, variant: No variant with SKU 'NOPE'.",
        "row 3, market: No market with key 'MARS'.",
        "row 4, currency: Market EU sells in EUR, not USD.",
        "row 5, unit_price: A price is zero or more.",
        "row 6, unit_price: EUR prices have at most 2 decimal(s).",
        "row 7, unit_price: 'ten' is not a number (write it as 12.50).",
        "row 8, min_quantity: '1.5.1' is not a number",
        "row 9, valid_from: 'yesterday' is not a date and time",
        "row 10, valid_until: valid_until must be after valid_from.",
        "row 11, sale_type: The sale type is one of customer, customer_group, all_customers, not 'wholesale'.",
        "row 12, sale_code: No customer group 'PLATINUM'.",
        "row 13, sale_code: No contact with key or id 'NOBODY'.",
        "row 14, variant: Give either a variant or a product, not both.",
        "row 16: The same price row (variant or product, market, currency, sale type and code, minimum "
        "quantity, validity) is on an earlier row too.",
    ]:
        assert expected in out, expected
    assert len(prices()) == 5  # only row 15's


def test_a_unit_price_column_is_required(shop, tmp_path, run):
    out, error = run("import", "prices", price_file(tmp_path, ["TS-M", "EU"], header=["variant", "market"]))
    assert error == "Missing column 'unit_price' (the header row needs market, unit_price)."


def test_an_identity_shared_by_two_rows_is_ambiguous(shop, price, tmp_path, run):
    price("TS-M", "21.00")
    out, error = run("import", "prices", price_file(tmp_path, ["TS-M", "", "EU", "", "", "", "", "19", "", ""]))
    assert "row 2: 2 price rows have this variant or product" in out and error == "1 of 1 rows failed."
    assert sorted(r.unit_price for r in PriceRow.objects.filter(sale_type="all_customers")) == [20, 21]


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_an_export_imports_back_unchanged(shop, tmp_path, run, suffix):
    PriceRow.objects.create(product=shop["TSHIRT"], market=shop["US"], currency="USD", unit_price=Decimal("9.9900"),
                            valid_from=datetime(2026, 3, 1, 8, tzinfo=timezone.utc))
    out_file = tmp_path / f"prices.{suffix}"
    before = prices()
    _, error = run("export", "prices", "-o", str(out_file))
    assert error is None
    PriceRow.objects.filter(sale_code="GOLD").update(unit_price=Decimal("1"))
    out, error = run("import", "prices", str(out_file))
    assert error is None and "0 created, 1 updated, 4 unchanged, 0 failed" in out
    assert prices() == before


def test_an_export_shows_only_the_customer_prices_of_contacts_the_account_sees(shop, accounts, tmp_path, run):
    out_file = tmp_path / "prices.csv"
    _, error = run("export", "prices", "--as", "csr@example.com", "-o", str(out_file))
    rows = read_csv(out_file)
    assert error is None and sorted(r["sale_code"] for r in rows) == ["", "EVE", "GOLD"]
    assert "777.77" not in out_file.read_text()
    eve = next(r for r in rows if r["sale_code"] == "EVE")
    assert (eve["variant"], eve["product"], eve["market"], eve["unit_price"], eve["min_quantity"]) == \
        ("TS-S", "", "EU", "12.00", "0.00")


def test_a_scoped_account_cannot_price_a_contact_it_does_not_see(shop, world, accounts, tmp_path, run):
    pricer = make_account("pricer@example.com", Role.CATALOG_MANAGERS, Role.CUSTOMER_SERVICE)
    Grant.objects.create(account=pricer, organization=world["EU-HQ"], include_descendants=True, level="manage")
    out, error = run("import", "prices", price_file(
        tmp_path, ["TS-S", "", "EU", "", "customer", "SAM", "", "1", "", ""],
        ["TS-S", "", "EU", "", "customer", "EVE", "", "11", "", ""]), "--as", "pricer@example.com")
    assert error == "1 of 2 rows failed."
    assert "row 2, sale_code: No contact with key or id 'SAM'." in out
    assert PriceRow.objects.get(sale_code="EVE").unit_price == 11
    assert PriceRow.objects.get(sale_code="SAM").unit_price == Decimal("777.77")


def test_an_account_without_the_permission_changes_nothing(shop, accounts, tmp_path, run):
    out, error = run("import", "prices", price_file(tmp_path, ["TS-L", "", "EU", "", "", "", "", "5", "", ""],
                                                    ["TS-M", "", "EU", "", "", "", "", "5", "", ""]),
                     "--as", "csr@example.com")
    assert error == "2 of 2 rows failed."
    assert "row 2: You lack the permission pricing.add_pricerow." in out
    assert "row 3: You lack the permission pricing.change_pricerow." in out
    assert len(prices()) == 4


def test_atomic_and_dry_run_write_nothing(shop, tmp_path, run):
    file = price_file(tmp_path, ["TS-L", "", "EU", "", "", "", "", "5", "", ""],
                      ["TS-L", "", "EU", "", "", "", "", "x", "", ""])
    out, error = run("import", "prices", file, "--atomic")
    assert error == "1 of 2 rows failed; nothing was written." and len(prices()) == 4
    good = price_file(tmp_path, ["TS-L", "", "EU", "", "", "", "", "5", "", ""], name="good.csv")
    out, error = run("import", "prices", good, "--dry-run")
    assert error is None and "1 created" in out and "Dry run: nothing was written." in out
    assert len(prices()) == 4


def test_the_errors_file_imports_again_once_fixed(shop, tmp_path, run):
    errors_file = tmp_path / "errors.csv"
    out, error = run("import", "prices", price_file(tmp_path, ["TS-L", "", "EU", "", "", "", "", "ten", "", ""],
                                                    ["TS-L", "", "US", "", "", "", "", "11", "", ""]),
                     "--errors", str(errors_file))
    assert error == "1 of 2 rows failed."
    rows = read_csv(errors_file)
    assert [(r["variant"], r["unit_price"], r["error_row"], r["error_column"]) for r in rows] == [
        ("TS-L", "ten", "2", "unit_price")]
    rows[0]["unit_price"] = "10"
    write_csv(errors_file, [list(rows[0]), list(rows[0].values())])
    out, error = run("import", "prices", str(errors_file))
    assert error is None and "1 created" in out
    assert {(r.market.key, r.unit_price) for r in PriceRow.objects.filter(variant__sku="TS-L")} == {
        ("EU", 10), ("US", 11)}


def test_new_rows_get_a_history_record_each_but_not_in_a_dry_run(shop, tmp_path, run):
    file = price_file(tmp_path, ["TS-L", "", "EU", "", "", "", "", "5", "", ""],
                      ["TS-L", "", "EU", "", "", "", "10", "4", "", ""])
    records = PriceRow.history.count()
    out, error = run("import", "prices", file, "--dry-run")
    assert error is None and "2 created" in out and PriceRow.history.count() == records
    out, error = run("import", "prices", file)
    assert error is None and "2 created" in out
    added = PriceRow.history.filter(variant__sku="TS-L")
    assert added.count() == 2 and {r.history_type for r in added} == {"+"}


def test_a_repeated_row_takes_the_place_of_an_earlier_one_that_failed(shop, tmp_path, run):
    out, error = run("import", "prices", price_file(
        tmp_path,
        ["TS-L", "", "EU", "", "", "", "", "1.001", "", ""],  # fails: too many decimals
        ["TS-L", "", "EU", "", "", "", "", "2", "", ""],      # so this one is the row
        ["TS-L", "", "EU", "", "", "", "", "3", "", ""],      # and this one its duplicate
    ))
    assert "1 created, 0 updated, 0 unchanged, 2 failed" in out
    assert "row 4: The same price row" in out
    assert PriceRow.objects.get(variant__sku="TS-L").unit_price == Decimal("2")
