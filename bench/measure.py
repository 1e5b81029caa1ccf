"""Time the contact list and search as the API runs them, against hand-written SQL.

Every case runs an ORM callable and a hand-written SQL callable in alternation
(so that both see the same cache state and the same machine noise), checks
that both return the same contact ids in the same order, and reports p50/p95.
"""

from __future__ import annotations

import math
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from rich.progress import Progress

from clientbase.core.pagination import Keyset

# The contacts list order (clientbase.api.contacts.ORDERING), and its pages
# as the router runs them: plain for the list, late rows for a search.
ORDERING = ["search_last_name", "search_first_name", "id"]
PAGE = 50
PAGES = Keyset(*ORDERING)
SEARCH_PAGES = Keyset(*ORDERING, late_rows=True)


@dataclass
class Case:
    """One measured question, asked two ways: through the ORM (`orm`) and
    through plain SQL (`sql`) — or, for the tree cases, with the path range
    (`orm`) and with the alternative named by `labels[1]` (`sql`)."""

    name: str
    orm: Callable[[], list[uuid.UUID]]
    sql: Callable[[], list[uuid.UUID]] | None
    note: str = ""
    repetitions: int | None = None  # caps the run's count (slow cases)
    compare: str = "ordered"  # "ordered", "as sets", or "no" (writes)
    labels: tuple[str, str] = ("ORM", "SQL")  # what the two columns are


@dataclass
class Result:
    name: str
    rows: int
    orm_ms: list[float]
    sql_ms: list[float] = field(default_factory=list)
    note: str = ""
    labels: tuple[str, str] = ("ORM", "SQL")

    @staticmethod
    def p(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]

    @property
    def orm_p50(self) -> float:
        return statistics.median(self.orm_ms)

    @property
    def orm_p95(self) -> float:
        return self.p(self.orm_ms, 0.95)

    @property
    def sql_p50(self) -> float | None:
        return statistics.median(self.sql_ms) if self.sql_ms else None

    @property
    def sql_p95(self) -> float | None:
        return self.p(self.sql_ms, 0.95) if self.sql_ms else None

    @property
    def ratio(self) -> float | None:
        return self.orm_p50 / self.sql_p50 if self.sql_ms and self.sql_p50 else None


def _ids(values) -> list[uuid.UUID]:
    return [v if isinstance(v, uuid.UUID) else uuid.UUID(str(v)) for v in values]


def _db_uuid(value: uuid.UUID) -> Any:
    # Django keeps UUIDs as 32 hex digits on SQLite and as uuid on PostgreSQL.
    return value if connection.vendor == "postgresql" else value.hex


def api_queryset(account, q: str | None = None, prefetch: bool = False):
    """The contacts queryset of `GET /api/v1/contacts?q=…`, built the way
    `clientbase.api.contacts.list_contacts` builds it (which then
    pages it with `Keyset(..., late_rows=bool(q))`)."""
    from clientbase.customers.models import Contact

    qs = Contact.objects.visible_to(account).annotate(account_ref=F("account__id"))
    if prefetch:
        qs = qs.prefetch_related("organizations", "customer_groups", "addresses")
    return qs.search(q) if q else qs


class HandWritten:
    """The same pages written by hand in SQL, the way one would without an ORM."""

    def __init__(self):
        from clientbase.customers.models import Account, Contact, Organization

        qn = connection.ops.quote_name
        self.contact = qn(Contact._meta.db_table)
        self.account = qn(Account._meta.db_table)
        self.org = qn(Organization._meta.db_table)
        self.through = qn(Contact.organizations.through._meta.db_table)
        self.pg = connection.vendor == "postgresql"
        # The API shows the account's id only.
        self.select = (f"SELECT c.*, a.id FROM {self.contact} c "
                       f"LEFT JOIN {self.account} a ON a.contact_id = c.id ")
        self.order = " ORDER BY c.search_last_name, c.search_first_name, c.id LIMIT %s"

    def _visible_by_path(self) -> str:
        return (f"EXISTS (SELECT 1 FROM {self.through} m JOIN {self.org} o ON o.id = m.organization_id "
                f"WHERE m.contact_id = c.id AND o.path >= %s AND o.path < %s)")

    def _prefix(self, column: str) -> str:
        # PostgreSQL: LIKE served by the varchar_pattern_ops index; SQLite: the
        # equivalent half-open range served by the plain index (its LIKE is
        # case-insensitive and would not use it).
        return f"{column} LIKE %s" if self.pg else f"({column} >= %s AND {column} < %s)"

    def _prefix_params(self, term: str) -> list[str]:
        if self.pg:
            return [term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"]
        return [term, term + "\U0010ffff"]

    def _run(self, sql: str, params: list) -> list[uuid.UUID]:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return _ids(row[0] for row in cursor.fetchall())

    def page(self, root_path: str, after: tuple | None = None) -> list[uuid.UUID]:
        where, params = [self._visible_by_path()], [root_path, root_path + "~"]
        if after:
            where.append("(c.search_last_name, c.search_first_name, c.id) > (%s, %s, %s)")
            params += [after[0], after[1], _db_uuid(uuid.UUID(str(after[2])))]
        return self._run(self.select + "WHERE " + " AND ".join(where) + self.order,
                         [*params, PAGE + 1])[:PAGE]

    def search(self, root_path: str, term: str) -> list[uuid.UUID]:
        """The search page in the best shape found: the page's ids from the
        covering index first (index-only), then their rows."""
        folded = term.casefold()
        match = " OR ".join([self._prefix("c.search_first_name"), self._prefix("c.search_last_name"),
                             self._prefix("c.email"), "c.key = %s"])
        params = [*self._prefix_params(folded), *self._prefix_params(folded),
                  *self._prefix_params(term.lower()), term, root_path, root_path + "~"]
        ids = (f"SELECT c.id FROM {self.contact} c WHERE ({match}) AND {self._visible_by_path()}"
               + self.order)
        outer = self.select + f"WHERE c.id IN ({ids})" + self.order
        return self._run(outer, [*params, PAGE + 1, PAGE + 1])[:PAGE]

    def _subtree_cte(self) -> str:
        return (f"WITH RECURSIVE sub(id) AS (SELECT id FROM {self.org} WHERE id = %s "
                f"UNION ALL SELECT o.id FROM {self.org} o JOIN sub ON o.parent_id = sub.id) ")

    def page_by_cte(self, root_id: uuid.UUID) -> list[uuid.UUID]:
        """The first page with the subtree found by walking parent_id (what
        django-tree-queries or an adjacency list would do) instead of a path range."""
        sql = (self._subtree_cte() + self.select +
               f"WHERE EXISTS (SELECT 1 FROM {self.through} m WHERE m.contact_id = c.id "
               f"AND m.organization_id IN (SELECT id FROM sub))" + self.order)
        return self._run(sql, [_db_uuid(root_id), PAGE + 1])[:PAGE]

    def page_by_like(self, root_path: str) -> list[uuid.UUID]:
        """The first page with the subtree as `path LIKE 'prefix%'`, the query
        django-treebeard's materialized path runs for descendants."""
        visible = (f"EXISTS (SELECT 1 FROM {self.through} m JOIN {self.org} o ON o.id = m.organization_id "
                   f"WHERE m.contact_id = c.id AND o.path LIKE %s)")
        return self._run(self.select + "WHERE " + visible + self.order,
                         [root_path + "%", PAGE + 1])[:PAGE]

    def subtree_by_like(self, root_path: str) -> list[uuid.UUID]:
        return self._run(f"SELECT id FROM {self.org} WHERE path LIKE %s", [root_path + "%"])

    # PostgreSQL ltree, for comparison only: a column added to the bench
    # database's organization table (never to the application's schema).
    LTREE_COLUMN = "bench_lpath"

    def ensure_ltree(self) -> bool:
        """Add and fill the ltree column and its GiST index once; False when
        the extension is not available."""
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'ltree'")
            if not cursor.fetchone():
                return False
            cursor.execute("CREATE EXTENSION IF NOT EXISTS ltree")
            cursor.execute("SELECT 1 FROM information_schema.columns WHERE table_name = %s "
                           "AND column_name = %s", [self.org.strip('"'), self.LTREE_COLUMN])
            if not cursor.fetchone():
                if connection.in_atomic_block:
                    # Inside a test's transaction: fire the deferred foreign-key
                    # checks first, ALTER TABLE refuses to run with them pending.
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(f"ALTER TABLE {self.org} ADD COLUMN {self.LTREE_COLUMN} ltree")
                cursor.execute(f"UPDATE {self.org} SET {self.LTREE_COLUMN} = "
                               f"text2ltree(replace(rtrim(path, '/'), '/', '.'))")
                cursor.execute(f"CREATE INDEX bench_lpath_gist ON {self.org} "
                               f"USING gist ({self.LTREE_COLUMN})")
                if not connection.in_atomic_block:
                    cursor.execute(f"VACUUM ANALYZE {self.org}")
                else:
                    cursor.execute(f"ANALYZE {self.org}")
        return True

    @staticmethod
    def _lquery(root_path: str) -> str:
        return root_path.rstrip("/").replace("/", ".")

    def subtree_by_ltree(self, root_path: str) -> list[uuid.UUID]:
        return self._run(f"SELECT id FROM {self.org} WHERE {self.LTREE_COLUMN} <@ %s::ltree",
                         [self._lquery(root_path)])

    def page_by_ltree(self, root_path: str) -> list[uuid.UUID]:
        visible = (f"EXISTS (SELECT 1 FROM {self.through} m JOIN {self.org} o ON o.id = m.organization_id "
                   f"WHERE m.contact_id = c.id AND o.{self.LTREE_COLUMN} <@ %s::ltree)")
        return self._run(self.select + "WHERE " + visible + self.order,
                         [self._lquery(root_path), PAGE + 1])[:PAGE]

    def subtree_by_path(self, root_path: str) -> list[uuid.UUID]:
        return self._run(f"SELECT id FROM {self.org} WHERE path >= %s AND path < %s",
                         [root_path, root_path + "~"])

    def subtree_by_cte(self, root_id: uuid.UUID) -> list[uuid.UUID]:
        return self._run(self._subtree_cte() + "SELECT id FROM sub", [_db_uuid(root_id)])

    def move_by_path(self, root_path: str, new_parent_path: str) -> list:
        """Rewrite a subtree's paths as `move_node` does (one UPDATE), then roll
        back; returns one entry per row rewritten."""
        with transaction.atomic():
            with connection.cursor() as cursor:
                new_root = new_parent_path + root_path[-33:]
                delta = new_root.count("/") - root_path.count("/")
                cursor.execute(
                    f"UPDATE {self.org} SET path = %s || substr(path, %s), depth = depth + %s "
                    f"WHERE path >= %s AND path < %s",
                    [new_root, len(root_path) + 1, delta, root_path, root_path + "~"])
                count = cursor.rowcount
            transaction.set_rollback(True)
        return [root_path] * count

    def move_by_parent(self, root_id: uuid.UUID, new_parent_id: uuid.UUID) -> list:
        """The same move in an adjacency list: one row changes. Rolled back;
        returns one entry per row changed."""
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"UPDATE {self.org} SET parent_id = %s WHERE id = %s",
                               [_db_uuid(new_parent_id), _db_uuid(root_id)])
                count = cursor.rowcount
            transaction.set_rollback(True)
        return [root_id] * count


CTE = ("path", "CTE")
LIKE = ("range", "LIKE")
LTREE = ("path", "ltree")


def build_cases(account, root_id: uuid.UUID, root_path: str, term: str,
                with_tree: bool = True) -> list[Case]:
    """The cases of one run. `account` is the scoped account; its organization
    scope is resolved once (the API does that once per request, in one small
    query, before the page query)."""
    from clientbase.customers.models import Account, Organization
    from clientbase.customers.models.visibility import contact_scope, forget_scopes

    sql = HandWritten()
    contact_scope(account)  # resolve and cache the scope, as a request does first

    def orm_page(cursor=None, q=None, prefetch=False, late_rows=False):
        page = (SEARCH_PAGES if late_rows else PAGES).page(api_queryset(account, q, prefetch),
                                                           limit=PAGE, cursor=cursor)
        return page.items, page.next_cursor

    _, cursor2 = orm_page()
    after = tuple(PAGES.values(cursor2)) if cursor2 else None

    def fresh_account_page():
        # What one request costs end to end in the database: the account's
        # roles and permissions, its grants, then the page.
        fresh = Account.objects.get(pk=account.pk)
        forget_scopes(fresh)
        return [c.pk for c in PAGES.page(api_queryset(fresh), limit=PAGE).items]

    cases = [
        Case("list page 1", lambda: [c.pk for c in orm_page()[0]], lambda: sql.page(root_path)),
        Case("list page 2 (cursor)", lambda: [c.pk for c in orm_page(cursor2)[0]],
             lambda: sql.page(root_path, after)),
        # The contacts router pages a search with late_rows=True; the plain
        # shape stays as the "before" of docs/benchmarks.md.
        Case(f"search q={term!r} page 1", lambda: [c.pk for c in orm_page(q=term, late_rows=True)[0]],
             lambda: sql.search(root_path, term), note="as the API runs it: Keyset(late_rows=True)"),
        Case(f"search q={term!r} page 1, plain",
             lambda: [c.pk for c in orm_page(q=term)[0]],
             lambda: sql.search(root_path, term), note="Keyset without late_rows (before)"),
        Case("list page 1 + API prefetches", lambda: [c.pk for c in orm_page(prefetch=True)[0]],
             None, note="4 queries: page, organizations, groups, addresses"),
        Case("list page 1 + scope resolution", fresh_account_page, None,
             note="fresh account: roles, permissions, grants, page"),
    ]
    if with_tree:
        other_root = (Organization.objects.filter(parent__isnull=True).exclude(pk=root_id)
                      .values_list("path", "id").first())
        cases += [
            Case("tree: subtree ids", lambda: sql.subtree_by_path(root_path),
                 lambda: sql.subtree_by_cte(root_id), note="all ids of the granted subtree",
                 compare="as sets", labels=CTE),
            Case("tree: list page 1", lambda: sql.page(root_path),
                 lambda: sql.page_by_cte(root_id), note="hand-written SQL both", labels=CTE),
        ]
        if other_root:
            cases.append(Case(
                "tree: move granted subtree",
                lambda: sql.move_by_path(root_path, other_root[0]),
                lambda: sql.move_by_parent(root_id, other_root[1]),
                note="path: one UPDATE of every path; CTE: one parent_id; rolled back; rows = paths rewritten",
                repetitions=10, compare="no", labels=CTE))
        cases.append(Case(
            "tree: subtree ids, LIKE", lambda: sql.subtree_by_path(root_path),
            lambda: sql.subtree_by_like(root_path), compare="as sets", labels=LIKE,
            note="subtree as path LIKE 'prefix%' (django-treebeard MP's query)"))
        cases.append(Case(
            "tree: list page 1, LIKE", lambda: sql.page(root_path),
            lambda: sql.page_by_like(root_path),
            note="subtree as path LIKE 'prefix%' (django-treebeard MP's query)", labels=LIKE))
        if connection.vendor == "postgresql" and sql.ensure_ltree():
            cases += [
                Case("tree: subtree ids, ltree", lambda: sql.subtree_by_path(root_path),
                     lambda: sql.subtree_by_ltree(root_path), compare="as sets", labels=LTREE,
                     note="ltree <@ with a GiST index"),
                Case("tree: list page 1, ltree", lambda: sql.page(root_path),
                     lambda: sql.page_by_ltree(root_path), labels=LTREE,
                     note="ltree <@ with a GiST index"),
            ]
    return cases


def run(cases: list[Case], repetitions: int, warmup: int,
        progress: Progress | None = None) -> list[Result]:
    """Time each case; raises AssertionError when ORM and SQL disagree."""
    results = []
    for case in cases:
        n = min(repetitions, case.repetitions or repetitions)
        task = progress.add_task(case.name[:22], total=n + warmup) if progress else None
        orm_ms, sql_ms = [], []
        orm_ids = case.orm()
        if case.sql is not None and case.compare != "no":
            sql_ids = case.sql()
            if case.compare == "as sets":
                orm_ids, sql_ids = sorted(orm_ids), sorted(sql_ids)
            assert orm_ids == sql_ids, f"{case.name}: the two ways disagree"
        for i in range(warmup + n):
            t0 = time.perf_counter()
            case.orm()
            t1 = time.perf_counter()
            if case.sql is not None:
                case.sql()
            t2 = time.perf_counter()
            if i >= warmup:
                orm_ms.append((t1 - t0) * 1000)
                if case.sql is not None:
                    sql_ms.append((t2 - t1) * 1000)
            if task is not None:
                progress.advance(task)
        if case.compare == "no":
            _vacuum()
        rows = len(orm_ids)
        results.append(Result(case.name, rows, orm_ms, sql_ms, case.note, case.labels))
    return results


def _vacuum() -> None:
    # A rolled-back UPDATE leaves its new row versions behind as dead tuples;
    # ten moves of a 10,000-node subtree would slow every later tree lookup
    # until autovacuum came by.
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        from clientbase.customers.models import Organization

        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM {connection.ops.quote_name(Organization._meta.db_table)}")


def explain(account, root_path: str, term: str) -> dict[str, str]:
    """The plans of the ORM's page queries (EXPLAIN ANALYZE on PostgreSQL,
    EXPLAIN QUERY PLAN on SQLite)."""
    options = {"analyze": True, "buffers": True} if connection.vendor == "postgresql" else {}
    cursor2 = PAGES.page(api_queryset(account), limit=PAGE).next_cursor
    plans = {
        "list page 1": PAGES.query(api_queryset(account), limit=PAGE),
        "search page 1 (late rows, as the API runs it)": SEARCH_PAGES.query(api_queryset(account, term),
                                                                            limit=PAGE),
        "search page 1, plain (before)": PAGES.query(api_queryset(account, term), limit=PAGE),
    }
    if cursor2:
        plans["list page 2"] = PAGES.query(api_queryset(account), limit=PAGE, cursor=cursor2)
    return {name: qs.explain(**options) for name, qs in plans.items()}
