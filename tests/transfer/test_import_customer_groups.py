"""`clientbase import customer-groups FILE`: the group tree by key, parents
in any order, through the customer-group services."""

from clientbase.customers.models import CustomerGroup
from tests.transfer.conftest import read_csv, write_csv

HEADER = ["key", "name", "description", "parent"]


def group_file(tmp_path, *rows, name="groups.csv"):
    return str(write_csv(tmp_path / name, [HEADER, *rows]))


def parents() -> dict:
    return {g.key: (g.parent.key if g.parent_id else None) for g in CustomerGroup.objects.select_related("parent")}


def test_groups_are_created_children_first_and_existing_ones_moved(world, tmp_path, run):
    out, error = run("import", "customer-groups", group_file(
        tmp_path, ["PLATINUM", "Platinum", "The best", "VIP"], ["VIP", "VIP", "", "CUSTOMERS"],
        ["BRONZE", "Bronze", "", "VIP"]))
    assert error is None and "2 created, 1 updated, 0 unchanged, 0 failed" in out
    assert parents() == {"CUSTOMERS": None, "GOLD": "CUSTOMERS", "SILVER": "CUSTOMERS", "BRONZE": "VIP",
                         "VIP": "CUSTOMERS", "PLATINUM": "VIP"}
    assert CustomerGroup.objects.get(key="PLATINUM").description == "The best"


def test_cycles_unknown_parents_and_bad_values_fail_their_rows(world, tmp_path, run):
    out, error = run("import", "customer-groups", group_file(
        tmp_path, ["A", "A", "", "B"], ["B", "B", "", "A"], ["C", "C", "", "NOWHERE"], ["D", "", "", ""],
        ["E", "x" * 201, "", ""], ["has space", "F", "", ""], ["CUSTOMERS", "Customers", "", "GOLD"]))
    assert error == "7 of 7 rows failed."
    assert "row 2, parent: The parents form a cycle: A → B → A." in out
    assert "row 4, parent: No customer group with key 'NOWHERE'." in out
    assert "row 5, name: A name is required for a new customer group." in out
    assert "row 6, name: At most 200 characters." in out
    assert "row 7, key: A key starts with a letter or digit" in out
    assert "row 8, parent: Cannot move Customers (CUSTOMERS) under Gold (GOLD)" in out
    assert CustomerGroup.objects.count() == 4


def test_an_export_of_groups_imports_back_unchanged(world, tmp_path, run):
    out_file = tmp_path / "export.csv"
    run("export", "customer-groups", "-o", str(out_file))
    assert [r["key"] for r in read_csv(out_file)][0] == "CUSTOMERS"
    out, error = run("import", "customer-groups", str(out_file))
    assert error is None and "0 created, 0 updated, 4 unchanged" in out


def test_an_account_without_the_permission_fails_every_row(world, accounts, tmp_path, run):
    out, _ = run("import", "customer-groups", group_file(tmp_path, ["VIP", "VIP", "", ""]),
                 "--as", "shopper@example.com")
    assert "row 2, key: You lack the permission customers.add_customergroup." in out
    assert not CustomerGroup.objects.filter(key="VIP").exists()
