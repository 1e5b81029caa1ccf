"""core.trees.nest: flat subtree rows into nested nodes."""

from clientbase.core.trees import nest


def row(node_id, parent_id=None, name=""):
    return {"id": node_id, "parent_id": parent_id, "name": name or node_id}


def test_children_are_linked_below_their_parents_in_the_rows_order():
    rows = [row("root"), row("b", "root"), row("a", "root"), row("b1", "b")]
    tree = nest(rows, "root")
    assert [c["id"] for c in tree["children"]] == ["b", "a"]
    assert [c["id"] for c in tree["children"][0]["children"]] == ["b1"]
    assert tree["children"][1]["children"] == []


def test_the_root_may_have_a_parent_outside_the_rows():
    tree = nest([row("sub", "outside"), row("leaf", "sub")], "sub")
    assert tree["parent_id"] == "outside" and [c["id"] for c in tree["children"]] == ["leaf"]


def test_a_row_whose_parent_is_missing_is_left_out_with_its_subtree():
    rows = [row("root"), row("orphan", "hidden"), row("orphan-child", "orphan")]
    assert nest(rows, "root")["children"] == []


def test_a_root_that_is_not_among_the_rows_gives_none():
    assert nest([row("a")], "b") is None
