"""core.pagination.Keyset in descending order, and over moments (an order
history pages newest first by creation time)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from clientbase.catalog.models import Market
from clientbase.core.errors import Invalid
from clientbase.core.pagination import Keyset, encode_cursor


@pytest.fixture
def markets(db):
    now = timezone.now()
    made = [Market.objects.create(key=key, name=key, currencies=["EUR"], default_currency="EUR")
            for key in ("A", "B", "C", "D", "E")]
    for n, market in enumerate(made):  # A oldest ... E newest; B and C at one moment
        Market.objects.filter(pk=market.pk).update(created_at=now + timedelta(minutes=min(n, 1) + max(n - 2, 0)))
    return made


def all_pages(keyset: Keyset, limit: int) -> list[str]:
    seen, cursor = [], None
    while True:
        page = keyset.page(Market.objects.all(), limit=limit, cursor=cursor)
        seen += [m.key for m in page.items]
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


@pytest.mark.parametrize("limit", [1, 2, 4])
def test_a_descending_ordering_pages_every_row_once_in_its_order(markets, limit):
    assert all_pages(Keyset("-key", "-id"), limit) == ["E", "D", "C", "B", "A"]


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_pages_by_moment_newest_first_keep_ties_apart_by_the_last_field(markets, limit):
    expected = [m.key for m in Market.objects.order_by("-created_at", "-id")]
    assert all_pages(Keyset("-created_at", "-id"), limit) == expected
    assert expected[0] == "E" and expected[-1] == "A"


def test_a_moment_cursor_that_is_no_moment_is_refused(markets):
    with pytest.raises(Invalid):
        Keyset("-created_at", "-id").page(Market.objects.all(), cursor=encode_cursor(["not a moment",
                                                                                       str(markets[0].pk)]))


# --- sql_after: the condition for a statement written by hand ----------------------


def test_sql_after_is_a_row_comparison_when_every_field_sorts_one_way():
    assert Keyset("name", "id").sql_after(["p.name", "p.id"], ["x", 1]) == ("(p.name, p.id) > (%s, %s)", ["x", 1])
    assert Keyset("-key", "-id").sql_after(["k", "i"], ["x", 1]) == ("(k, i) < (%s, %s)", ["x", 1])
    assert Keyset("id").sql_after(["i"], [1]) == ("i > %s", [1])


def test_sql_after_expands_mixed_directions():
    assert Keyset("-at", "id").sql_after(["a", "i"], ["t", 1]) == (
        "(a <= %s AND (a < %s OR (a = %s AND i > %s)))", ["t", "t", "t", 1])


@pytest.mark.parametrize("ordering", [("key", "id"), ("-key", "-id"), ("-created_at", "-id"),
                                      ("-created_at", "id"), ("created_at", "-id"), ("created_at", "id")])
def test_sql_after_finds_the_rows_the_orm_s_after_finds(markets, ordering):
    """After every row as the cursor, ties of created_at (B and C) included."""
    keyset = Keyset(*ordering)
    fields = [Market._meta.get_field(path.removeprefix("-")) for path in ordering]
    table = connection.ops.quote_name(Market._meta.db_table)
    for market in markets:
        cursor = keyset.cursor_of(market)
        values = [f.get_db_prep_value(v, connection) for f, v in zip(fields, keyset.values(cursor, Market))]
        condition, params = keyset.sql_after([f"m.{f.column}" for f in fields], values)
        with connection.cursor() as db:
            db.execute(f"SELECT m.key FROM {table} m WHERE {condition}", params)
            found = sorted(key for key, in db.fetchall())
        assert found == sorted(Market.objects.filter(keyset.after(cursor, Market)).values_list("key", flat=True))
