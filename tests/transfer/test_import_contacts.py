"""`clientbase import contacts FILE`: upsert by key through the customers
domain's batch service, with every row's errors reported."""

from datetime import date

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clientbase.customers.models import Contact
from clientbase.customers.services.contacts import create_contact
from tests.transfer.conftest import read_csv, write_csv

HEADER = ["key", "first_name", "last_name", "email", "phone", "birth_date", "preferred_language",
          "preferred_currency", "organizations", "customer_groups"]


def ann(**changes) -> list[str]:
    row = {"key": "C-ANN", "first_name": "Ann", "last_name": "Smith", "email": "ann@example.com",
           "phone": "+4930123456", "birth_date": "1990-12-31", "preferred_language": "de",
           "preferred_currency": "EUR", "organizations": "EU-HQ|EU-MGMT", "customer_groups": "GOLD"}
    row.update(changes)
    return [row[c] for c in HEADER]


def contact_file(tmp_path, *rows, header=HEADER, name="contacts.csv", **options):
    return str(write_csv(tmp_path / name, [header, *rows], **options))


def memberships(contact: Contact) -> tuple[set, set]:
    return ({o.key for o in contact.organizations.all()}, {g.key for g in contact.customer_groups.all()})


def test_it_creates_a_contact_with_every_column_and_its_memberships(world, tmp_path, run):
    # when
    out, error = run("import", "contacts", contact_file(tmp_path, ann()))
    # then
    assert error is None
    assert "1 created, 0 updated, 0 unchanged, 0 failed" in out
    contact = Contact.objects.get(key="C-ANN")
    assert (contact.first_name, contact.last_name, contact.email, contact.phone, contact.birth_date,
            contact.preferred_language, contact.preferred_currency, contact.source) == (
        "Ann", "Smith", "ann@example.com", "+4930123456", date(1990, 12, 31), "de", "EUR", "import")
    assert memberships(contact) == ({"EU-HQ", "EU-MGMT"}, {"GOLD"})
    assert contact.search_last_name == "smith"  # found by the search like any other contact
    assert list(Contact.objects.search("smi")) == [contact]


def test_a_second_import_updates_by_key_and_a_third_changes_nothing(world, tmp_path, run):
    # given
    run("import", "contacts", contact_file(tmp_path, ann()))
    version = Contact.objects.get(key="C-ANN").version
    changed = contact_file(tmp_path, ann(first_name="Anna", organizations="US-SALES", customer_groups=""),
                           name="changed.csv")
    # when
    out, _ = run("import", "contacts", changed)
    again, _ = run("import", "contacts", changed)
    # then
    assert "0 created, 1 updated, 0 unchanged" in out
    assert "0 created, 0 updated, 1 unchanged" in again
    contact = Contact.objects.get(key="C-ANN")
    assert contact.first_name == "Anna" and contact.version == version + 1
    assert memberships(contact) == ({"US-SALES"}, set())


def test_columns_left_out_of_the_file_are_left_alone(world, tmp_path, run):
    run("import", "contacts", contact_file(tmp_path, ann()))
    run("import", "contacts", contact_file(tmp_path, ["C-ANN", "Annie"], header=["key", "first_name"],
                                           name="names.csv"))
    contact = Contact.objects.get(key="C-ANN")
    assert (contact.first_name, contact.email, contact.phone) == ("Annie", "ann@example.com", "+4930123456")
    assert memberships(contact) == ({"EU-HQ", "EU-MGMT"}, {"GOLD"})


def test_history_records_each_write_with_its_author_and_memberships(world, accounts, tmp_path, run):
    run("import", "contacts", contact_file(tmp_path, ann()))
    run("import", "contacts", contact_file(tmp_path, ann(organizations="EU-MGMT"), name="b.csv"),
        "--as", "admin@example.com")
    records = list(Contact.objects.get(key="C-ANN").history.order_by("history_date"))
    assert [r.history_type for r in records] == ["+", "~"]
    assert [r.history_user for r in records] == [None, accounts["admin"]]
    assert [{m.organization.key for m in r.organizations.all()} for r in records] == [
        {"EU-HQ", "EU-MGMT"}, {"EU-MGMT"}]
    assert [r.version for r in records] == [1, 2]


@pytest.mark.parametrize("options", [{"bom": True}, {"delimiter": ";"}, {"bom": True, "delimiter": ";"}],
                         ids=["bom", "semicolon", "bom-and-semicolon"])
def test_it_reads_excels_csv_flavours(world, tmp_path, run, options):
    out, error = run("import", "contacts", contact_file(tmp_path, ann(), **options))
    assert error is None and "1 created" in out
    assert Contact.objects.get(key="C-ANN").first_name == "Ann"


def test_it_reads_xlsx_with_dates_and_numbers_as_cells(world, tmp_path, run):
    # given: a workbook as a spreadsheet saves it (a real date cell)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    row = ann()
    row[HEADER.index("birth_date")] = date(1990, 12, 31)
    sheet.append(row)
    path = tmp_path / "contacts.xlsx"
    book.save(path)
    # when
    out, error = run("import", "contacts", str(path))
    # then
    assert error is None and "1 created" in out
    assert Contact.objects.get(key="C-ANN").birth_date == date(1990, 12, 31)


@pytest.mark.parametrize("column, value, message", [
    ("key", "has space", "A key starts with a letter or digit"),
    ("first_name", "x" * 101, "At most 100 characters."),
    ("first_name", "Ann\u202e", "Invisible or direction-changing"),
    ("email", "not-an-address", "Enter a valid e-mail address."),
    ("phone", "030 123456", "E.164"),
    ("birth_date", "31.12.1990", "A date such as 1990-12-31."),
    ("birth_date", "2999-01-01", "between 1900 and today"),
    ("preferred_language", "German", "A language looks like"),
    ("preferred_currency", "XYZ", "ISO 4217"),
    ("organizations", "EU-HQ|NOWHERE", "No organization with key 'NOWHERE'."),
    ("customer_groups", "PLATINUM", "No customer group with key 'PLATINUM'."),
])
def test_a_bad_value_fails_its_row_naming_row_and_column_and_the_good_rows_land(
        world, tmp_path, run, column, value, message):
    # given
    bad = ann(**{"key": "C-BAD", "email": "bad@example.com", column: value})
    good = ann()
    # when
    out, error = run("import", "contacts", contact_file(tmp_path, bad, good))
    # then
    assert error == "1 of 2 rows failed."
    assert "1 created, 0 updated, 0 unchanged, 1 failed" in out
    line = next(line for line in out.splitlines() if line.startswith("  row 2"))
    assert line.startswith(f"  row 2, {column}: ") and message in line
    assert list(Contact.objects.values_list("key", flat=True)) == ["C-ANN"]


def test_a_row_reports_every_fault_at_once(world, tmp_path, run):
    out, _ = run("import", "contacts", contact_file(tmp_path, ann(email="x", phone="1", organizations="NOPE")))
    assert {line.split(":")[0] for line in out.splitlines() if line.startswith("  row")} == {
        "  row 2, email", "  row 2, phone", "  row 2, organizations"}


def test_a_key_or_email_twice_in_the_file_or_taken_fails_the_later_row(world, tmp_path, run):
    create_contact(actor=None, fields={"key": "OLD", "email": "taken@example.com"})
    out, _ = run("import", "contacts", contact_file(
        tmp_path, ann(), ann(first_name="Again"), ann(key="C-2"), ann(key="C-3", email="TAKEN@example.com")))
    assert "1 created, 0 updated, 0 unchanged, 3 failed" in out
    assert "row 3, key: The key 'C-ANN' is on an earlier row too." in out
    assert "row 4, email: A contact with e-mail 'ann@example.com' already exists." in out
    assert "row 5, email: A contact with e-mail 'taken@example.com' already exists." in out


def test_dry_run_reports_what_would_happen_and_writes_nothing(world, tmp_path, run):
    out, error = run("import", "contacts", contact_file(tmp_path, ann(), ann(key="C-2", email="x")), "--dry-run")
    assert "1 created, 0 updated, 0 unchanged, 1 failed" in out and "Dry run: nothing was written." in out
    assert error == "1 of 2 rows failed; nothing was written."
    assert not Contact.objects.exists()
    assert not Contact.history.exists()


def test_atomic_writes_nothing_when_a_row_fails_and_everything_when_none_does(world, tmp_path, run):
    bad_file = contact_file(tmp_path, ann(), ann(key="C-2", email="x"))
    out, error = run("import", "contacts", bad_file, "--atomic")
    assert "--atomic: a row failed, so nothing was written." in out and "nothing was written" in error
    assert not Contact.objects.exists()
    out, error = run("import", "contacts", contact_file(tmp_path, ann(), ann(key="C-2", email="b@example.com"),
                                                        name="good.csv"), "--atomic")
    assert error is None and Contact.objects.count() == 2


def test_the_errors_file_holds_the_failed_rows_fixed_it_imports_again(world, tmp_path, run):
    # given
    errors = tmp_path / "errors.csv"
    run("import", "contacts", contact_file(tmp_path, ann(), ann(key="C-2", email="x", phone="12")),
        "--errors", str(errors))
    # then
    rows = read_csv(errors)
    assert len(rows) == 1
    assert rows[0]["key"] == "C-2" and rows[0]["error_row"] == "3"
    assert rows[0]["error_column"] == "email | phone"
    assert "Enter a valid e-mail address." in rows[0]["error_message"]
    # when: fixed in place and imported as it is
    rows[0].update(email="c2@example.com", phone="+4930999999")
    fixed = write_csv(tmp_path / "fixed.csv", [list(rows[0]), list(rows[0].values())])
    out, error = run("import", "contacts", str(fixed))
    # then
    assert error is None and "1 created" in out
    assert Contact.objects.get(key="C-2").email == "c2@example.com"


def test_the_number_of_queries_does_not_grow_with_the_rows(world, tmp_path, run):
    def queries(count: int, name: str) -> int:
        rows = [ann(key=f"{name}-{i}", email=f"{name}{i}@example.com") for i in range(count)]
        with CaptureQueriesContext(connection) as captured:
            run("import", "contacts", contact_file(tmp_path, *rows, name=f"{name}.csv"))
        return len(captured)

    # SQLite takes at most 999 parameters a query: a long insert goes in a
    # few statements, but 55 more rows cost no more than that.
    assert queries(60, "many") - queries(5, "few") <= 3
    assert Contact.objects.count() == 65


# --- the acting account ------------------------------------------------------

def test_a_scoped_account_imports_only_inside_what_it_manages(world, accounts, tmp_path, run):
    # given: csr manages EU Headquarters and below
    create_contact(actor=None, fields={"key": "US-1", "first_name": "Uma"}, organizations=[world["US-SALES"]])
    rows = [
        ann(organizations="EU-MGMT"),                               # lands
        ann(key="C-US", email="us@example.com", organizations="US-SALES"),  # an organization it does not see
        ann(key="C-NONE", email="none@example.com", organizations=""),    # would vanish from its sight
        ann(key="US-1", email="uma@example.com", organizations="EU-MGMT"),  # a contact it does not see
    ]
    # when
    out, error = run("import", "contacts", contact_file(tmp_path, *rows), "--as", "csr@example.com")
    # then
    assert "1 created, 0 updated, 0 unchanged, 3 failed" in out
    assert "row 3, organizations: No organization with key 'US-SALES'." in out
    assert "row 4, organizations: The contact must belong to at least one organization you manage." in out
    assert "row 5, key: A contact with key 'US-1' already exists." in out
    assert Contact.objects.get(key="C-ANN").history.get().history_user == accounts["csr"]
    assert Contact.objects.get(key="US-1").first_name == "Uma"


def test_a_scoped_update_keeps_the_memberships_it_cannot_see(world, accounts, tmp_path, run):
    create_contact(actor=None, fields={"key": "C-ANN", "email": "ann@example.com"},
                   organizations=[world["EU-MGMT"], world["US-SALES"]])
    out, error = run("import", "contacts", contact_file(tmp_path, ann(organizations="EU-HQ")),
                     "--as", "csr@example.com")
    assert error is None and "1 updated" in out
    assert memberships(Contact.objects.get(key="C-ANN"))[0] == {"EU-HQ", "US-SALES"}


def test_an_account_without_the_permission_fails_every_row(world, accounts, tmp_path, run):
    out, error = run("import", "contacts", contact_file(tmp_path, ann()), "--as", "shopper@example.com")
    assert "row 2: You lack the permission customers.add_contact." in out
    assert not Contact.objects.exists()
