"""core.pagination.Keyset in descending order, and over moments (an order
history pages newest first by creation time)."""

from datetime import timedelta

import pytest
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
