"""`clientbase import memberships FILE` and `clientbase export memberships`:
one membership a row (contact↔organization, contact↔customer group,
organization↔customer group), added or removed through the customers
services, within what the acting account manages."""

import pytest

from clientbase.customers.models import Contact, Grant, Organization
from tests.transfer.conftest import read_csv, write_csv

HEADER = ["contact", "organization", "customer_group", "action"]


def membership_file(tmp_path, *rows, header=HEADER, name="memberships.csv"):
    return str(write_csv(tmp_path / name, [header, *rows]))


def memberships() -> set[tuple]:
    """Every membership as (contact key or "", organization key or "", group key or "")."""
    links = set()
    for c in Contact.objects.prefetch_related("organizations", "customer_groups"):
        links |= {(c.key, o.key, "") for o in c.organizations.all()}
        links |= {(c.key, "", g.key) for g in c.customer_groups.all()}
    for o in Organization.objects.prefetch_related("customer_groups"):
        links |= {("", o.key, g.key) for g in o.customer_groups.all()}
    return links


@pytest.fixture
def people(world):
    eve = Contact.objects.create(key="EVE", first_name="Eve")
    eve.organizations.set([world["EU-MGMT"]])
    eve.customer_groups.set([world["GOLD"]])
    sam = Contact.objects.create(key="SAM", first_name="Sam")
    sam.organizations.set([world["US-SALES"]])
    world["EU-HQ"].customer_groups.set([world["SILVER"]])
    return world


START = {("EVE", "EU-MGMT", ""), ("EVE", "", "GOLD"), ("SAM", "US-SALES", ""), ("", "EU-HQ", "SILVER")}


def test_rows_add_and_remove_memberships(people, tmp_path, run):
    assert memberships() == START
    out, error = run("import", "memberships", membership_file(
        tmp_path,
        ["EVE", "EU-HQ", "", ""],            # added
        ["EVE", "EU-MGMT", "", "add"],       # unchanged
        ["EVE", "", "GOLD", "remove"],       # removed
        ["SAM", "", "BRONZE", ""],           # added
        ["", "US-HQ", "GOLD", "ADD"],        # added
        ["", "EU-HQ", "SILVER", "remove"],   # removed
        ["SAM", "", "SILVER", "remove"],     # was not: unchanged
    ))
    assert error is None and "3 created, 2 updated, 2 unchanged, 0 failed" in out
    assert memberships() == {("EVE", "EU-MGMT", ""), ("EVE", "EU-HQ", ""), ("SAM", "US-SALES", ""),
                             ("SAM", "", "BRONZE"), ("", "US-HQ", "GOLD")}
    # one version step and one history record per contact and batch, with its memberships after it
    eve = Contact.objects.get(key="EVE")
    record = eve.history.first()
    assert eve.version == 2 and record.version == 2 and record.history_type == "~"
    assert {o.organization.key for o in record.organizations.all()} == {"EU-MGMT", "EU-HQ"}
    assert not record.customer_groups.exists()


def test_each_kind_of_bad_row_fails_with_its_column(people, tmp_path, run):
    out, error = run("import", "memberships", membership_file(
        tmp_path,
        ["NOBODY", "EU-HQ", "", ""],
        ["EVE", "NOWHERE", "", ""],
        ["EVE", "", "PLATINUM", ""],
        ["EVE", "EU-HQ", "GOLD", ""],
        ["EVE", "", "", ""],
        ["EVE", "EU-HQ", "", "delete"],
        ["EVE", "", "GOLD", "add"],
    ))
    assert error == "6 of 7 rows failed."
    for expected in [
        "row 2, contact: No contact with key 'NOBODY'.",
        "row 3, organization: No organization with key 'NOWHERE'.",
        "row 4, customer_group: No customer group with key 'PLATINUM'.",
        "row 5: Name exactly two of contact, organization and customer_group.",
        "row 6: Name exactly two of contact, organization and customer_group.",
        "row 7, action: The action is add or remove (empty: add), not 'delete'.",
    ]:
        assert expected in out, expected
    assert memberships() == START


def test_a_scoped_account_changes_only_what_it_manages(people, accounts, tmp_path, run):
    # csr manages EU Headquarters and below; it sees neither Sam nor US Sales
    out, error = run("import", "memberships", membership_file(
        tmp_path,
        ["SAM", "EU-HQ", "", ""],            # Sam: hidden
        ["EVE", "US-SALES", "", ""],         # US Sales: hidden
        ["EVE", "EU-MGMT", "", "remove"],    # Eve's last organization it manages
        ["", "EU-HQ", "BRONZE", ""],         # needs change_organization
        ["EVE", "", "SILVER", ""],           # fine
        ["EVE", "EU-HQ", "", ""],            # fine
    ), "--as", "csr@example.com")
    assert error == "4 of 6 rows failed."
    assert "row 2, contact: No contact with key 'SAM'." in out
    assert "row 3, organization: No organization with key 'US-SALES'." in out
    assert "row 4, organizations: The contact must belong to at least one organization you manage." in out
    assert "row 5, organization: You lack the permission customers.change_organization." in out
    assert memberships() == START | {("EVE", "", "SILVER"), ("EVE", "EU-HQ", "")}
    assert Contact.objects.get(key="EVE").history.first().history_user == accounts["csr"]
    # with EU HQ added first, removing EU Management now leaves it managed
    out, error = run("import", "memberships", membership_file(
        tmp_path, ["EVE", "EU-MGMT", "", "remove"], name="again.csv"), "--as", "csr@example.com")
    assert error is None and "0 created, 1 updated" in out


def test_a_contact_the_account_only_views_cannot_be_changed(people, accounts, tmp_path, run):
    Grant.objects.filter(account=accounts["csr"]).update(level="view")
    out, error = run("import", "memberships", membership_file(tmp_path, ["EVE", "", "SILVER", ""]),
                     "--as", "csr@example.com")
    assert error == "1 of 1 rows failed." and "row 2, contact: You may view" in out
    assert memberships() == START


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_an_export_imports_back_unchanged(people, tmp_path, run, suffix):
    out_file = tmp_path / f"memberships.{suffix}"
    _, error = run("export", "memberships", "-o", str(out_file))
    assert error is None
    out, error = run("import", "memberships", str(out_file))
    assert error is None and "0 created, 0 updated, 4 unchanged, 0 failed" in out
    assert memberships() == START


def test_an_export_shows_only_what_the_account_sees(people, accounts, tmp_path, run):
    out_file = tmp_path / "memberships.csv"
    _, error = run("export", "memberships", "--as", "csr@example.com", "-o", str(out_file))
    rows = read_csv(out_file)
    assert error is None and list(rows[0]) == ["contact", "organization", "customer_group"]
    assert {tuple(r.values()) for r in rows} == {("EVE", "EU-MGMT", ""), ("EVE", "", "GOLD"),
                                                 ("", "EU-HQ", "SILVER")}


def test_a_scoped_export_imports_back_unchanged_as_that_account(people, accounts, tmp_path, run):
    # csr may not change EU Headquarters' groups, but the row asks no change
    out_file = tmp_path / "memberships.csv"
    run("export", "memberships", "--as", "csr@example.com", "-o", str(out_file))
    out, error = run("import", "memberships", str(out_file), "--as", "csr@example.com")
    assert error is None and "0 created, 0 updated, 3 unchanged, 0 failed" in out


def test_an_object_without_a_key_is_named_by_its_id(people, tmp_path, run):
    lone = Organization.objects.create(name="No key")
    Contact.objects.get(key="EVE").organizations.add(lone)
    out_file = tmp_path / "memberships.csv"
    run("export", "memberships", "-o", str(out_file))
    assert {"contact": "EVE", "organization": str(lone.pk), "customer_group": ""} in read_csv(out_file)
    Contact.objects.get(key="EVE").organizations.remove(lone)
    out, error = run("import", "memberships", str(out_file))
    assert error is None and "1 created" in out


def test_dry_run_and_atomic_write_nothing(people, tmp_path, run):
    file = membership_file(tmp_path, ["EVE", "EU-HQ", "", ""], ["NOBODY", "EU-HQ", "", ""])
    out, error = run("import", "memberships", file, "--atomic")
    assert error == "1 of 2 rows failed; nothing was written." and memberships() == START
    out, error = run("import", "memberships", file, "--dry-run")
    assert "1 created" in out and "Dry run: nothing was written." in out and memberships() == START
