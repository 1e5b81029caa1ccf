"""Trees kept as materialized paths: the lock that keeps their shape
consistent under concurrent writers, flat rows turned into nested nodes, and
the check that every path is right (`clientbase check-trees`)."""

import zlib
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import connections, router

def path_for(node_id, parent_path: str = "") -> str:
    """A node's materialized path: its parent's path and its own id (see
    `clientbase.core.models.TreeNode`)."""
    return f"{parent_path}{node_id.hex}/"


# The first key of the advisory locks clientbase takes ("cb" in ASCII).
_LOCK_NAMESPACE = 0x6362


def lock_tree(model) -> None:
    """Hold the lock on the shape of `model`'s tree until the transaction ends.

    Every write that computes a path from another node's path — a move, the
    creation of a child — takes it first, before any row lock, and reads the
    paths it builds on only after: one writer at a time per tree, all in the
    same order, so no path is computed from a stale one and two moves cannot
    deadlock. Renames and other writes that leave the shape alone don't take
    it. On PostgreSQL it is a transaction-level advisory lock; SQLite already
    runs one writing transaction at a time. Must be called inside a
    transaction (the services are atomic).
    """
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        return
    if not connection.in_atomic_block:
        raise RuntimeError("lock_tree() outside a transaction would be released at once")
    key = zlib.crc32(model._meta.db_table.encode()) - 2**31  # into PostgreSQL's int4
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, key])


def nest(rows: Iterable[Mapping[str, Any]], root_id: Any) -> dict[str, Any] | None:
    """The row whose "id" is `root_id`, as a dict with "children": the rows
    whose "parent_id" is its id, each nested the same way, in the order of
    `rows`. None when `root_id` is not among the rows.

    A row whose parent is not among the rows (outside the subtree, or one the
    caller may not see) is left out, and its descendants with it.
    """
    nodes = {row["id"]: {**row, "children": []} for row in rows}
    for node_id, node in nodes.items():
        if node_id != root_id and node["parent_id"] in nodes:
            nodes[node["parent_id"]]["children"].append(node)
    return nodes.get(root_id)


def path_problems(model) -> list[str]:
    """What is wrong with the materialized paths of `model`'s tree (a
    TreeNode), one line per node: each path must be its parent's path plus
    its own id, and its depth the number of its ancestors. Empty when the
    tree is sound. One query; the tree is walked in memory."""
    rows = {pk: (parent_id, path, depth)
            for pk, parent_id, path, depth in model._default_manager.values_list(
                "pk", "parent_id", "path", "depth").iterator(chunk_size=10_000)}
    expected: dict[Any, str | None] = {}
    problems: list[str] = []

    def expected_path(pk) -> str | None:
        # Iterative, root first: trees may be deep and a broken one may loop.
        chain, seen = [], set()
        while pk is not None and pk not in expected:
            if pk in seen or pk not in rows:
                for member in chain:
                    expected[member] = None
                return None
            seen.add(pk)
            chain.append(pk)
            pk = rows[pk][0]
        parent_path = "" if pk is None else expected[pk]
        for member in reversed(chain):
            parent_path = None if parent_path is None else path_for(member, parent_path)
            expected[member] = parent_path
        return expected[chain[0]] if chain else parent_path

    label = model._meta.verbose_name
    for pk, (parent_id, path, depth) in rows.items():
        want = expected_path(pk)
        if want is None:
            problems.append(f"{label} {pk}: its parent chain is broken (a cycle or a missing parent)")
        elif path != want:
            problems.append(f"{label} {pk}: path {path!r} should be {want!r}")
        elif depth != want.count("/") - 1:
            problems.append(f"{label} {pk}: depth {depth} should be {want.count('/') - 1}")
    return problems
