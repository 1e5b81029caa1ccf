"""Keyset ("cursor") pagination: every list of the API and of the back
office's own pages goes through `Keyset`.

A page is the rows after the last one of the page before, in an ordering that
ends in a unique field, so that a page costs the same however deep it is (no
OFFSET) and a row added or removed meanwhile never shifts the next page. The
cursor is the last row's ordering values, JSON in URL-safe base64 without
padding; clients treat it as opaque.
"""

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import connection
from django.db.models import CharField, Field, IntegerField, Model, Q, QuerySet, TextField, UUIDField

from clientbase.core.errors import Invalid

MAX_LIMIT = 500
DEFAULT_LIMIT = 50


@dataclass(frozen=True)
class KeysetPage:
    """One page: its rows, and the cursor of the next page (None on the last)."""

    items: list
    next_cursor: str | None


class Keyset:
    """Pages of a queryset in `ordering` (field paths; the last one unique;
    a leading "-" for descending, as in order_by), e.g.
    `Keyset("sku", "id").page(variants, limit=50, cursor=cursor)` or
    `Keyset("-created_at", "-id")` for the newest first.

    `late_rows=True` finds the page's primary keys first and reads the full
    rows only for them, still in one query (`WHERE pk IN (SELECT pk … LIMIT n)`).
    Use it when the filter has to skip many rows of the ordering index and an
    index holds every column the filter reads: the inner query is then an
    index-only scan instead of one table read per skipped row (see
    docs/benchmarks.md, contact search).
    """

    def __init__(self, *ordering: str, late_rows: bool = False) -> None:
        self.ordering = ordering
        self.late_rows = late_rows

    def page(self, queryset: QuerySet, *, limit: int | None = None, cursor: str | None = None) -> KeysetPage:
        """The page of `queryset` after `cursor` (None: the first), at most
        `limit` rows (default 50). Invalid (on `limit` or `cursor`) for a
        limit out of 1..500 or a cursor this ordering did not give out."""
        limit = DEFAULT_LIMIT if limit is None else limit
        return self.page_of(list(self.query(queryset, limit=limit, cursor=cursor)), limit)

    def page_of(self, items: list, limit: int) -> KeysetPage:
        """The page of `items`, read in this ordering as `query` reads them:
        at most `limit` and one more, which tells whether there is a next
        page. Items are anything with the ordering's attributes (a model
        instance, or the values a hand-written query read)."""
        if len(items) <= limit:
            return KeysetPage(items, None)
        items = items[:limit]
        return KeysetPage(items, self.cursor_of(items[-1]))

    def query(self, queryset: QuerySet, *, limit: int, cursor: str | None = None) -> QuerySet:
        """The one query a page runs: its rows and one more, which tells
        whether there is a next page."""
        check_limit(limit)
        queryset = queryset.order_by(*self.ordering)
        if cursor:
            queryset = queryset.filter(self.after(cursor, queryset.model))
        if self.late_rows:
            queryset = queryset.filter(pk__in=queryset.values("pk")[: limit + 1])
        return queryset[: limit + 1]

    def after(self, cursor: str, model: type[Model] | None = None) -> Q:
        """The condition for the rows after the one `cursor` names."""
        return _after(list(self.ordering), self.values(cursor, model))

    def sql_after(self, columns: Sequence[str], values: Sequence[Any]) -> tuple[str, list[Any]]:
        """`after`'s condition for a statement written by hand, and its
        parameters: the rows after the one whose ordering values are
        `values` (as the database takes them: `values(cursor, model)`, ids
        prepared), `columns` the SQL of the ordering's fields, in its order.

        A row comparison, `(a, b) > (%s, %s)`, when every field sorts the
        same way (both databases seek the ordering index with it); for mixed
        directions the expanded form `after` builds, `a >= x AND (a > x OR
        (a = x AND …))`, a descending field coming after when smaller."""
        if len(columns) != len(self.ordering) or len(values) != len(self.ordering):
            raise ValueError(f"sql_after: {len(self.ordering)} columns and values, one per ordering field")
        descending = [path.startswith("-") for path in self.ordering]
        if len(set(descending)) == 1:
            beyond = "<" if descending[0] else ">"
            if len(columns) == 1:
                return f"{columns[0]} {beyond} %s", [values[0]]
            return f"({', '.join(columns)}) {beyond} ({', '.join(['%s'] * len(values))})", list(values)
        return _sql_after(list(zip(columns, descending)), list(values))

    def values(self, cursor: str, model: type[Model] | None = None) -> list[Any]:
        """The ordering values a cursor holds; Invalid for one that is not ours.

        With `model`, each value must also fit its ordering field (text for a
        text column, an integer in the column's range, a UUID): a cursor is
        opaque, but it comes back from the client, and a value of another type
        would otherwise reach the database (an error there, a 500 here)."""
        try:
            values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        except (ValueError, TypeError):
            values = None
        if not isinstance(values, list) or len(values) != len(self.ordering) or not all(
                isinstance(v, (str, int)) and not isinstance(v, bool) for v in values):
            raise _not_ours()
        if model is not None:
            values = [_fitted(_field(model, path.removeprefix("-")), value)
                      for path, value in zip(self.ordering, values)]
        return values

    def cursor_of(self, obj: Model) -> str:
        """The cursor of the page that starts after `obj`."""
        return encode_cursor([_attr(obj, path.removeprefix("-")) for path in self.ordering])


def check_limit(limit: int) -> None:
    """Invalid (on `limit`) for a page size out of 1..MAX_LIMIT."""
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid.on("limit", f"limit must be between 1 and {MAX_LIMIT}.", code="invalid_limit")


def encode_cursor(values: list[Any]) -> str:
    """A cursor holding these ordering values (ids as strings, moments in ISO 8601)."""
    raw = json.dumps([str(v) if isinstance(v, UUID) else v.isoformat() if isinstance(v, datetime) else v
                      for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _not_ours() -> Invalid:
    return Invalid.on("cursor", "Not a cursor this list gave out.", code="invalid_cursor")


def _field(model: type[Model], path: str) -> Field | None:
    """The model field at the end of an ordering path (`product__name`), or
    None when the path is no concrete field (an annotation)."""
    field = None
    for part in path.split("__"):
        if field is not None:
            if not field.is_relation:
                return None
            model = field.related_model
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return None
    # ordering by a foreign key is ordering by the key it holds
    return field.target_field if field.is_relation and field.many_to_one else field


def _fitted(field: Field | None, value: str | int) -> Any:
    """`value` as `field` holds it; Invalid (on `cursor`) when it cannot be."""
    if isinstance(value, str) and "\x00" in value:
        raise _not_ours()  # PostgreSQL refuses NUL in text; no cursor of ours holds one
    if field is None:
        return value
    if isinstance(field, (CharField, TextField)):
        if not isinstance(value, str):
            raise _not_ours()
        return value
    if isinstance(field, IntegerField):  # AutoFields too
        if not isinstance(value, int):
            raise _not_ours()
        low, high = connection.ops.integer_field_range(field.get_internal_type())
        if (low is not None and value < low) or (high is not None and value > high):
            raise _not_ours()
        return value
    if isinstance(field, UUIDField):
        if not isinstance(value, str):
            raise _not_ours()
        try:
            return UUID(value)
        except ValueError:
            raise _not_ours() from None
    try:
        return field.to_python(value)
    except ValidationError:
        raise _not_ours() from None


def _after(ordering: list[str], values: list[Any]) -> Q:
    # Keyset condition for (a, b, c) > (x, y, z), written with a leading a >= x
    # so that the database can seek the ordering index instead of scanning it.
    # A descending field ("-a") comes after when it is smaller.
    first, *rest = ordering
    beyond, reached = ("lt", "lte") if first.startswith("-") else ("gt", "gte")
    first = first.removeprefix("-")
    if not rest:
        return Q(**{f"{first}__{beyond}": values[0]})
    return Q(**{f"{first}__{reached}": values[0]}) & (
        Q(**{f"{first}__{beyond}": values[0]}) | (Q(**{first: values[0]}) & _after(rest, values[1:]))
    )


def _sql_after(columns: list[tuple[str, bool]], values: list[Any]) -> tuple[str, list[Any]]:
    # _after's condition in SQL: (column, descending) pairs.
    (column, descending), *rest = columns
    beyond, reached = ("<", "<=") if descending else (">", ">=")
    if not rest:
        return f"{column} {beyond} %s", [values[0]]
    inner, params = _sql_after(rest, values[1:])
    return (f"({column} {reached} %s AND ({column} {beyond} %s OR ({column} = %s AND {inner})))",
            [values[0]] * 3 + params)


def _attr(obj: Model, path: str) -> Any:
    value = obj
    for part in path.split("__"):
        value = getattr(value, part)
    return value
