"""Invariants of the materialized-path trees (organizations and customer groups)
and of the visibility scope, checked with hypothesis against naive models
computed in Python by walking `parent` links.

Each example runs inside its own transaction, rolled back at the end, so
examples never see each other's rows.
"""

from contextlib import contextmanager
from uuid import UUID

import pytest
from django.contrib.auth.models import Group
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clientbase.core.errors import Conflict
from clientbase.core.models import ids_in_path, subtree_q
from clientbase.customers.models import (
    Account, CustomerGroup, Grant, GrantLevel, Organization, Role,
)
from clientbase.customers.services.organizations import create_organization, move_organization
from clientbase.customers.services.trees import move_node

pytestmark = pytest.mark.django_db

SETTINGS = settings(max_examples=50, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])

# An operation is ("create", parent) or ("move", node, new_parent), where node
# and parent are indexes into the nodes created so far (taken modulo their
# number) and a parent of None means "a root".
node_index = st.integers(min_value=0, max_value=40)
parent_index = st.none() | node_index
operations = st.lists(
    st.one_of(
        st.tuples(st.just("create"), parent_index),
        st.tuples(st.just("move"), node_index, parent_index),
    ),
    min_size=1, max_size=25,
)


@contextmanager
def rolled_back():
    """Run the block in a transaction that is always rolled back."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def snapshot(model) -> dict[UUID, tuple]:
    """Every node of `model` as id -> (parent id, path, depth, version)."""
    return {pk: (parent, path, depth, version) for pk, parent, path, depth, version
            in model._default_manager.values_list("id", "parent_id", "path", "depth", "version")}


def ancestors_by_walking(parents: dict[UUID, UUID | None], node: UUID) -> list[UUID]:
    """The ancestors of `node`, root first, found by following parent links.
    Fails the test on a cycle instead of looping for ever."""
    chain: list[UUID] = []
    current = parents[node]
    while current is not None:
        assert current not in chain and current != node, f"cycle through {node}"
        chain.append(current)
        current = parents[current]
    return list(reversed(chain))


def subtree_by_walking(parents: dict[UUID, UUID | None], node: UUID) -> set[UUID]:
    return {other for other in parents
            if other == node or node in ancestors_by_walking(parents, other)}


def assert_tree_consistent(model) -> None:
    """path, depth and subtree_q of every node agree with the parent links."""
    rows = snapshot(model)
    parents = {pk: row[0] for pk, row in rows.items()}
    for pk, (_parent, path, depth, _version) in rows.items():
        ancestors = ancestors_by_walking(parents, pk)
        assert ids_in_path(path) == ancestors + [pk]
        assert depth == len(ancestors)
        from_path = set(model._default_manager.filter(subtree_q(path)).values_list("id", flat=True))
        assert from_path == subtree_by_walking(parents, pk)


def new_organization(parent, n: int) -> Organization:
    return create_organization(actor=None, name=f"Org {n}", key=f"ORG-{n}", parent=parent)


def new_group(parent, n: int) -> CustomerGroup:
    return CustomerGroup.objects.create(key=f"GROUP-{n}", name=f"Group {n}", parent=parent)


TREES = [
    pytest.param(Organization, new_organization,
                 lambda node, parent: move_organization(node, parent, actor=None), id="organizations"),
    pytest.param(CustomerGroup, new_group, move_node, id="customer-groups"),
]


@pytest.mark.parametrize(("model", "create", "move"), TREES)
@SETTINGS
@given(ops=operations)
def test_random_creates_and_moves_keep_every_path_depth_and_subtree_consistent(model, create, move, ops):
    with rolled_back():
        model._default_manager.all().delete()  # the transaction is this example's world
        nodes: list = []
        for op in ops:
            if op[0] == "create" or not nodes:
                parent_at = op[1] if op[0] == "create" else op[2]
                parent = nodes[parent_at % len(nodes)] if nodes and parent_at is not None else None
                nodes.append(create(parent, len(nodes)))
            else:
                _, node_at, parent_at = op
                node = nodes[node_at % len(nodes)]
                parent = nodes[parent_at % len(nodes)] if parent_at is not None else None
                before = snapshot(model)
                parents = {pk: row[0] for pk, row in before.items()}
                into_own_subtree = parent is not None and parent.pk in subtree_by_walking(parents, node.pk)
                if into_own_subtree:
                    # then: refused, and nothing at all changed
                    with pytest.raises(Conflict) as refused:
                        move(node, parent)
                    assert refused.value.errors[0].field == "parent"
                    assert snapshot(model) == before
                else:
                    moved = move(node, parent)
                    after = snapshot(model)
                    assert after[node.pk][0] == (parent.pk if parent else None)
                    unchanged_parent = before[node.pk][0] == after[node.pk][0]
                    assert after[node.pk][3] == before[node.pk][3] + (0 if unchanged_parent else 1)
                    assert moved.pk == node.pk
            # refresh the Python objects (a move rewrote paths in the database),
            # keeping their order: operations refer to nodes by position
            fresh = model._default_manager.in_bulk([n.pk for n in nodes])
            nodes = [fresh[n.pk] for n in nodes]
            assert_tree_consistent(model)


# --- visibility -------------------------------------------------------------

# A tree is a list of parent indexes (each one earlier in the list, or None); a
# grant is (holder, organization index, include_descendants, level), holder one
# of: the account itself, a role it holds, a role it does not hold.
HOLDERS = ["account", "own_role", "other_role"]
trees = st.lists(st.none() | st.integers(min_value=0, max_value=30), min_size=1, max_size=15)
grants = st.lists(
    st.tuples(st.sampled_from(HOLDERS), st.integers(min_value=0, max_value=30), st.booleans(),
              st.sampled_from([GrantLevel.VIEW, GrantLevel.MANAGE])),
    max_size=6,
)


def visible_by_walking(orgs: list[Organization], grant_rows: list[tuple], level: str) -> set[UUID]:
    """What the account should see, from the grants that apply to it."""
    parents = {o.pk: o.parent_id for o in orgs}
    levels = {GrantLevel.VIEW: {GrantLevel.VIEW, GrantLevel.MANAGE},
              GrantLevel.MANAGE: {GrantLevel.MANAGE}}[level]
    seen: set[UUID] = set()
    for holder, org, include_descendants, grant_level in grant_rows:
        if holder == "other_role" or grant_level not in levels:
            continue
        seen |= subtree_by_walking(parents, org.pk) if include_descendants else {org.pk}
    return seen


@SETTINGS
@given(tree=trees, grant_specs=grants)
def test_visible_organizations_are_exactly_those_a_grant_covers(tree, grant_specs):
    with rolled_back():
        Organization.objects.all().delete()
        orgs: list[Organization] = []
        for n, parent_at in enumerate(tree):
            parent = orgs[parent_at % len(orgs)] if orgs and parent_at is not None else None
            orgs.append(new_organization(parent, n))
        account = Account.objects.create_user(email="scoped@example.com", password=None,
                                              roles=[Role.CUSTOMER_SERVICE])
        own_role = Group.objects.get(name=Role.CUSTOMER_SERVICE)
        other_role = Group.objects.get(name=Role.MARKETING_MANAGERS)
        holders = {"account": {"account": account}, "own_role": {"role": own_role},
                   "other_role": {"role": other_role}}
        grant_rows, used = [], set()
        for holder, org_at, include_descendants, level in grant_specs:
            org = orgs[org_at % len(orgs)]
            if (holder, org.pk) in used:  # one grant per holder and organization
                continue
            used.add((holder, org.pk))
            Grant.objects.create(organization=org, include_descendants=include_descendants,
                                 level=level, **holders[holder])
            grant_rows.append((holder, org, include_descendants, level))

        for level in (GrantLevel.VIEW, GrantLevel.MANAGE):
            visible = set(Organization.objects.visible_to(account, level).values_list("id", flat=True))
            assert visible == visible_by_walking(orgs, grant_rows, level)


def test_visibility_follows_a_move_out_of_the_granted_subtree(db):
    # given: a grant on A (with descendants), and B below A
    with rolled_back():
        a = new_organization(None, 1)
        b = new_organization(a, 2)
        elsewhere = new_organization(None, 3)
        account = Account.objects.create_user(email="scoped@example.com", password=None)
        Grant.objects.create(account=account, organization=a, include_descendants=True)
        assert set(Organization.objects.visible_to(account)) == {a, b}
        # when: B moves out from under A
        move_organization(b, elsewhere, actor=None)
        # then: a fresh scope no longer covers B
        account = Account.objects.get(pk=account.pk)
        assert set(Organization.objects.visible_to(account)) == {a}
