"""The resolver's one-query effective groups agree with the explaining service."""

import pytest

from clientbase.customers.services.groups import effective_groups
from clientbase.pricing.services import effective_group_keys


@pytest.mark.parametrize(
    ("organizations", "groups", "org_groups", "expected"),
    [
        ((), (), {}, set()),
        ((), ("GOLD",), {}, {"GOLD", "CUSTOMERS"}),
        (("EU-MGMT",), (), {"EU-MGMT": ["SILVER"]}, {"SILVER", "CUSTOMERS"}),
        (("EU-MGMT",), (), {"ADMIN": ["GOLD"]}, {"GOLD", "CUSTOMERS"}),
        (("EU-MGMT", "US-SALES"), ("BRONZE",), {"US-HQ": ["SILVER"]}, {"BRONZE", "SILVER", "CUSTOMERS"}),
        (("US-SALES",), (), {"ADMIN": ["GOLD"]}, set()),
    ],
)
def test_effective_group_keys_follow_organizations_ancestors_and_parent_groups(
        world, contact_in, organizations, groups, org_groups, expected):
    # given
    for org_key, group_keys in org_groups.items():
        world[org_key].customer_groups.set([world[g] for g in group_keys])
    contact = contact_in(organizations=organizations, groups=groups)
    # when
    keys = effective_group_keys(contact)
    # then
    assert keys == expected
    assert keys == {eg.group.key for eg in effective_groups(contact, viewer=None)}


def test_effective_group_keys_take_one_query(world, contact_in, django_assert_num_queries):
    world["ADMIN"].customer_groups.set([world["GOLD"]])
    contact = contact_in(organizations=["EU-MGMT"], groups=["BRONZE"])
    with django_assert_num_queries(1):
        assert effective_group_keys(contact) == {"GOLD", "BRONZE", "CUSTOMERS"}


def test_anonymous_visitors_have_no_groups(db):
    assert effective_group_keys(None) == frozenset()
