"""Exports from the back office's lists — organizations, customer groups,
price rows, memberships (from the contact and organization lists) and
contacts — as CSV, XLSX and JSON lines: the API's export of the selection,
what the staff member sees, a file that `clientbase import` reads back
unchanged."""

import csv
import io
import json
import uuid
from decimal import Decimal

import openpyxl
import pytest
from django.core.management import call_command
from django.urls import reverse

from clientbase.catalog.models import Market, Product, Variant
from clientbase.customers.models import Contact, CustomerGroup, Organization
from clientbase.pricing.models import PriceRow

LISTS = {
    "organizations": "admin:customers_organization_changelist",
    "customer-groups": "admin:customers_customergroup_changelist",
    "prices": "admin:pricing_pricerow_changelist",
    "contacts": "admin:customers_contact_changelist",
}


@pytest.fixture
def shop(people, world):
    """Prices on a T-shirt in market EU: for everyone, for Gold, and for Ann
    (EU, the representative sees her) and Carl (US, it does not)."""
    people["ann"].customer_groups.add(world["GOLD"])
    people["carl"].customer_groups.add(world["SILVER"])
    Organization.customer_groups.through.objects.create(organization=world["EU-HQ"], customergroup=world["GOLD"])
    eu = Market.objects.create(key="EU", name="Europe", currencies=["EUR"], default_currency="EUR")
    shirt = Product.objects.create(key="TSHIRT", name="T-shirt")
    variant = Variant.objects.create(sku="TS-M", product=shirt)
    for sale_type, code, price in [("all_customers", "", "20"), ("customer_group", "GOLD", "18"),
                                   ("customer", "C-ANN", "15"), ("customer", str(people["carl"].pk), "14")]:
        PriceRow.objects.create(variant=variant, market=eu, currency="EUR", sale_type=sale_type, sale_code=code,
                                unit_price=Decimal(price))
    return people


def export(client, entity: str, objects, *, file_format: str = "csv", action: str = "export",
           list_name: str | None = None, select_across: bool = False):
    """What the list's form posts for the export action on `objects` (all of
    the list with `select_across`); (response, the file's bytes)."""
    # With "select all" the page still posts the rows it shows as selected (Django requires one).
    selected = [str(o.pk) for o in objects] or [str(uuid.uuid4())]
    body = {"action": f"{action}_{file_format}", "index": "0", "select_across": "1" if select_across else "0",
            "_selected_action": selected}
    response = client.post(reverse(LISTS[list_name or entity]), body)
    content = b"".join(response.streaming_content) if response.streaming else b""
    return response, content


def rows_of(content: bytes, file_format: str = "csv") -> list[dict]:
    if file_format == "csv":
        return list(csv.DictReader(io.StringIO(content.decode())))
    if file_format == "jsonl":
        return [json.loads(line) for line in content.decode().splitlines()]
    sheet = openpyxl.load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    header, *rest = [list(r) for r in sheet.iter_rows(values_only=True)]
    return [dict(zip(header, (v or "" for v in r))) for r in rest]


@pytest.mark.parametrize("entity, keys", [
    ("organizations", {"EU-HQ", "EU-MGMT"}),
    ("customer-groups", {"CUSTOMERS", "GOLD", "SILVER", "BRONZE"}),
    ("prices", {"", "GOLD", "C-ANN"}),
])
def test_a_scoped_representative_exports_only_the_rows_it_sees(login, shop, entity, keys):
    # when: the whole list is exported ("select all")
    response, content = export(login("csr"), entity, [], select_across=True)
    # then
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith(f'attachment; filename="{entity}-')
    found = {r["sale_code"] if entity == "prices" else r["key"] for r in rows_of(content)}
    assert found == keys


def test_memberships_of_the_selected_contacts_are_those_the_representative_sees(login, shop, world):
    response, content = export(login("csr"), "memberships", Contact.objects.all(), action="export_memberships",
                               list_name="contacts")
    rows = {(r["contact"], r["organization"], r["customer_group"]) for r in rows_of(content)}
    ann, bob = shop["ann"], shop["bob"]
    assert rows == {("C-ANN", "EU-MGMT", ""), (str(bob.pk), "EU-HQ", ""), ("C-ANN", "", "GOLD")}
    assert str(ann.pk) not in content.decode()  # named by key


def test_memberships_of_selected_organizations_include_their_groups(login, shop, world):
    response, content = export(login("admin"), "memberships", [world["EU-HQ"]], action="export_memberships",
                               list_name="organizations")
    rows = {(r["contact"], r["organization"], r["customer_group"]) for r in rows_of(content)}
    assert rows == {(str(shop["bob"].pk), "EU-HQ", ""), ("", "EU-HQ", "GOLD")}


@pytest.mark.parametrize("file_format, content_type", [
    ("csv", "text/csv"), ("xlsx", "application/vnd.openxmlformats"), ("jsonl", "application/jsonl")])
def test_each_format_holds_the_selection_with_the_api_field_names(login, shop, world, file_format, content_type):
    response, content = export(login("admin"), "organizations", [world["EU-HQ"], world["US-SALES"]],
                               file_format=file_format)
    assert response.status_code == 200 and response["Content-Type"].startswith(content_type)
    rows = rows_of(content, file_format)
    assert sorted(r["key"] for r in rows) == ["EU-HQ", "US-SALES"]
    assert list(rows[0]) == ["key", "name", "kind", "parent", "customer_groups"]
    eu = next(r for r in rows if r["key"] == "EU-HQ")
    assert (eu["parent"], eu["customer_groups"]) == (("ADMIN", ["GOLD"]) if file_format == "jsonl"
                                                     else ("ADMIN", "GOLD"))


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_cells_a_spreadsheet_would_run_are_neutralised(login, world, file_format):
    CustomerGroup.objects.create(key="EVIL", name="=cmd|' /C calc'!A0")
    response, content = export(login("admin"), "customer-groups", [], file_format=file_format,
                               select_across=True)
    evil = next(r for r in rows_of(content, file_format) if r["key"] == "EVIL")
    assert evil["name"] == "'=cmd|' /C calc'!A0"


def test_an_account_without_the_permission_to_view_contacts_gets_no_memberships(shop, world):
    # given: an account that may view organizations only
    from django.contrib.auth.models import Permission
    from django.test import Client

    from tests.conftest import make_account

    viewer = make_account("orgs@example.com")
    viewer.user_permissions.add(*Permission.objects.filter(codename__in=["view_organization", "access_backoffice"]))
    client = Client()
    client.force_login(viewer)
    # when
    response, content = export(client, "memberships", [world["EU-HQ"]], action="export_memberships",
                               list_name="organizations")
    # then: the list again, with the reason, and no file
    assert response.status_code == 302 and not content
    page = client.get(response["Location"])
    assert "You lack the permission customers.view_contact." in page.content.decode()


@pytest.mark.parametrize("entity, list_name, action, summary", [
    ("organizations", "organizations", "export", "0 created, 0 updated, 2 unchanged, 0 failed"),
    ("customer-groups", "customer-groups", "export", "0 created, 0 updated, 4 unchanged, 0 failed"),
    ("prices", "prices", "export", "0 created, 0 updated, 3 unchanged, 0 failed"),
    ("memberships", "contacts", "export_memberships", "0 created, 0 updated, 3 unchanged, 0 failed"),
    ("contacts", "contacts", "export", "0 created, 0 updated, 2 unchanged, 0 failed"),
])
def test_an_export_imports_back_unchanged(login, shop, tmp_path, entity, list_name, action, summary):
    # given: the representative's export of its whole list (contacts are matched by key)
    Contact.objects.filter(pk=shop["bob"].pk).update(key="C-BOB")
    response, content = export(login("csr"), entity, [], action=action, list_name=list_name, select_across=True)
    path = tmp_path / f"{entity}.csv"
    path.write_bytes(content)
    before = [(r.pk, r.version) for model in (Contact, Organization, CustomerGroup, PriceRow)
              for r in model.objects.order_by("pk")]
    # when: imported again by the representative
    out = io.StringIO()
    call_command("import", entity, str(path), "--as", "csr@example.com", stdout=out)
    # then: nothing changed
    assert summary in out.getvalue()
    assert [(r.pk, r.version) for model in (Contact, Organization, CustomerGroup, PriceRow)
            for r in model.objects.order_by("pk")] == before


def test_the_contact_list_offers_every_export(login, people):
    response = login("csr").get(reverse(LISTS["contacts"]))
    names = {name for name, _ in response.context["action_form"].fields["action"].choices}
    assert {"export_csv", "export_xlsx", "export_jsonl", "export_memberships_csv", "export_memberships_xlsx",
            "export_memberships_jsonl"} <= names
