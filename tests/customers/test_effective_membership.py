"""`Contact.objects.effectively_in(group)` lists exactly the contacts whose
effective groups (customers.services.groups.effective_groups) hold the group,
and `in_organization` with or without the subtree."""

import pytest

from clientbase.customers.models import Contact, CustomerGroup
from clientbase.customers.services.groups import effective_groups


@pytest.fixture
def members(world):
    """One contact per way into a group, plus one in no group."""
    vip = CustomerGroup.objects.create(key="VIP", name="VIP", parent=world["GOLD"])
    world["EU-HQ"].customer_groups.add(world["SILVER"])
    world["ADMIN"].customer_groups.add(world["BRONZE"])

    def contact(name, *, orgs=(), groups=()):
        c = Contact.objects.create(first_name=name)
        c.organizations.add(*orgs)
        c.customer_groups.add(*groups)
        return c

    return {
        "direct_gold": contact("direct_gold", groups=[world["GOLD"]]),
        "direct_vip": contact("direct_vip", groups=[vip]),
        "org_silver": contact("org_silver", orgs=[world["EU-HQ"]]),
        "ancestor_silver": contact("ancestor_silver", orgs=[world["EU-MGMT"]]),
        "us_nothing": contact("us_nothing", orgs=[world["US-SALES"]]),
        "loose": contact("loose"),
        "vip": vip,
    }


@pytest.mark.parametrize("group_key", ["CUSTOMERS", "GOLD", "SILVER", "BRONZE", "VIP"])
def test_effectively_in_agrees_with_effective_groups(world, members, group_key):
    # given
    group = CustomerGroup.objects.get(key=group_key)
    expected = {c.first_name for c in Contact.objects.all()
                if any(eg.group.pk == group.pk for eg in effective_groups(c, viewer=None))}
    # when
    found = set(Contact.objects.effectively_in(group).values_list("first_name", flat=True))
    # then
    assert found == expected
    assert found  # every group of the world has someone in it


def test_effectively_in_reaches_through_parent_groups_and_ancestor_organizations(world, members):
    assert set(Contact.objects.effectively_in(world["CUSTOMERS"]).values_list("first_name", flat=True)) == {
        "direct_gold", "direct_vip", "org_silver", "ancestor_silver"}
    assert set(Contact.objects.effectively_in(world["BRONZE"]).values_list("first_name", flat=True)) == {
        "org_silver", "ancestor_silver"}  # Administration's Bronze reaches down to EU Management


def test_a_contact_in_two_carrying_organizations_comes_once(world, members):
    members["ancestor_silver"].organizations.add(world["EU-HQ"])
    names = list(Contact.objects.effectively_in(world["SILVER"]).values_list("first_name", flat=True))
    assert sorted(names) == ["ancestor_silver", "org_silver"]


def test_in_organization_with_and_without_the_subtree(world, members):
    direct = set(Contact.objects.in_organization(world["EU-HQ"]).values_list("first_name", flat=True))
    subtree = set(Contact.objects.in_organization(world["ADMIN"], subtree=True)
                  .values_list("first_name", flat=True))
    assert direct == {"org_silver"}
    assert subtree == {"org_silver", "ancestor_silver"}


def test_member_counts_agree_with_the_filters_for_each_viewer(world, members, accounts):
    from clientbase.customers.models import Organization
    from clientbase.customers.services.group_members import member_counts

    groups = list(CustomerGroup.objects.all())
    for viewer in (accounts["admin"], accounts["csr"]):
        # when
        counts = member_counts(groups, viewer=viewer)
        # then
        visible = Contact.objects.visible_to(viewer)
        for group in groups:
            found = counts.get(group.pk)
            assert (found.effective if found else 0) == visible.effectively_in(group).count(), group.key
            assert (found.direct if found else 0) == visible.filter(customer_groups=group).count(), group.key
            assert (found.organizations if found else 0) == Organization.objects.visible_to(viewer).filter(
                customer_groups=group).count(), group.key
    # the representative sees EU Headquarters and below: Silver and Bronze come from there
    csr = member_counts(groups, viewer=accounts["csr"])
    assert csr[world["CUSTOMERS"].pk].effective == 2
    assert world["GOLD"].pk not in csr


def test_member_counts_cost_three_queries_for_any_number_of_groups(world, members, accounts,
                                                                    django_assert_num_queries):
    from clientbase.customers.services.group_members import member_counts

    groups = list(CustomerGroup.objects.all())
    viewer = accounts["csr"]
    member_counts(groups[:1], viewer=viewer)  # the viewer's scope, cached on it
    with django_assert_num_queries(3):
        member_counts(groups, viewer=viewer)
