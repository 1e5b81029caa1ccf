"""Customer-group pages: the list with direct and effective member counts
(grouped queries, not one per group), the group's place in the tree, its
members a page at a time, and the price rows that name it — only what the
staff member sees."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clientbase.customers.models import CustomerGroup
from tests.backoffice.conftest import make_contact
from tests.pricing.conftest import catalog, price  # noqa: F401 - fixtures

LIST = "admin:customers_customergroup_changelist"


def change_url(group) -> str:
    return reverse("admin:customers_customergroup_change", args=[group.pk])


def members_url(group) -> str:
    return reverse("admin:customers_customergroup_members", args=[group.pk])


@pytest.fixture
def tiers(world, people):
    """Ann is Gold herself; US Headquarters is Gold (Carl, in US Sales, is
    Gold through it); EU Headquarters is Silver (Ann and Bob)."""
    people["ann"].customer_groups.add(world["GOLD"])
    world["US-HQ"].customer_groups.add(world["GOLD"])
    world["EU-HQ"].customer_groups.add(world["SILVER"])
    return people


def counts_of(response) -> dict[str, tuple[int, int, int]]:
    return {g.key: (g.member_counts.direct, g.member_counts.effective, g.member_counts.organizations)
            for g in response.context["cl"].result_list}


def test_the_group_list_counts_direct_and_effective_members(login, tiers):
    response = login("admin").get(reverse(LIST))
    assert response.status_code == 200
    assert counts_of(response) == {
        "CUSTOMERS": (0, 3, 0), "GOLD": (1, 2, 1), "SILVER": (0, 2, 1), "BRONZE": (0, 0, 0)}


def test_the_group_list_counts_only_what_the_representative_sees(login, tiers):
    response = login("csr").get(reverse(LIST))
    assert counts_of(response) == {
        "CUSTOMERS": (0, 2, 0), "GOLD": (1, 1, 0), "SILVER": (0, 2, 1), "BRONZE": (0, 0, 0)}


def test_the_group_list_costs_the_same_queries_for_4_and_40_groups(login, tiers, world):
    client = login("csr")

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse(LIST)).status_code == 200
        return len(ctx.captured_queries)

    few = queries()
    for i in range(36):
        group = CustomerGroup.objects.create(key=f"G{i}", name=f"G{i}", parent=world["GOLD"])
        make_contact(f"M{i}", "Member", world["EU-HQ"]).customer_groups.add(group)
    assert queries() == few


def test_the_group_page_shows_its_tree_and_member_counts(login, tiers, world):
    page = login("admin").get(change_url(world["GOLD"])).content.decode()
    assert "Customers</a> › <strong>Gold</strong>" in page
    assert "?effective_group=GOLD" in page and "?customer_group=GOLD" in page
    parent = login("admin").get(change_url(world["CUSTOMERS"])).content.decode()
    for child in ("Gold", "Silver", "Bronze"):
        assert f">{child}</a>" in parent


def test_the_members_page_lists_effective_and_direct_members_in_scope(login, tiers, world):
    admin = login("admin").get(members_url(world["GOLD"]))
    assert {str(c) for c in admin.context["contacts"]} == {"Ann Smith", "Carl Jones"}
    assert [o.key for o in admin.context["organizations"]] == ["US-HQ"]
    direct = login("admin").get(members_url(world["GOLD"]), {"who": "direct"})
    assert {str(c) for c in direct.context["contacts"]} == {"Ann Smith"}
    csr = login("csr").get(members_url(world["GOLD"]))
    assert {str(c) for c in csr.context["contacts"]} == {"Ann Smith"}
    assert list(csr.context["organizations"]) == []
    assert "US Headquarters" not in csr.content.decode()


def test_the_members_page_is_paginated(login, world):
    for i in range(55):
        make_contact(f"P{i:02}", "Member", world["EU-HQ"]).customer_groups.add(world["BRONZE"])
    first = login("admin").get(members_url(world["BRONZE"]))
    second = login("admin").get(members_url(world["BRONZE"]), {"page": "2"})
    assert len(first.context["contacts"]) == 50 and len(second.context["contacts"]) == 5
    assert "?who=effective&amp;page=2" in first.content.decode()
    assert login("admin").get(members_url(world["BRONZE"]), {"page": "x%00"}).status_code == 200


def test_the_group_page_lists_the_price_rows_that_name_it(login, tiers, world, catalog, price):
    price("TS-M", "15.00", sale_type="customer_group", sale_code="GOLD")
    price("TS-M", "17.00", sale_type="customer_group", sale_code="SILVER")
    page = login("admin").get(change_url(world["GOLD"])).content.decode()
    assert "15.00" in page and "17.00" not in page


def test_a_group_page_of_a_nonexistent_group_is_a_404(login, world):
    assert login("admin").get(members_url(world["GOLD"]).replace(str(world["GOLD"].pk),
                                                                 "00000000-0000-4000-8000-000000000000"),
                              ).status_code == 404
