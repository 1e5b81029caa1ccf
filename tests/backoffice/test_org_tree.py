"""The organization tree page and the organization page's panels: a level at
a time, counted, searched, units created and subtrees moved through the
services, and only what the staff member sees."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test.utils import CaptureQueriesContext
from django.db import connection
from django.urls import reverse

from clientbase.customers.models import Grant, Organization
from clientbase.customers.services.organizations import create_organization
from tests.backoffice.conftest import make_contact


def org(key: str) -> Organization:
    return Organization.objects.get(key=key)


def children_url(node: Organization) -> str:
    return reverse("admin:customers_organization_tree_children", args=[node.pk])


def create_url(node: Organization) -> str:
    return reverse("admin:customers_organization_tree_create", args=[node.pk])


def move_url(node: Organization) -> str:
    return reverse("admin:customers_organization_tree_move", args=[node.pk])


def change_url(node: Organization) -> str:
    return reverse("admin:customers_organization_change", args=[node.pk])


def shown(response) -> list[str]:
    """The names of the nodes a tree page or fragment shows, in order."""
    import re

    return re.findall(r'role="treeitem"[^>]*data-name="([^"]*)"', response.content.decode())


@pytest.fixture
def csr_manager(accounts):
    """The representative (manage grant on EU Headquarters) who may also add
    and change organizations."""
    accounts["csr"].user_permissions.add(
        *Permission.objects.filter(codename__in=["add_organization", "change_organization"]))
    return accounts["csr"]


def test_the_tree_page_shows_the_tops_only_with_their_counts(login, world, people):
    response = login("admin").get(reverse("admin:customers_organization_tree"))
    assert response.status_code == 200
    assert shown(response) == ["Administration", "US Headquarters"]
    # the children are not loaded yet: one level at a time
    assert "EU Headquarters" not in response.content.decode()


def test_expanding_a_node_loads_its_children_with_their_direct_contact_counts(login, world, people):
    response = login("admin").get(children_url(world["EU-HQ"]))
    assert response.status_code == 200
    assert shown(response) == ["EU Management"]
    assert 'data-member-count="1"' in response.content.decode()  # Ann


def test_a_representative_sees_only_its_branch(login, world):
    client = login("csr")
    assert shown(client.get(reverse("admin:customers_organization_tree"))) == ["EU Headquarters"]
    assert client.get(children_url(world["US-HQ"])).status_code == 404
    assert client.get(children_url(world["ADMIN"])).status_code == 404


def test_the_subtree_count_counts_each_visible_contact_once(login, world, people):
    # given Bob is in EU Management too
    people["bob"].organizations.add(world["EU-MGMT"])
    response = login("csr").get(reverse("admin:customers_organization_tree_count",
                                        args=[world["EU-HQ"].pk]))
    assert response.content.decode() == "2 in all"  # Ann and Bob


def test_a_search_opens_the_path_to_each_match(login, world):
    response = login("admin").get(reverse("admin:customers_organization_tree"), {"q": "eu man"})
    assert shown(response) == ["Administration", "EU Headquarters", "EU Management"]
    assert "US Headquarters" not in shown(response)
    assert response.context["highlight"] == {world["EU-MGMT"].pk}


def test_a_representative_s_search_finds_nothing_outside_its_branch(login, world):
    response = login("csr").get(reverse("admin:customers_organization_tree"), {"q": "US"})
    assert shown(response) == []
    assert "No organization you can see matches" in response.content.decode()


def test_a_search_starting_inside_a_branch_shows_the_branch_top_not_what_is_above(login, world):
    response = login("csr").get(reverse("admin:customers_organization_tree"), {"q": "EU Management"})
    assert shown(response) == ["EU Headquarters", "EU Management"]


def test_creating_a_unit_in_place_goes_through_the_service(login, world, csr_manager):
    # when
    response = login("csr").post(create_url(world["EU-MGMT"]), {"name": "Berlin desk", "kind": "unit"})
    # then
    assert response.status_code == 200
    created = Organization.objects.get(name="Berlin desk")
    assert created.parent_id == world["EU-MGMT"].pk
    assert created.path.startswith(world["EU-MGMT"].path)
    assert created.history.latest("history_date").history_user == csr_manager
    assert shown(response) == ["EU Management", "Berlin desk"]


def test_creating_a_unit_with_a_taken_key_shows_the_error_in_the_form(login, world):
    response = login("admin").post(create_url(world["EU-HQ"]), {"name": "Dup", "key": "US-HQ",
                                                                 "kind": "unit"})
    assert response.status_code == 200
    assert response.headers["HX-Retarget"] == f"#slot-{world['EU-HQ'].pk}"
    assert response.context["form"].errors["key"]
    assert not Organization.objects.filter(name="Dup").exists()


def test_creating_under_an_organization_only_viewed_is_refused_with_the_reason(login, world, csr_manager):
    # given the representative also views (only) US Headquarters
    Grant.objects.create(account=csr_manager, organization=world["US-HQ"], level="view")
    # when
    response = login("csr").post(create_url(world["US-HQ"]), {"name": "Sneaky", "kind": "unit"})
    # then
    assert "not manage it" in " ".join(response.context["form"].non_field_errors())
    assert not Organization.objects.filter(name="Sneaky").exists()


def test_a_move_in_the_picker_moves_the_subtree(login, world, csr_manager):
    berlin = create_organization(actor=None, name="Berlin", parent=world["EU-MGMT"])
    # when Berlin moves up under EU Headquarters
    response = login("csr").post(move_url(berlin), {"parent": world["EU-HQ"].pk,
                                                    "expected_version": berlin.version})
    # then
    assert response.status_code == 204
    assert response.headers["HX-Redirect"].endswith(f"?open={berlin.pk}")
    assert Organization.objects.get(pk=berlin.pk).parent_id == world["EU-HQ"].pk
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert messages == ["Moved Berlin under EU Headquarters."]


def test_a_move_into_its_own_subtree_shows_the_domain_s_refusal(login, world):
    before = {o.pk: o.path for o in Organization.objects.all()}
    response = login("admin").post(move_url(world["EU-HQ"]), {"parent": world["EU-MGMT"].pk})
    assert response.status_code == 200
    assert "one of its own descendants" in response.context["error"]
    assert "one of its own descendants" in response.content.decode()
    assert {o.pk: o.path for o in Organization.objects.all()} == before


@pytest.mark.parametrize("where, reason", [("top", "Only administrators"), ("US-HQ", "not manage")])
def test_a_move_outside_the_managed_branch_is_refused_with_the_reason(login, world, csr_manager,
                                                                      where, reason):
    # given the representative views (only) US Headquarters as well
    Grant.objects.create(account=csr_manager, organization=world["US-HQ"], level="view")
    parent = "" if where == "top" else world[where].pk
    response = login("csr").post(move_url(world["EU-MGMT"]), {"parent": parent})
    assert reason in response.context["error"]
    assert org("EU-MGMT").parent_id == world["EU-HQ"].pk


def test_a_move_of_an_invisible_organization_or_under_one_is_a_404(login, world, csr_manager):
    client = login("csr")
    assert client.post(move_url(world["US-SALES"]), {"parent": world["EU-HQ"].pk}).status_code == 404
    assert client.post(move_url(world["EU-MGMT"]), {"parent": world["US-HQ"].pk}).status_code == 404
    assert org("EU-MGMT").parent_id == world["EU-HQ"].pk


def test_the_picker_offers_the_visible_tree(login, world, csr_manager):
    response = login("csr").get(move_url(world["EU-MGMT"]))
    assert response.status_code == 200
    assert shown(response) == ["EU Headquarters"]


def test_a_representative_without_change_permission_gets_no_move_or_add_buttons(login, world):
    body = login("csr").get(reverse("admin:customers_organization_tree")).content.decode()
    assert "Add unit" not in body and ">Move<" not in body
    assert login("csr").post(move_url(world["EU-MGMT"]), {"parent": ""}).status_code == 403
    assert login("csr").post(create_url(world["EU-MGMT"]), {"name": "X"}).status_code == 403


def test_opening_a_node_shows_the_levels_down_to_it(login, world):
    response = login("admin").get(reverse("admin:customers_organization_tree"),
                                  {"open": world["EU-MGMT"].pk})
    assert shown(response) == ["Administration", "EU Headquarters", "EU Management", "US Headquarters"]


def test_opening_an_invisible_node_is_a_404(login, world):
    response = login("csr").get(reverse("admin:customers_organization_tree"),
                                {"open": world["US-HQ"].pk})
    assert response.status_code == 404


def add_children(parent: Organization, count: int, members: int = 0) -> None:
    for i in range(count):
        child = create_organization(actor=None, name=f"{parent.name} child {i:02}", parent=parent)
        create_organization(actor=None, name=f"{parent.name} grandchild {i:02}", parent=child)
        for j in range(members):
            make_contact(f"M{i}", f"Member{j}", child)


def queries(client, url, params=None) -> int:
    client.get(url, params or {})  # once before: Django's caches (content types) filled
    with CaptureQueriesContext(connection) as context:
        assert client.get(url, params or {}).status_code == 200
    return len(context.captured_queries)


@pytest.mark.parametrize("name", ["admin", "csr"])
def test_a_level_costs_the_same_queries_however_many_children(login, world, name):
    client = login(name)
    add_children(world["EU-MGMT"], 2, members=1)
    few = queries(client, children_url(world["EU-MGMT"]))
    add_children(world["EU-MGMT"], 20, members=2)
    assert queries(client, children_url(world["EU-MGMT"])) == few
    assert few <= 10


@pytest.mark.parametrize("name", ["admin", "csr"])
def test_the_organization_page_costs_the_same_queries_however_much_it_holds(login, world, accounts, name):
    client = login(name)
    eu_mgmt = world["EU-MGMT"]
    add_children(eu_mgmt, 2, members=1)
    few = queries(client, change_url(eu_mgmt))
    add_children(eu_mgmt, 20, members=3)
    for i in range(5):
        make_contact("Direct", f"Member{i}", eu_mgmt)
    Grant.objects.create(account=accounts["csr_nogrant"], organization=eu_mgmt, level="view")
    assert queries(client, change_url(eu_mgmt)) == few


def test_the_organization_page_lists_children_members_groups_and_covering_grants(login, world, people):
    # given
    world["EU-MGMT"].customer_groups.add(world["GOLD"])
    create_organization(actor=None, name="Berlin", parent=world["EU-MGMT"])
    # when
    response = login("admin").get(change_url(world["EU-MGMT"]))
    # then
    panels = response.context["org_panels"]
    assert [c.name for c in panels["children"]] == ["Berlin"]
    assert [c.first_name for c in panels["members"].page.items] == ["Ann"]
    assert [g.key for g in panels["groups"]] == ["GOLD"]
    # the representative's grant on EU Headquarters covers EU Management
    assert [(str(g.account), g.on_ancestor) for g in panels["grants"]] == [("csr@example.com", True)]
    body = response.content.decode()
    assert "through EU Headquarters and below" in body


def test_members_are_paginated_without_counting(login, world):
    for i in range(25):
        make_contact("Member", f"Number{i:02}", world["EU-MGMT"])
    client = login("admin")
    first = client.get(change_url(world["EU-MGMT"])).context["org_panels"]["members"]
    assert len(first.page.items) == 20 and first.next_url
    second = client.get(first.next_url)
    assert [c.last_name for c in second.context["members"].page.items] == [f"Number{i}" for i in range(20, 25)]
    assert second.context["members"].next_url is None


def test_a_representative_sees_only_its_branch_on_the_organization_page(login, world, accounts, people):
    # given a grant on Administration, which the representative does not see
    Grant.objects.create(account=accounts["csr_nogrant"], organization=world["ADMIN"], level="view")
    client = login("csr")
    response = client.get(change_url(world["EU-HQ"]))
    body = response.content.decode()
    assert "an organization you cannot see" in body  # the parent, Administration
    assert "Administration" not in body
    panels = response.context["org_panels"]
    assert [c.name for c in panels["children"]] == ["EU Management"]
    assert panels["grants"] is None  # the role may not view grants
    assert client.get(change_url(world["US-HQ"])).status_code == 404
    assert client.get(reverse("admin:customers_organization_members",
                              args=[world["US-HQ"].pk])).status_code == 404


def test_a_grant_to_an_account_the_viewer_cannot_see_is_shown_without_its_name(login, world, accounts):
    # given the representative may view grants, and a grant on EU Headquarters
    # goes to an account whose contact it does not see
    accounts["csr"].user_permissions.add(Permission.objects.get(codename="view_grant"))
    Grant.objects.create(account=accounts["csr_nogrant"], organization=world["EU-HQ"], level="view")
    Grant.objects.create(account=accounts["registered"], organization=world["ADMIN"], level="view")
    # when
    response = login("csr").get(change_url(world["EU-MGMT"]))
    # then
    body = response.content.decode()
    assert "an account you cannot see" in body
    assert "csr-nogrant@example.com" not in body
    assert "shopper@example.com" not in body  # its grant is on Administration, not seen
    assert len(response.context["org_panels"]["grants"]) == 2  # its own and the hidden one


def test_the_sidebar_and_the_organization_list_link_the_tree(login, world):
    client = login("csr")
    body = client.get(reverse("admin:customers_organization_changelist")).content.decode()
    button = reverse("admin:customers_organization_open_tree")
    assert button in body
    assert client.get(button).url == reverse("admin:customers_organization_tree")
    index = client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:customers_organization_tree") in index


@pytest.mark.parametrize("params", [{}, {"q": "EU"}], ids=["tops", "search"])
def test_the_tree_page_costs_the_same_queries_however_many_organizations(login, world, params):
    client = login("csr")
    add_children(world["EU-HQ"], 2, members=1)
    few = queries(client, reverse("admin:customers_organization_tree"), params)
    add_children(world["EU-HQ"], 20, members=2)
    for i in range(5):
        create_organization(actor=None, name=f"EU top {i}", parent=world["EU-HQ"])
    assert queries(client, reverse("admin:customers_organization_tree"), params) == few


def test_a_unit_created_past_the_first_page_of_a_long_level_is_shown_too(login, world, monkeypatch):
    monkeypatch.setattr("clientbase.backoffice.org_tree.LEVEL_SIZE", 2)
    add_children(world["EU-MGMT"], 3)
    response = login("admin").post(create_url(world["EU-MGMT"]), {"name": "Zurich desk", "kind": "unit"})
    assert shown(response)[-1] == "Zurich desk"
    assert "Show more" in response.content.decode()
