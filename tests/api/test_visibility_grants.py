"""Grants decide which organizations (and so contacts and accounts) a caller sees."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client

from clientbase.customers.models import Account, Contact, Grant
from tests.conftest import ApiClient, keys_of, make_account, org

ALL_ORGS = ["ADMIN", "EU-HQ", "EU-MGMT", "US-HQ", "US-SALES"]


def api_as(account: Account) -> ApiClient:
    client = Client()
    client.force_login(account)
    return ApiClient(client, account)


def visible_org_keys(api: ApiClient) -> set[str]:
    response = api.get("/organizations", limit=500)
    assert response.status_code == 200, response.content
    return set(keys_of(response))


@pytest.fixture
def viewers(world):
    """A role whose members may view and change organizations, with two members."""
    group = Group.objects.create(name="Regional")
    group.permissions.set(Permission.objects.filter(
        content_type__app_label="customers",
        codename__in=["view_organization", "change_organization", "view_account", "view_contact"]))
    return group, [make_account("one@example.com", "Regional"), make_account("two@example.com", "Regional")]


@pytest.mark.parametrize("org_key, include_descendants, expected", [
    ("EU-HQ", True, {"EU-HQ", "EU-MGMT"}),
    ("EU-HQ", False, {"EU-HQ"}),
    ("ADMIN", True, {"ADMIN", "EU-HQ", "EU-MGMT"}),
    ("US-SALES", True, {"US-SALES"}),
])
def test_a_grant_to_a_role_lets_every_member_see_its_scope(admin_api, viewers, org_key, include_descendants,
                                                           expected):
    group, members = viewers
    # given the members see nothing yet
    assert all(visible_org_keys(api_as(m)) == set() for m in members)
    # when the role gets a grant
    response = admin_api.post("/grants", {"role": "Regional", "organization": org_key,
                                          "include_descendants": include_descendants})
    assert response.status_code == 201
    # then each member sees exactly the granted scope
    for member in members:
        assert visible_org_keys(api_as(member)) == expected
        for key in set(ALL_ORGS) - expected:
            assert api_as(member).get(f"/organizations/{key}").status_code == 404


def test_a_grant_to_one_account_is_for_that_account_only(admin_api, viewers):
    _, (one, two) = viewers
    assert admin_api.post("/grants", {"account": one.email, "organization": "US-HQ"}).status_code == 201
    assert visible_org_keys(api_as(one)) == {"US-HQ", "US-SALES"}
    assert visible_org_keys(api_as(two)) == set()


def test_a_view_grant_allows_reading_but_not_changing(admin_api, viewers):
    _, (one, _) = viewers
    admin_api.post("/grants", {"account": one.email, "organization": "EU-HQ", "level": "view"})
    api = api_as(one)
    assert api.get("/organizations/EU-MGMT").status_code == 200
    response = api.patch("/organizations/EU-MGMT", {"name": "Renamed"})
    assert response.status_code == 403
    assert org("EU-MGMT").name == "EU Management"


def test_a_manage_grant_allows_changing(admin_api, viewers):
    _, (one, _) = viewers
    admin_api.post("/grants", {"account": one.email, "organization": "EU-HQ", "level": "manage"})
    assert api_as(one).patch("/organizations/EU-MGMT", {"name": "Renamed"}).status_code == 200


def test_deleting_a_grant_takes_the_scope_away(admin_api, viewers):
    _, (one, _) = viewers
    grant_id = admin_api.post("/grants", {"role": "Regional", "organization": "EU-HQ"}).json()["id"]
    api = api_as(one)
    assert visible_org_keys(api) == {"EU-HQ", "EU-MGMT"}
    assert admin_api.delete(f"/grants/{grant_id}").status_code == 204
    assert visible_org_keys(api) == set()
    assert api.get("/organizations/EU-HQ").status_code == 404


def test_narrowing_a_grant_narrows_the_scope(admin_api, viewers):
    _, (one, _) = viewers
    grant_id = admin_api.post("/grants", {"role": "Regional", "organization": "EU-HQ"}).json()["id"]
    admin_api.patch(f"/grants/{grant_id}", {"include_descendants": False})
    assert visible_org_keys(api_as(one)) == {"EU-HQ"}


def test_taking_a_role_away_takes_its_grants_away(admin_api, viewers):
    _, (one, _) = viewers
    admin_api.post("/grants", {"role": "Regional", "organization": "EU-HQ"})
    api = api_as(one)
    assert visible_org_keys(api) == {"EU-HQ", "EU-MGMT"}
    assert admin_api.patch(f"/accounts/{one.pk}", {"roles": []}).status_code == 200
    assert api.get("/organizations").status_code == 403  # the role carried the permission too
    assert Grant.objects.filter(role__name="Regional").exists()


def test_accounts_are_visible_through_their_contacts_organizations(admin_api, viewers):
    _, (one, _) = viewers
    eu_contact = Contact.objects.create(first_name="Eva", email="eva@example.com")
    eu_contact.organizations.add(org("EU-MGMT"))
    eva = make_account("eva@example.com", contact=eu_contact)
    admin_api.post("/grants", {"account": one.email, "organization": "EU-HQ"})
    api = api_as(one)
    assert [i["email"] for i in api.get("/accounts").json()["items"]] == [eva.email, one.email]
    # Moving the contact out of the granted subtree hides its account.
    eu_contact.organizations.set([org("US-SALES")])
    assert api.get(f"/accounts/{eva.pk}").status_code == 404


def test_administrators_see_every_organization(admin_api):
    assert visible_org_keys(admin_api) == set(ALL_ORGS)
