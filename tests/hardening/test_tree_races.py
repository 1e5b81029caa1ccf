"""Issue 8, finding 4: trees stay trees under concurrency. Moves and creates
racing on one tree must leave every path right (checked by the same
`path_problems` that `clientbase check-trees` runs), never deadlock into a
500, and never form a cycle. PostgreSQL only: SQLite runs one writer at a
time anyway. Bounded: a few rounds each, every thread joined."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from clientbase.core.trees import path_problems
from clientbase.customers.models import CustomerGroup, Organization
from clientbase.customers.services.organizations import create_organization
from tests.conftest import in_parallel

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers"),
    pytest.mark.django_db(transaction=True),
]
ROUNDS = 6


def org(name: str, parent=None) -> Organization:
    return create_organization(actor=None, name=name, key=name, parent=parent)


@pytest.fixture
def forest(db):
    """Z > Y; X and W are roots."""
    z = org("Z")
    return {"Z": z, "Y": org("Y", z), "X": org("X"), "W": org("W")}


def test_a_move_under_a_node_whose_ancestor_moves_keeps_every_path_right(caller, forest):
    api_one, api_two = caller("admin"), caller("admin")
    for round_ in range(ROUNDS):
        # when X moves under Y while Y's ancestor Z moves under W (and back)
        target = "W" if round_ % 2 == 0 else None
        responses = in_parallel(
            lambda: api_one.post("/organizations/X/move", {"parent": "Y"}),
            lambda: api_two.post("/organizations/Z/move", {"parent": target}),
        )
        # then both succeed and the tree is sound
        assert [r.status_code for r in responses] == [200, 200], [r.content for r in responses]
        assert path_problems(Organization) == []
        # put X back at the top for the next round
        assert api_one.post("/organizations/X/move", {"parent": None}).status_code == 200


def test_a_child_created_while_its_parents_ancestor_moves_gets_the_right_path(caller, forest):
    api_one, api_two = caller("admin"), caller("admin")
    for round_ in range(ROUNDS):
        target = "W" if round_ % 2 == 0 else None
        responses = in_parallel(
            lambda: api_one.post("/organizations", {"name": f"Child {round_}", "parent": "Y"}),
            lambda: api_two.post("/organizations/Z/move", {"parent": target}),
        )
        assert [r.status_code for r in responses] == [201, 200], [r.content for r in responses]
        assert path_problems(Organization) == []


def test_opposite_moves_give_one_move_and_one_409_never_a_500_nor_a_cycle(caller, forest):
    api_one, api_two = caller("admin"), caller("admin")
    for _ in range(ROUNDS):
        responses = in_parallel(
            lambda: api_one.post("/organizations/X/move", {"parent": "W"}),
            lambda: api_two.post("/organizations/W/move", {"parent": "X"}),
        )
        assert sorted(r.status_code for r in responses) == [200, 409], [r.content for r in responses]
        assert path_problems(Organization) == []
        # back to two roots
        for key in ("X", "W"):
            assert api_one.post(f"/organizations/{key}/move", {"parent": None}).status_code == 200


def test_customer_group_moves_race_safely_too(caller, db):
    top = CustomerGroup.objects.create(key="TOP", name="Top")
    mid = CustomerGroup.objects.create(key="MID", name="Mid", parent=top)
    CustomerGroup.objects.create(key="LEAF", name="Leaf")
    CustomerGroup.objects.create(key="ELSEWHERE", name="Elsewhere")
    api_one, api_two = caller("admin"), caller("admin")
    for round_ in range(ROUNDS):
        target = "ELSEWHERE" if round_ % 2 == 0 else None
        responses = in_parallel(
            lambda: api_one.patch("/customer-groups/LEAF", {"parent": mid.key}),
            lambda: api_two.patch("/customer-groups/TOP", {"parent": target}),
        )
        assert [r.status_code for r in responses] == [200, 200], [r.content for r in responses]
        assert path_problems(CustomerGroup) == []
        assert api_one.patch("/customer-groups/LEAF", {"parent": None}).status_code == 200


def test_check_trees_reports_a_broken_path_and_fails(forest, capsys):
    # given a path gone stale behind the services' back
    Organization.objects.filter(pk=forest["Y"].pk).update(path=forest["X"].path + forest["Y"].pk.hex + "/")
    # when / then
    with pytest.raises(CommandError) as failure:
        call_command("check-trees")
    assert failure.value.returncode == 1
    assert "should be" in capsys.readouterr().err
