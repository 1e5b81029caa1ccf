"""Tree operations shared by organizations and customer groups."""

from django.db import transaction
from django.db.models import F, Max, Value
from django.db.models.functions import Concat, Substr

from clientbase.core.errors import Conflict, Invalid
from clientbase.core.models import MAX_TREE_DEPTH, TreeNode, subtree_q
from clientbase.core.trees import lock_tree, path_for


def check_parent(node: TreeNode | None, parent: TreeNode | None, field: str = "parent") -> None:
    """Refuse a parent that would make a cycle or a tree too deep."""
    if parent is None:
        return
    if node is not None and not node._state.adding:
        if parent.pk == node.pk or parent.path.startswith(node.path):
            raise Conflict.on(
                field,
                f"Cannot move {node} under {parent}: it is {'itself' if parent.pk == node.pk else 'one of its own descendants'}.",
                code="cycle",
            )
    if parent.depth + 1 >= MAX_TREE_DEPTH:
        raise Invalid.on(field, f"Trees are at most {MAX_TREE_DEPTH} levels deep.", code="too_deep")


@transaction.atomic
def move_node(node: TreeNode, new_parent: TreeNode | None, *, locked: bool = False) -> TreeNode:
    """Move `node` and its whole subtree under `new_parent` (None: make it a root).

    One UPDATE rewrites the paths of the subtree, so the move is atomic and its
    cost does not depend on the tree's shape. `locked=True` says the caller
    has already taken the tree's lock and then locked `node`'s row (and read
    it under that lock); otherwise both are done here. Returns the node.
    """
    model = type(node)
    # The tree's lock first (a caller that locked `node` itself took it
    # before: see core.trees.lock_tree), then the rows not locked yet, read
    # again: a move that committed meanwhile may have changed either path.
    if not locked:
        lock_tree(model)
    ids = ([] if locked else [node.pk]) + ([new_parent.pk] if new_parent is not None else [])
    rows = {n.pk: n for n in model._default_manager.select_for_update().filter(pk__in=ids)} if ids else {}
    node = node if locked else rows[node.pk]
    new_parent = rows[new_parent.pk] if new_parent is not None else None
    check_parent(node, new_parent)
    if node.parent_id == (new_parent.pk if new_parent else None):
        return node

    old_path = node.path
    new_path = path_for(node.pk, new_parent.path if new_parent else "")
    depth_delta = (new_parent.depth + 1 if new_parent else 0) - node.depth
    subtree = model._default_manager.filter(subtree_q(old_path))
    if depth_delta > 0:
        # Only a move downwards can make the tree too deep.
        deepest = subtree.aggregate(deepest=Max("depth"))["deepest"]
        if deepest + depth_delta >= MAX_TREE_DEPTH:
            raise Invalid.on("parent", f"Trees are at most {MAX_TREE_DEPTH} levels deep.", code="too_deep")

    # The node's own row is in the subtree: the UPDATE leaves its path and
    # depth as computed here, and save() below writes the same values.
    subtree.exclude(pk=node.pk).update(
        path=Concat(Value(new_path), Substr("path", len(old_path) + 1)),
        depth=F("depth") + depth_delta,
    )
    # Now change the node itself through save() so that the version moves on
    # and the history records who moved it.
    node.path, node.depth = new_path, node.depth + depth_delta
    node.parent = new_parent
    node._change_reason = f"moved under {new_parent}" if new_parent else "moved to the top"
    node.save(update_fields=["parent", "path", "depth"])
    return node


def parents_first(items: list[tuple[str | None, str | None]]) -> list[int]:
    """The indices of `items` — (key, parent key) pairs, as an import's rows
    name them — in an order where an item whose parent is another item comes
    after that item; items whose parents form a cycle come last, in file
    order (their parents are then unknown, which fails them)."""
    order: list[int] = []
    waiting = list(range(len(items)))
    while waiting:
        keys = {items[i][0] for i in waiting if items[i][0]}
        ready = [i for i in waiting if not (items[i][1] in keys and items[i][1] != items[i][0])]
        if not ready:
            ready = waiting
        order += ready
        placed = set(ready)
        waiting = [i for i in waiting if i not in placed]
    return order
