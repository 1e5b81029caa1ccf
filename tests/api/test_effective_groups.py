"""GET /api/v1/contacts/{id}/effective-groups: every group a contact is in,
with the paths that put it there."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clientbase.customers.models import Contact, CustomerGroup, Organization


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # These tests log accounts in without passwords; argon2 would only cost time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def anna(world) -> Contact:
    """Anna Schmidt, a member of EU Management, with no group of her own."""
    contact = Contact.objects.create(first_name="Anna", last_name="Schmidt", key="ANNA")
    contact.organizations.add(world["EU-MGMT"])
    return contact


def effective(api, contact: str = "ANNA") -> dict[str, dict]:
    """The answer, by group key."""
    response = api.get(f"/contacts/{contact}/effective-groups")
    assert response.status_code == 200, response.json()
    return {item["group"]["key"]: item for item in response.json()["items"]}


def kinds(item: dict) -> list[list[str]]:
    return [[step["kind"] for step in path] for path in item["paths"]]


def test_a_contact_without_groups_has_none(admin_api, anna):
    assert effective(admin_api) == {}


def test_a_direct_group_and_its_parent(admin_api, anna, world):
    # given
    anna.customer_groups.add(world["GOLD"])

    # when
    groups = effective(admin_api)

    # then
    assert set(groups) == {"GOLD", "CUSTOMERS"}
    gold, customers = groups["GOLD"], groups["CUSTOMERS"]
    assert gold["group"] == {"id": str(world["GOLD"].pk), "key": "GOLD", "name": "Gold"}
    assert kinds(gold) == [["direct"]]
    assert gold["paths"][0][0]["id"] == str(anna.pk)
    assert gold["reasons"] == ["assigned directly"]
    assert kinds(customers) == [["direct", "parent_group"]]
    assert customers["paths"][0][1]["key"] == "GOLD"
    assert customers["reasons"] == ["assigned directly; via parent group of Gold"]


def test_a_group_of_the_contacts_organization(admin_api, anna, world):
    world["EU-MGMT"].customer_groups.add(world["GOLD"])

    groups = effective(admin_api)

    assert set(groups) == {"GOLD", "CUSTOMERS"}
    step = groups["GOLD"]["paths"][0][0]
    assert (step["kind"], step["id"], step["key"], step["name"]) == (
        "organization", str(world["EU-MGMT"].pk), "EU-MGMT", "EU Management")
    assert groups["GOLD"]["reasons"] == ["via organization EU Management"]
    assert groups["CUSTOMERS"]["reasons"] == ["via organization EU Management; via parent group of Gold"]


def test_a_group_of_an_ancestor_organization(admin_api, anna, world):
    world["ADMIN"].customer_groups.add(world["SILVER"])

    groups = effective(admin_api)

    assert set(groups) == {"SILVER", "CUSTOMERS"}
    step = groups["SILVER"]["paths"][0][0]
    assert (step["kind"], step["key"], step["via"]) == ("ancestor", "ADMIN", "EU Management")
    assert groups["SILVER"]["reasons"] == ["via Administration, an ancestor of organization EU Management"]
    assert kinds(groups["CUSTOMERS"]) == [["ancestor", "parent_group"]]


def test_a_group_reached_several_ways_lists_every_path(admin_api, anna, world):
    # given: Gold directly, through EU Management, and through EU Headquarters
    anna.customer_groups.add(world["GOLD"])
    world["EU-MGMT"].customer_groups.add(world["GOLD"])
    world["EU-HQ"].customer_groups.add(world["GOLD"])

    groups = effective(admin_api)

    assert sorted(kinds(groups["GOLD"])) == [["ancestor"], ["direct"], ["organization"]]
    assert len(groups["CUSTOMERS"]["paths"]) == 3
    assert len(groups["CUSTOMERS"]["reasons"]) == 3


def test_groups_of_organizations_elsewhere_do_not_count(admin_api, anna, world):
    world["US-HQ"].customer_groups.add(world["BRONZE"])
    world["US-SALES"].customer_groups.add(world["BRONZE"])

    assert effective(admin_api) == {}


def test_changing_memberships_changes_the_answer_at_once(admin_api, anna, world):
    # given
    assert effective(admin_api) == {}

    # when: Anna joins Bronze through the API
    assert admin_api.patch("/contacts/ANNA", {"customer_groups": ["BRONZE"]}).status_code == 200
    # then
    assert set(effective(admin_api)) == {"BRONZE", "CUSTOMERS"}

    # when: her organization gains Gold
    assert admin_api.patch("/organizations/EU-MGMT", {"customer_groups": ["GOLD"]}).status_code == 200
    # then
    assert set(effective(admin_api)) == {"BRONZE", "GOLD", "CUSTOMERS"}

    # when: she leaves EU Management and Bronze
    assert admin_api.patch("/contacts/ANNA", {"organizations": ["US-SALES"], "customer_groups": []}
                           ).status_code == 200
    # then
    assert effective(admin_api) == {}


def test_moving_a_group_changes_the_parents_it_brings(admin_api, anna, world):
    anna.customer_groups.add(world["GOLD"])
    admin_api.post("/customer-groups", {"key": "VIP", "name": "VIP"})

    assert admin_api.patch("/customer-groups/GOLD", {"parent": "VIP"}).status_code == 200

    assert set(effective(admin_api)) == {"GOLD", "VIP"}


def test_moving_an_organization_changes_the_ancestors_it_brings(admin_api, anna, world):
    world["US-HQ"].customer_groups.add(world["SILVER"])

    assert admin_api.post("/organizations/EU-HQ/move", {"parent": "US-HQ"}).status_code == 200

    groups = effective(admin_api)
    assert set(groups) == {"SILVER", "CUSTOMERS"}
    assert groups["SILVER"]["paths"][0][0]["key"] == "US-HQ"


def test_csr_sees_the_groups_but_not_the_name_of_an_organization_outside_its_grant(caller, anna, world):
    # given: Administration (outside the csr's grant on EU-HQ) gives Silver
    world["ADMIN"].customer_groups.add(world["SILVER"])
    world["EU-HQ"].customer_groups.add(world["GOLD"])

    # when
    groups = effective(caller("csr"))

    # then
    assert set(groups) == {"SILVER", "GOLD", "CUSTOMERS"}
    hidden = groups["SILVER"]["paths"][0][0]
    # referred to by id only (issue 8: never by name or key)
    assert (hidden["kind"], hidden["id"], hidden["key"]) == ("ancestor", str(world["ADMIN"].pk), None)
    assert hidden["name"] == "an organization you cannot see"
    assert "Administration" not in str(groups)
    assert groups["GOLD"]["paths"][0][0]["key"] == "EU-HQ"


@pytest.mark.parametrize("who, status", [("csr_nogrant", 404), ("registered", 403), (None, 401)])
def test_callers_who_cannot_see_the_contact_get_no_groups(caller, anna, who, status):
    assert caller(who).get("/contacts/ANNA/effective-groups").status_code == status


def test_a_contact_outside_the_csrs_grant_is_404(caller, world):
    dora = Contact.objects.create(first_name="Dora", key="DORA")
    dora.organizations.add(world["US-SALES"])

    assert caller("csr").get("/contacts/DORA/effective-groups").status_code == 404


def _queries(api) -> int:
    with CaptureQueriesContext(connection) as ctx:
        effective(api)
    return len(ctx.captured_queries)


def test_the_answer_costs_the_same_queries_for_deep_and_shallow_trees(admin_api, anna, world):
    # given: Gold directly and Silver through the organization
    anna.customer_groups.add(world["GOLD"])
    world["EU-MGMT"].customer_groups.add(world["SILVER"])
    shallow = _queries(admin_api)

    # when: a ten-deep group chain and a ten-deep organization chain below them
    parent = world["GOLD"]
    for i in range(10):
        parent = CustomerGroup.objects.create(key=f"DEEP{i}", name=f"Deep {i}", parent=parent)
    anna.customer_groups.add(parent)
    org = world["EU-MGMT"]
    for i in range(10):
        org = Organization.objects.create(key=f"UNIT{i}", name=f"Unit {i}", parent=org)
        org.customer_groups.add(world["BRONZE"])
    anna.organizations.add(org)

    # then
    assert _queries(admin_api) == shallow
    groups = effective(admin_api)
    assert set(groups) == {"CUSTOMERS", "GOLD", "SILVER", "BRONZE", *(f"DEEP{i}" for i in range(10))}
    assert len(groups["BRONZE"]["paths"]) == 10  # one per unit of the chain
