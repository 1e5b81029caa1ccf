"""Addresses in contact files: an `addresses` column holding the API's list
of addresses as JSON, judged by the address rule of every other write
(customers.services.contacts.clean_address), replaced as a whole, exported
and imported back unchanged."""

import json

from clientbase.customers.models import Address, Contact
from clientbase.customers.services.contacts import create_contact, set_addresses
from tests.transfer.conftest import read_csv, write_csv

HEADER = ["key", "email", "organizations", "addresses"]
HOME = {"name": "Home", "line1": "Hauptstr. 1", "city": "Berlin", "postcode": "10115", "country": "DE",
        "is_default_shipping": True}
OFFICE = {"line1": "1 Main St", "city": "Boston", "region": "MA", "country": "US", "phone": "+16175550100",
          "is_default_billing": True}


def contact_file(tmp_path, *rows, name="contacts.csv"):
    return str(write_csv(tmp_path / name, [HEADER, *rows]))


def row(addresses, key="C-ANN", email="ann@example.com") -> list[str]:
    return [key, email, "EU-HQ", addresses if isinstance(addresses, str) else json.dumps(addresses)]


def stored(key="C-ANN") -> list[dict]:
    return [{k: v for k, v in address.items() if v not in ("", False)}
            for address in Address.objects.filter(contact__key=key).values(
                "name", "first_name", "last_name", "line1", "line2", "city", "postcode", "region", "country",
                "phone", "is_default_shipping", "is_default_billing")]


def test_it_creates_the_addresses_in_order_and_the_same_list_changes_nothing(world, tmp_path, run):
    out, error = run("import", "contacts", contact_file(tmp_path, row([HOME, OFFICE])))
    assert error is None and "1 created" in out
    assert stored() == [HOME, OFFICE]
    contact = Contact.objects.get(key="C-ANN")
    assert Address.history.filter(contact_id=contact.pk, history_type="+").count() == 2

    out, error = run("import", "contacts", contact_file(tmp_path, row([HOME, OFFICE]), name="again.csv"))
    assert "0 created, 0 updated, 1 unchanged" in out
    assert Contact.objects.get(key="C-ANN").version == contact.version


def test_a_different_list_replaces_the_addresses_and_an_empty_cell_removes_them(world, tmp_path, run):
    run("import", "contacts", contact_file(tmp_path, row([HOME, OFFICE])))
    version = Contact.objects.get(key="C-ANN").version

    out, _ = run("import", "contacts", contact_file(tmp_path, row([{**OFFICE, "city": "Cambridge"}]), name="b.csv"))
    assert "1 updated" in out
    assert stored() == [{**OFFICE, "city": "Cambridge"}]
    assert Contact.objects.get(key="C-ANN").version == version + 1
    assert Address.history.filter(history_type="-").count() == 2

    out, _ = run("import", "contacts", contact_file(tmp_path, row(""), name="c.csv"))
    assert "1 updated" in out and stored() == []


def test_a_file_without_the_column_leaves_the_addresses_alone(world, tmp_path, run):
    contact = create_contact(actor=None, fields={"key": "C-ANN", "email": "ann@example.com"},
                             organizations=[world["EU-HQ"]])
    set_addresses(contact, [HOME])
    path = write_csv(tmp_path / "names.csv", [["key", "first_name"], ["C-ANN", "Ann"]])
    out, _ = run("import", "contacts", str(path))
    assert "1 updated" in out and stored() == [HOME]


def test_a_bad_address_fails_its_row_by_the_rule_of_every_address(world, tmp_path, run):
    rows = [
        row([{"line1": "x", "country": "de"}], key="C-1", email="1@example.com"),       # no city, bad country
        row([HOME, {**OFFICE, "is_default_shipping": True}], key="C-2", email="2@example.com"),
        row([{**HOME, "id": "7"}], key="C-3", email="3@example.com"),                  # ids are not a file's
        row("[{\"line1\": ", key="C-4", email="4@example.com"),                           # not JSON
        row([{**HOME, "is_default_billing": "no"}], key="C-5", email="x"),              # and a bad e-mail
        row({"line1": "x"}, key="C-6", email="6@example.com"),                           # not a list
        row([HOME], key="C-7", email="7@example.com"),                                    # lands
    ]
    errors_file = tmp_path / "errors.csv"
    out, error = run("import", "contacts", contact_file(tmp_path, *rows), "--errors", str(errors_file))

    assert "1 created, 0 updated, 0 unchanged, 6 failed" in out
    failed = {r["key"]: (r["error_column"], r["error_message"]) for r in read_csv(errors_file)}
    assert failed["C-1"][0] == "addresses.0.city | addresses.0.country"
    assert "ISO 3166-1 alpha-2" in failed["C-1"][1]
    assert failed["C-2"] == ("addresses", "At most one address may be the default shipping address.")
    assert failed["C-3"] == ("addresses.0.id", "Unknown field.")
    assert failed["C-4"][0] == "addresses" and failed["C-4"][1].startswith("Not JSON")
    assert failed["C-5"][0] == "email | addresses.0.is_default_billing"  # every fault of the row at once
    assert failed["C-6"][0] == "addresses"
    assert list(Contact.objects.values_list("key", flat=True)) == ["C-7"] and stored("C-7") == [HOME]


def test_addresses_export_as_the_api_lists_them_and_import_back_unchanged(world, tmp_path, run):
    contact = create_contact(actor=None, fields={"key": "C-ANN", "first_name": "=1+2"},
                             organizations=[world["EU-HQ"]])
    set_addresses(contact, [HOME, {**OFFICE, "first_name": "@Bob"}])
    out_file = tmp_path / "contacts.csv"
    run("export", "contacts", "-o", str(out_file))
    cell = read_csv(out_file)[0]["addresses"]
    assert [a["city"] for a in json.loads(cell)] == ["Berlin", "Boston"]
    out, _ = run("export", "contacts", "--format", "jsonl")
    assert json.loads(out.splitlines()[0])["addresses"][1]["first_name"] == "@Bob"

    out, error = run("import", "contacts", str(out_file))
    assert error is None and "0 created, 0 updated, 1 unchanged, 0 failed" in out
    assert stored() == [HOME, {**OFFICE, "first_name": "@Bob"}]
