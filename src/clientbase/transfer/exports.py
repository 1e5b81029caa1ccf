"""Exports: what the acting account sees, streamed row by row as CSV, XLSX
or JSON lines, with the API's field names as columns and lists as keys
joined by `|` — a file the import reads back to the same data."""

import csv
import json
from collections.abc import Iterator
from functools import partial
from typing import IO

from django.db.models import Prefetch, QuerySet

from clientbase.core.permissions import require
from clientbase.customers.models import Contact, CustomerGroup, Organization
from clientbase.customers.models.visibility import organization_scope
from clientbase.pricing.models import PriceRow
from clientbase.transfer.columns import join_keys, neutralise
from clientbase.transfer.contacts import ContactsEntity, address_objects, addresses_cell
from clientbase.transfer.customer_groups import CustomerGroupsEntity
from clientbase.transfer.memberships import EXPORT_COLUMNS as MEMBERSHIP_COLUMNS, membership_rows
from clientbase.transfer.organizations import OrganizationsEntity
from clientbase.transfer.prices import COLUMNS as PRICE_COLUMNS, price_rows

FORMATS = ("csv", "xlsx", "jsonl")
# Fields the API answers with null when there is none.
_NULLABLE = ("key", "email", "birth_date", "parent", "contact", "organization", "customer_group", "variant",
             "product", "valid_from", "valid_until")
CHUNK = 2000


def _ref(obj) -> str:
    """How a file names an object: its key, or its id when it has none."""
    return obj.key or str(obj.pk)


def _scope(actor):
    return organization_scope(actor) if actor is not None else None


def contact_rows(actor, selection: QuerySet | None = None) -> Iterator[dict]:
    """Every contact `actor` sees (None: all) — of `selection` only, when
    given —, with the organizations it sees them in and their customer
    groups; in chunks, so memory stays flat."""
    scope = _scope(actor)
    contacts = selection if selection is not None else Contact.objects.all()
    contacts = (contacts if actor is None else contacts.visible_to(actor)).order_by("pk")
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


def organization_rows(actor, selection: QuerySet | None = None) -> Iterator[dict]:
    """Every organization `actor` sees (of `selection` only, when given),
    parents before children (by path), so that the file imports in one
    pass; a parent it does not see is left empty."""
    scope = _scope(actor)
    orgs = selection if selection is not None else Organization.objects.all()
    orgs = orgs if actor is None else orgs.visible_to(actor)
    orgs = orgs.order_by("path").select_related("parent").prefetch_related(
        Prefetch("customer_groups", queryset=CustomerGroup.objects.only("key")))
    for o in orgs.iterator(chunk_size=CHUNK):
        parent = o.parent
        seen = parent is not None and (scope is None or scope.contains(parent.pk, parent.path))
        yield {"key": _ref(o), "name": o.name, "kind": o.kind, "parent": _ref(parent) if seen else "",
               "customer_groups": [_ref(g) for g in o.customer_groups.all()]}


def customer_group_rows(actor, selection: QuerySet | None = None) -> Iterator[dict]:
    """Every customer group (they are shop-wide; of `selection` only, when
    given), parents before children."""
    groups = selection if selection is not None else CustomerGroup.objects.all()
    groups = groups.visible_to(actor).order_by("path").select_related("parent")
    for g in groups.iterator(chunk_size=CHUNK):
        yield {"key": g.key, "name": g.name, "description": g.description,
               "parent": g.parent.key if g.parent_id else ""}


# entity → (columns, rows, the permission reading them needs, as in the API).
# Each `rows(actor, selection=None)` takes a selection (a queryset, the
# back office's) of the models its SELECTABLE entry names.
EXPORTS = {
    "contacts": (ContactsEntity.columns, contact_rows, "customers.view_contact"),
    "organizations": (OrganizationsEntity.columns, organization_rows, "customers.view_organization"),
    "customer-groups": (CustomerGroupsEntity.columns, customer_group_rows, "customers.view_customergroup"),
    "memberships": (MEMBERSHIP_COLUMNS, membership_rows, "customers.view_contact"),
    "prices": (PRICE_COLUMNS, price_rows, "pricing.view_pricerow"),
}
# entity → the models a selection of it may be a queryset of (memberships:
# those of some contacts, or of some organizations).
SELECTABLE = {
    "contacts": (Contact,), "organizations": (Organization,), "customer-groups": (CustomerGroup,),
    "memberships": (Contact, Organization), "prices": (PriceRow,),
}


def _cell(value) -> str:
    if isinstance(value, list):  # keys joined by `|`; objects (addresses) as JSON
        return addresses_cell(value) if value and isinstance(value[0], dict) else join_keys(value)
    return str(value)


def _cells(row: dict, columns) -> list[str]:
    return [neutralise(_cell(v)) for v in (row[c] for c in columns)]


CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/jsonl; charset=utf-8",
                 "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
# Rows per piece of a streamed CSV or JSON lines export; bytes per piece of an XLSX one.
ROWS_PER_PIECE = 500
XLSX_PIECE = 1 << 16


class _Line:
    """A file-like object whose write() answers what was written (csv.writer → a string)."""

    def write(self, text: str) -> str:
        return text


def _pieces(entity: str, actor, file_format: str, counted: list[int],
            selection: QuerySet | None = None) -> Iterator[str | bytes]:
    columns, rows, _ = EXPORTS[entity]
    if selection is not None:
        rows = partial(rows, selection=selection)
    if file_format == "xlsx":
        import tempfile

        import openpyxl  # only XLSX files need it

        book = openpyxl.Workbook(write_only=True)  # streams rows to a temporary file
        sheet = book.create_sheet(entity)
        sheet.append(list(columns))
        for row in rows(actor):
            sheet.append(_cells(row, columns))
            counted[0] += 1
        # A workbook is a zip whose directory comes last: it is whole only once saved.
        with tempfile.TemporaryFile() as saved:
            book.save(saved)
            saved.seek(0)
            while piece := saved.read(XLSX_PIECE):
                yield piece
        return
    writer = csv.writer(_Line())

    def line(row: dict) -> str:
        if file_format == "csv":
            return writer.writerow(_cells(row, columns))
        # As the API answers them: none is null, not an empty string.
        return json.dumps({name: None if value == "" and name in _NULLABLE else value
                           for name, value in row.items()}, ensure_ascii=False) + "\n"

    lines = [writer.writerow(columns)] if file_format == "csv" else []
    for row in rows(actor):
        lines.append(line(row))
        counted[0] += 1
        if len(lines) >= ROWS_PER_PIECE:
            yield "".join(lines)
            lines = []
    if lines:
        yield "".join(lines)


def exportable(actor) -> list[str]:
    """The entities `actor` may export (None: the system, all of them)."""
    if actor is None:
        return sorted(EXPORTS)
    return sorted(name for name, (_, _, permission) in EXPORTS.items()
                  if actor.is_authenticated and actor.is_active and actor.has_perm(permission))


def export_pieces(entity: str, *, actor, file_format: str = "csv", counted: list[int] | None = None,
                  selection: QuerySet | None = None) -> Iterator[str | bytes]:
    """`entity` as `actor` sees it, in pieces to write or send one after the
    other (text for csv and jsonl, bytes for xlsx); `counted[0]` counts the
    rows as they go. `selection` (a back-office list's: a queryset of a
    model of SELECTABLE[entity]) limits the rows to those of the queryset —
    still only what `actor` sees. Checks now, before the first piece:
    Forbidden when `actor` lacks the permission to view that entity,
    ValueError for an unknown entity or format, or a selection of another
    model."""
    if entity not in EXPORTS or file_format not in FORMATS:
        raise ValueError(f"Unknown export {entity!r} or format {file_format!r}")
    if selection is not None and selection.model not in SELECTABLE[entity]:
        raise ValueError(f"A selection of {selection.model._meta.verbose_name_plural} is no {entity} export.")
    if selection is not None:
        # By id: a list's queryset may carry annotations, ordering or joins of its own.
        selection = selection.model._default_manager.filter(pk__in=selection.order_by().values("pk"))
    require(actor, EXPORTS[entity][2])
    return _pieces(entity, actor, file_format, counted if counted is not None else [0], selection)


def write_export(entity: str, out: IO, *, actor, file_format: str = "csv",
                 selection: QuerySet | None = None) -> int:
    """Write `entity` as `actor` sees it to `out` (text for csv and jsonl,
    binary for xlsx); returns the number of rows. Forbidden when `actor`
    lacks the permission to view that entity. `selection`: see export_pieces."""
    counted = [0]
    for piece in export_pieces(entity, actor=actor, file_format=file_format, counted=counted,
                               selection=selection):
        out.write(piece)
    return counted[0]
