"""How many rows a back-office page says a list has, without counting a
million contacts on every load.

A count is exact up to `CAP` rows; beyond, it is "10,000+" (the database
stops at the cap), or — when the list is the whole table, on PostgreSQL —
the planner's estimate (pg_class.reltuples, kept by autovacuum/ANALYZE),
shown as "about 1,000,000". A scoped list is never estimated from the whole
table: that would tell a staff member how many rows it cannot see.
"""

from dataclasses import dataclass

from django.db import connections
from django.db.models import QuerySet

CAP = 10_000


@dataclass(frozen=True)
class ShownCount:
    value: int
    kind: str = "exact"  # "exact", "at_least" (capped) or "estimate"

    def __str__(self) -> str:
        if self.kind == "at_least":
            return f"{self.value:,}+"
        if self.kind == "estimate":
            return f"about {self.value:,}"
        return f"{self.value:,}"


def shown_count(queryset: QuerySet, *, whole_table: bool = False, cap: int | None = None) -> ShownCount:
    """The number of rows of `queryset`, exact up to `cap`.

    `whole_table`: the queryset is every row of its table (the caller sees
    everything, no filter), so that on PostgreSQL a big table is estimated
    from its statistics instead of counted.
    """
    cap = CAP if cap is None else cap
    if whole_table:
        estimate = _table_estimate(queryset)
        if estimate is not None and estimate > cap:
            return ShownCount(estimate, "estimate")
    counted = queryset.order_by()[: cap + 1].count()
    return ShownCount(cap, "at_least") if counted > cap else ShownCount(counted)


def _table_estimate(queryset: QuerySet) -> int | None:
    """The planner's row estimate of the queryset's table (PostgreSQL), or
    None where there is none (another database, a never-analyzed table)."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                       [connection.ops.quote_name(queryset.model._meta.db_table)])
        row = cursor.fetchone()
    return row[0] if row and row[0] is not None and row[0] >= 0 else None
