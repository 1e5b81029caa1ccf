"""Bulk membership changes (customers.services.membership_batches): the
permission once, the scope per contact, a version step and a history record
per changed contact, and a preview that writes nothing."""

import pytest

from clientbase.core.errors import Forbidden, NotFound
from clientbase.customers.models import Contact, Grant, Role
from clientbase.customers.services.membership_batches import (
    add_contacts_to_customer_group, add_contacts_to_organization, remove_contacts_from_customer_group,
)
from tests.conftest import make_account


@pytest.fixture
def people(world):
    def contact(name, org):
        c = Contact.objects.create(first_name=name, last_name="Test")
        c.organizations.add(org)
        return c

    return {"ann": contact("Ann", world["EU-MGMT"]), "bob": contact("Bob", world["EU-HQ"]),
            "carl": contact("Carl", world["US-SALES"])}


@pytest.fixture
def viewer_of_us(accounts, world):
    """A representative who manages EU Headquarters and only views US Sales."""
    account = accounts["csr"]
    Grant.objects.create(account=account, organization=world["US-SALES"], level="view")
    return account


def group_keys(contact):
    return set(contact.customer_groups.values_list("key", flat=True))


def test_adding_to_a_group_changes_managed_contacts_and_refuses_the_others(world, people, viewer_of_us):
    # given
    people["bob"].customer_groups.add(world["GOLD"])
    versions = {name: c.version for name, c in people.items()}
    # when
    outcome = add_contacts_to_customer_group(Contact.objects.visible_to(viewer_of_us), world["GOLD"],
                                             actor=viewer_of_us)
    # then
    assert (outcome.selected, outcome.changed, outcome.unchanged, outcome.refused) == (3, 1, 1, 1)
    assert [str(c) for c in outcome.refused_sample] == ["Carl Test"]
    for contact in people.values():
        contact.refresh_from_db()
    assert group_keys(people["ann"]) == {"GOLD"}
    assert group_keys(people["carl"]) == set()
    assert people["ann"].version == versions["ann"] + 1
    assert people["bob"].version == versions["bob"]  # already a member: unchanged
    record = people["ann"].history.first()
    assert record.history_user_id == viewer_of_us.pk
    assert record.history_change_reason == "bulk: added to customer group GOLD"
    # the snapshot keeps both memberships
    assert [m.customergroup_id for m in record.customer_groups.all()] == [world["GOLD"].pk]
    assert [m.organization_id for m in record.organizations.all()] == [world["EU-MGMT"].pk]


def test_a_preview_names_who_would_change_and_writes_nothing(world, people, accounts):
    outcome = add_contacts_to_customer_group(Contact.objects.all(), world["SILVER"],
                                             actor=accounts["admin"], preview=True)
    assert outcome.changed == 3
    assert [str(c) for c in outcome.sample] == ["Ann Test", "Bob Test", "Carl Test"]
    assert not Contact.objects.filter(customer_groups=world["SILVER"]).exists()


def test_removing_from_a_group_leaves_non_members_alone(world, people, accounts):
    people["ann"].customer_groups.add(world["GOLD"], world["SILVER"])
    outcome = remove_contacts_from_customer_group(Contact.objects.all(), world["GOLD"], actor=accounts["admin"])
    assert (outcome.changed, outcome.unchanged) == (1, 2)
    assert group_keys(people["ann"]) == {"SILVER"}


def test_adding_to_an_organization_needs_to_manage_it(world, people, viewer_of_us, accounts):
    everyone = Contact.objects.visible_to(viewer_of_us)
    with pytest.raises(Forbidden):
        add_contacts_to_organization(everyone, world["US-SALES"], actor=viewer_of_us)
    with pytest.raises(NotFound):
        add_contacts_to_organization(everyone, world["US-HQ"], actor=viewer_of_us)
    outcome = add_contacts_to_organization(everyone, world["EU-HQ"], actor=viewer_of_us)
    assert (outcome.changed, outcome.unchanged, outcome.refused) == (1, 1, 1)
    assert set(people["ann"].organizations.values_list("key", flat=True)) == {"EU-MGMT", "EU-HQ"}


def test_a_bulk_change_needs_the_change_permission(world, people):
    viewer = make_account("viewer@example.com", Role.EVERYONE)
    with pytest.raises(Forbidden):
        add_contacts_to_customer_group(Contact.objects.all(), world["GOLD"], actor=viewer, preview=True)
    assert not Contact.objects.filter(customer_groups=world["GOLD"]).exists()
