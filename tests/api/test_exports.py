"""GET /api/v1/exports/{entity}: files of what the caller sees, streamed."""

import csv
import io
import json

import openpyxl
import pytest
from django.core.management import call_command

from clientbase.customers.models import Contact
from tests.pricing import conftest as pricing_fixtures

catalog, price = pricing_fixtures.catalog, pricing_fixtures.price


def rows_of(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.fixture
def people(world):
    eve = Contact.objects.create(key="EVE", first_name="=cmd|' /C calc'!A0", email="eve@example.com")
    eve.organizations.set([world["EU-MGMT"], world["US-SALES"]])
    eve.customer_groups.set([world["GOLD"]])
    sam = Contact.objects.create(key="SAM", first_name="Sam")
    sam.organizations.set([world["US-SALES"]])
    return world


@pytest.fixture
def prices(people, catalog, price):
    price("TS-M", "20.00")
    price("TS-M", "666.66", sale_type="customer", sale_code="SAM")
    price("TS-M", "15.00", sale_type="customer", sale_code="EVE")


def test_a_csv_export_streams_the_file_with_its_name(people, admin_api):
    response = admin_api.get("/exports/contacts")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="contacts.csv"'
    rows = rows_of(response)
    assert sorted(r["key"] for r in rows) == ["EVE", "SAM"]
    eve = next(r for r in rows if r["key"] == "EVE")
    assert eve["first_name"] == "'=cmd|' /C calc'!A0"  # a spreadsheet will not run it
    assert eve["organizations"] == "EU-MGMT|US-SALES"


def test_a_scoped_caller_gets_only_what_it_sees(prices, caller):
    csr = caller("csr")
    contacts = rows_of(csr.get("/exports/contacts"))
    assert [(r["key"], r["organizations"]) for r in contacts] == [("EVE", "EU-MGMT")]
    memberships = rows_of(csr.get("/exports/memberships"))
    assert {tuple(r.values()) for r in memberships} == {("EVE", "EU-MGMT", ""), ("EVE", "", "GOLD")}
    price_rows = csr.get("/exports/prices")
    body = b"".join(price_rows.streaming_content).decode()
    assert "666.66" not in body and "SAM" not in body
    assert sorted(r["sale_code"] for r in csv.DictReader(io.StringIO(body))) == ["", "EVE"]
    organizations = rows_of(csr.get("/exports/organizations"))
    assert [r["key"] for r in organizations] == ["EU-HQ", "EU-MGMT"]


def test_json_lines_and_xlsx(prices, admin_api):
    response = admin_api.get("/exports/prices", format="jsonl")
    assert response["Content-Type"] == "application/jsonl; charset=utf-8"
    lines = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    assert {(r["variant"], r["product"], r["sale_code"], r["unit_price"], r["valid_from"]) for r in lines} == {
        ("TS-M", None, "", "20.00", None), ("TS-M", None, "SAM", "666.66", None), ("TS-M", None, "EVE", "15.00", None)}
    response = admin_api.get("/exports/customer-groups", format="xlsx")
    assert response["Content-Disposition"] == 'attachment; filename="customer-groups.xlsx"'
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).worksheets[0]
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0] == ["key", "name", "description", "parent"] and len(values) == 5


def test_the_api_file_is_the_cli_file(prices, accounts, caller, tmp_path):
    out_file = tmp_path / "memberships.csv"
    call_command("export", "memberships", "--as", "csr@example.com", "-o", str(out_file))
    response = caller("csr").get("/exports/memberships")
    assert b"".join(response.streaming_content) == out_file.read_bytes()


@pytest.mark.parametrize(("who", "path", "params", "status", "problem"), [
    ("admin", "/exports/contacts", {"format": "pdf"}, 422, "validation"),
    ("admin", "/exports/orders", {}, 404, "not_found"),
    ("registered", "/exports/contacts", {}, 403, "forbidden"),
    ("registered", "/exports/orders", {}, 403, "forbidden"),  # may export nothing: learns nothing
    ("csr", "/exports/customer-groups", {"format": "xlsx"}, 200, None),
    ("csr", "/exports/prices", {}, 200, None),
    (None, "/exports/contacts", {}, 401, None),
])
def test_bad_requests_are_problems(people, caller, who, path, params, status, problem):
    response = caller(who).get(path, **params)
    assert response.status_code == status
    if status != 200:
        assert response["Content-Type"] == "application/problem+json"
        if problem:
            assert response.json()["type"].endswith(":" + problem)


def test_queries_do_not_grow_with_the_rows(world, admin_api, django_assert_max_num_queries):
    for n in range(120):
        contact = Contact.objects.create(key=f"C{n}", first_name="Pat")
        contact.organizations.set([world["EU-MGMT"]])
        contact.customer_groups.set([world["GOLD"]])
    with django_assert_max_num_queries(12):
        response = admin_api.get("/exports/contacts")
        assert len(rows_of(response)) == 120
    with django_assert_max_num_queries(12):
        assert len(rows_of(admin_api.get("/exports/memberships"))) == 240
