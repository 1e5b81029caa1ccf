"""`clientbase export contacts|organizations`: what the acting account sees,
cells a spreadsheet would run neutralised, and a file that imports back to
the same data."""

import json

import openpyxl
import pytest

from clientbase.customers.models import Contact, Organization
from clientbase.customers.services.contacts import create_contact, update_contact
from tests.transfer.conftest import read_csv


@pytest.fixture
def people(world):
    create_contact(actor=None, fields={"key": "EVE", "first_name": "=cmd|' /C calc'!A0", "last_name": "@SUM(1)",
                                       "email": "eve@example.com", "phone": "+4930123456",
                                       "birth_date": "1980-02-29", "preferred_language": "en-GB",
                                       "preferred_currency": "EUR"},
                   organizations=[world["EU-MGMT"], world["US-SALES"]], customer_groups=[world["GOLD"]])
    create_contact(actor=None, fields={"key": "UMA", "first_name": "Uma", "email": "uma@example.com"},
                   organizations=[world["US-SALES"]])


def snapshot() -> dict:
    """Every contact's exported fields and memberships, by key."""
    return {c.key: (c.first_name, c.last_name, c.email, c.phone, c.birth_date, c.preferred_language,
                    c.preferred_currency, sorted(o.key for o in c.organizations.all()),
                    sorted(g.key for g in c.customer_groups.all()), c.version)
            for c in Contact.objects.prefetch_related("organizations", "customer_groups")}


def test_formula_cells_get_an_apostrophe_in_csv(people, tmp_path, run):
    out_file = tmp_path / "contacts.csv"
    run("export", "contacts", "-o", str(out_file))
    eve = next(r for r in read_csv(out_file) if r["key"] == "EVE")
    assert eve["first_name"] == "'=cmd|' /C calc'!A0"
    assert eve["last_name"] == "'@SUM(1)"
    assert eve["phone"] == "'+4930123456"
    assert eve["organizations"] == "EU-MGMT|US-SALES" and eve["customer_groups"] == "GOLD"


def test_formula_cells_get_an_apostrophe_in_xlsx(people, tmp_path, run):
    out_file = tmp_path / "contacts.xlsx"
    run("export", "contacts", "-o", str(out_file))
    sheet = openpyxl.load_workbook(out_file, read_only=True).worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    eve = dict(zip(rows[0], next(r for r in rows if r[0] == "EVE")))
    assert eve["first_name"] == "'=cmd|' /C calc'!A0" and eve["phone"] == "'+4930123456"


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_an_export_imports_back_to_the_same_data(people, tmp_path, run, suffix):
    # given: an export, then changes made after it
    out_file = tmp_path / f"contacts.{suffix}"
    run("export", "contacts", "-o", str(out_file))
    before = snapshot()
    eve = Contact.objects.get(key="EVE")
    update_contact(eve, actor=None, changes={"first_name": "Eve", "phone": ""}, organizations=[],
                   customer_groups=[])
    # when
    out, error = run("import", "contacts", str(out_file))
    # then: every field and membership as exported (the version moved on twice)
    assert error is None and "0 created, 1 updated, 1 unchanged, 0 failed" in out
    after = snapshot()
    assert {k: v[:-1] for k, v in after.items()} == {k: v[:-1] for k, v in before.items()}


def test_an_organization_export_imports_back_unchanged(world, tmp_path, run):
    out_file = tmp_path / "organizations.csv"
    run("export", "organizations", "-o", str(out_file))
    rows = read_csv(out_file)
    order = [r["key"] for r in rows]
    assert all(order.index(r["parent"]) < order.index(r["key"]) for r in rows if r["parent"])  # parents first
    out, error = run("import", "organizations", str(out_file))
    assert error is None and "0 created, 0 updated, 5 unchanged" in out


def test_a_scoped_account_exports_only_what_it_sees(people, accounts, tmp_path, run):
    out_file = tmp_path / "contacts.csv"
    run("export", "contacts", "--as", "csr@example.com", "-o", str(out_file))
    rows = read_csv(out_file)
    assert [r["key"] for r in rows] == ["EVE"]
    assert rows[0]["organizations"] == "EU-MGMT"  # US Sales does not exist for it
    orgs_file = tmp_path / "organizations.csv"
    run("export", "organizations", "--as", "csr@example.com", "-o", str(orgs_file))
    assert {r["key"]: r["parent"] for r in read_csv(orgs_file)} == {"EU-HQ": "", "EU-MGMT": "EU-HQ"}


def test_json_lines_go_to_standard_output_with_lists_as_lists(people, run):
    out, error = run("export", "contacts", "--format", "jsonl")
    rows = [json.loads(line) for line in out.splitlines()]
    assert error is None and len(rows) == 2
    eve = next(r for r in rows if r["key"] == "EVE")
    assert eve["organizations"] == ["EU-MGMT", "US-SALES"] and eve["first_name"].startswith("=cmd")
    uma = next(r for r in rows if r["key"] == "UMA")
    assert (uma["birth_date"], uma["phone"]) == (None, "")  # as the API answers


def test_an_xlsx_export_needs_a_file(world, run_cli):
    code, out, err = run_cli("export", "contacts", "--format", "xlsx")
    assert code == 1 and err.strip() == "CommandError: An XLSX export needs a file: add -o FILE.xlsx."


def test_an_organization_without_a_key_is_named_by_its_id_and_imports_back(world, tmp_path, run):
    lone = Organization.objects.create(name="No key")
    create_contact(actor=None, fields={"key": "K"}, organizations=[lone])
    out_file = tmp_path / "contacts.csv"
    run("export", "contacts", "-o", str(out_file))
    assert read_csv(out_file)[0]["organizations"] == str(lone.pk)
    Contact.objects.get(key="K").organizations.clear()
    out, error = run("import", "contacts", str(out_file))
    assert error is None and list(Contact.objects.get(key="K").organizations.all()) == [lone]


def test_an_account_without_the_view_permission_exports_nothing(people, accounts, tmp_path, run_cli):
    out_file = tmp_path / "contacts.csv"
    code, out, err = run_cli("export", "contacts", "--as", "shopper@example.com", "-o", str(out_file))
    assert code == 1 and err.strip() == "CommandError: You lack the permission customers.view_contact."
    assert not out_file.exists()


def test_a_scoped_export_of_organizations_imports_back_unchanged(world, accounts, tmp_path, run):
    # given: csr sees EU Headquarters but not its parent, Administration
    out_file = tmp_path / "organizations.csv"
    run("export", "organizations", "--as", "csr@example.com", "-o", str(out_file))
    # when
    out, error = run("import", "organizations", str(out_file), "--as", "csr@example.com")
    # then: the empty parent leaves the one it cannot see
    assert error is None and "0 created, 0 updated, 2 unchanged" in out
    assert Organization.objects.get(key="EU-HQ").parent == world["ADMIN"]
