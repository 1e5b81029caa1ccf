"""Exports: what the acting account sees, streamed row by row as CSV, XLSX
or JSON lines, with the API's field names as columns and lists as keys
joined by `|` — a file the import reads back to the same data."""

import csv
import json
from collections.abc import Iterator
from typing import IO

from django.db.models import Prefetch

from clientbase.core.permissions import require
from clientbase.customers.models import Contact, CustomerGroup, Organization
from clientbase.customers.models.visibility import organization_scope
from clientbase.transfer.columns import join_keys, neutralise
from clientbase.transfer.contacts import ContactsEntity, address_objects, addresses_cell
from clientbase.transfer.customer_groups import CustomerGroupsEntity
from clientbase.transfer.organizations import OrganizationsEntity

FORMATS = ("csv", "xlsx", "jsonl")
# Fields the API answers with null when there is none.
_NULLABLE = ("key", "email", "birth_date", "parent")
CHUNK = 2000


def _ref(obj) -> str:
    """How a file names an object: its key, or its id when it has none."""
    return obj.key or str(obj.pk)


def _scope(actor):
    return organization_scope(actor) if actor is not None else None


def contact_rows(actor) -> Iterator[dict]:
    """Every contact `actor` sees (None: all), with the organizations it sees
    them in and their customer groups; in chunks, so memory stays flat."""
    scope = _scope(actor)
    contacts = (Contact.objects.all() if actor is None else Contact.objects.visible_to(actor)).order_by("pk")
    contacts = contacts.prefetch_related(
        Prefetch("organizations", queryset=Organization.objects.only("key", "path")),
        Prefetch("customer_groups", queryset=CustomerGroup.objects.only("key")),
        "addresses",
    )
    for c in contacts.iterator(chunk_size=CHUNK):
        yield {
            "key": c.key or "", "first_name": c.first_name, "last_name": c.last_name,
            "email": c.email or "", "phone": c.phone,
            "birth_date": c.birth_date.isoformat() if c.birth_date else "",
            "preferred_language": c.preferred_language, "preferred_currency": c.preferred_currency,
            # Only the organizations the actor sees: the others do not exist for it.
            "organizations": [_ref(o) for o in c.organizations.all()
                              if scope is None or scope.contains(o.pk, o.path)],
            "customer_groups": [_ref(g) for g in c.customer_groups.all()],
            "addresses": address_objects(c.addresses.all()),
        }


def organization_rows(actor) -> Iterator[dict]:
    """Every organization `actor` sees, parents before children (by path), so
    that the file imports in one pass; a parent it does not see is left
    empty."""
    scope = _scope(actor)
    orgs = (Organization.objects.all() if actor is None else Organization.objects.visible_to(actor))
    orgs = orgs.order_by("path").select_related("parent").prefetch_related(
        Prefetch("customer_groups", queryset=CustomerGroup.objects.only("key")))
    for o in orgs.iterator(chunk_size=CHUNK):
        parent = o.parent
        seen = parent is not None and (scope is None or scope.contains(parent.pk, parent.path))
        yield {"key": _ref(o), "name": o.name, "kind": o.kind, "parent": _ref(parent) if seen else "",
               "customer_groups": [_ref(g) for g in o.customer_groups.all()]}


def customer_group_rows(actor) -> Iterator[dict]:
    """Every customer group (they are shop-wide), parents before children."""
    groups = CustomerGroup.objects.visible_to(actor).order_by("path").select_related("parent")
    for g in groups.iterator(chunk_size=CHUNK):
        yield {"key": g.key, "name": g.name, "description": g.description,
               "parent": g.parent.key if g.parent_id else ""}


# entity → (columns, rows, the permission reading them needs, as in the API)
EXPORTS = {
    "contacts": (ContactsEntity.columns, contact_rows, "customers.view_contact"),
    "organizations": (OrganizationsEntity.columns, organization_rows, "customers.view_organization"),
    "customer-groups": (CustomerGroupsEntity.columns, customer_group_rows, "customers.view_customergroup"),
}


def _cell(value) -> str:
    if isinstance(value, list):  # keys joined by `|`; objects (addresses) as JSON
        return addresses_cell(value) if value and isinstance(value[0], dict) else join_keys(value)
    return str(value)


def _cells(row: dict, columns) -> list[str]:
    return [neutralise(_cell(v)) for v in (row[c] for c in columns)]


def write_export(entity: str, out: IO, *, actor, file_format: str = "csv") -> int:
    """Write `entity` as `actor` sees it to `out` (text for csv and jsonl,
    binary for xlsx); returns the number of rows. Forbidden when `actor`
    lacks the permission to view that entity."""
    columns, rows, permission = EXPORTS[entity]
    require(actor, permission)
    count = 0
    if file_format == "jsonl":
        for count, row in enumerate(rows(actor), start=1):
            # As the API answers them: none is null, not an empty string.
            row = {name: None if value == "" and name in _NULLABLE else value for name, value in row.items()}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    elif file_format == "csv":
        writer = csv.writer(out)
        writer.writerow(columns)
        for count, row in enumerate(rows(actor), start=1):
            writer.writerow(_cells(row, columns))
    elif file_format == "xlsx":
        import openpyxl  # only XLSX files need it

        book = openpyxl.Workbook(write_only=True)  # streams rows to a temporary file
        sheet = book.create_sheet(entity)
        sheet.append(list(columns))
        for count, row in enumerate(rows(actor), start=1):
            sheet.append(_cells(row, columns))
        book.save(out)
    else:
        raise ValueError(f"Unknown format {file_format!r}")
    return count
