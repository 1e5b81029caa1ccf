"""Flat tree rows (one query for a subtree) turned into nested nodes."""

from collections.abc import Iterable, Mapping
from typing import Any


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
