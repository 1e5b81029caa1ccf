"""`clientbase import organizations FILE`: parents by key in any order,
cycles refused, every row through the organization services."""

from django.contrib.auth.models import Permission

from clientbase.customers.models import Organization
from tests.transfer.conftest import write_csv

HEADER = ["key", "name", "kind", "parent", "customer_groups"]


def org_file(tmp_path, *rows, header=HEADER):
    return str(write_csv(tmp_path / "organizations.csv", [header, *rows]))


def tree() -> dict:
    return {o.key: (o.parent.key if o.parent_id else None) for o in Organization.objects.select_related("parent")}


def test_children_may_come_before_their_parents_even_across_batches(world, tmp_path, run, monkeypatch):
    # given: the batch holds two rows, so the grandchild waits two batches for its chain
    monkeypatch.setattr("clientbase.transfer.imports.BATCH_SIZE", 2)
    rows = [["SHOP-DE-B", "Berlin", "unit", "SHOP-DE", ""],
            ["SHOP-AT", "Austria", "", "SHOP", "SILVER"],
            ["SHOP-DE", "Germany", "organization", "SHOP", "GOLD|SILVER"],
            ["SHOP", "Shops", "", "", ""]]
    # when
    out, error = run("import", "organizations", org_file(tmp_path, *rows))
    # then
    assert error is None, out
    assert "4 created, 0 updated, 0 unchanged, 0 failed" in out
    assert {k: v for k, v in tree().items() if k.startswith("SHOP")} == {
        "SHOP": None, "SHOP-DE": "SHOP", "SHOP-AT": "SHOP", "SHOP-DE-B": "SHOP-DE"}
    berlin = Organization.objects.get(key="SHOP-DE-B")
    assert berlin.kind == "unit" and berlin.path.startswith(Organization.objects.get(key="SHOP").path)
    assert {g.key for g in Organization.objects.get(key="SHOP-DE").customer_groups.all()} == {"GOLD", "SILVER"}


def test_an_existing_organization_is_renamed_and_moved_by_key(world, tmp_path, run):
    out, error = run("import", "organizations", org_file(
        tmp_path, ["US-SALES", "US Sales and Service", "unit", "EU-HQ", ""], ["US-HQ", "US Headquarters", "", "", ""]))
    assert error is None and "0 created, 1 updated, 1 unchanged" in out
    sales = Organization.objects.get(key="US-SALES")
    assert (sales.name, sales.parent.key) == ("US Sales and Service", "EU-HQ")
    assert sales.path.startswith(world["EU-HQ"].path)


def test_a_cycle_within_the_file_fails_each_of_its_rows(world, tmp_path, run):
    out, error = run("import", "organizations", org_file(
        tmp_path, ["A", "A", "", "B", ""], ["B", "B", "", "A", ""], ["C", "C", "", "", ""]))
    assert error == "2 of 3 rows failed."
    assert "row 2, parent: The parents form a cycle: A → B → A." in out
    assert "row 3, parent: The parents form a cycle: B → A → B." in out
    assert set(tree()) == {"ADMIN", "EU-HQ", "EU-MGMT", "US-HQ", "US-SALES", "C"}


def test_a_move_under_its_own_descendant_fails_its_row(world, tmp_path, run):
    out, error = run("import", "organizations", org_file(tmp_path, ["EU-HQ", "EU Headquarters", "", "EU-MGMT", ""]))
    assert "row 2, parent: Cannot move EU Headquarters under EU Management" in out
    assert tree()["EU-HQ"] == "ADMIN"


def test_an_unknown_parent_a_bad_kind_or_a_missing_name_fails_the_row(world, tmp_path, run):
    out, error = run("import", "organizations", org_file(
        tmp_path, ["X1", "X", "", "NOWHERE", ""], ["X2", "X", "department", "", ""], ["X3", "", "", "", ""],
        ["X4", "X", "", "", "PLATINUM"]))
    assert error == "4 of 4 rows failed."
    assert "row 2, parent: No organization with key 'NOWHERE'." in out
    assert "row 3, kind: One of organization, unit." in out
    assert "row 4, name: A name is required for a new organization." in out
    assert "row 5, customer_groups: No customer group with key 'PLATINUM'." in out


def test_an_account_without_the_permission_fails_its_rows(world, accounts, tmp_path, run):
    out, _ = run("import", "organizations", org_file(tmp_path, ["EU-NEW", "EU New", "", "EU-MGMT", ""]),
                 "--as", "csr@example.com")
    assert "row 2, key: You lack the permission customers.add_organization." in out
    assert not Organization.objects.filter(key="EU-NEW").exists()


def test_a_scoped_account_creates_below_what_it_manages_only(world, accounts, tmp_path, run):
    # given: csr (managing EU Headquarters and below) may add organizations
    accounts["csr"].user_permissions.add(Permission.objects.get(codename="add_organization"))
    out, error = run("import", "organizations", org_file(
        tmp_path, ["EU-NEW", "EU New", "", "EU-MGMT", ""], ["TOP", "Top", "", "", ""],
        ["US-NEW", "US New", "", "US-SALES", ""]), "--as", "csr@example.com")
    assert "1 created, 0 updated, 0 unchanged, 2 failed" in out
    assert "row 3, key: Only administrators create top-level organizations" in out
    assert "row 4, parent: No organization with key 'US-SALES'." in out
    assert Organization.objects.get(key="EU-NEW").history.get().history_user == accounts["csr"]
