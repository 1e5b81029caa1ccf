"""/api/v1/grants: CRUD, validation, who may grant what, concurrency and history."""

import pytest
from django.contrib.auth.models import Group, Permission

from clientbase.customers.models import Grant, Role
from tests.conftest import make_account, role


def field_errors(response) -> set[str]:
    return {e["field"] for e in response.json().get("errors", [])}


@pytest.fixture
def us_grant(accounts, world):
    """A grant the CSR cannot see: a role's view grant on US Headquarters."""
    return Grant.objects.create(role=role(Role.MARKETING_MANAGERS), organization=world["US-HQ"])


def test_admin_grants_a_role_a_subtree(admin_api, world):
    response = admin_api.post("/grants", {"role": Role.MARKETING_MANAGERS, "organization": "EU-HQ"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["role"] == Role.MARKETING_MANAGERS and body["account"] is None
    assert body["organization"] == str(world["EU-HQ"].pk) and body["organization_key"] == "EU-HQ"
    assert body["include_descendants"] is True and body["level"] == "view"
    assert response["ETag"] == f'"{body["version"]}"'


@pytest.mark.parametrize("account_ref", ["email", "EMAIL", "id"])
def test_admin_grants_one_account_by_id_or_email(admin_api, accounts, world, account_ref):
    shopper = accounts["registered"]
    ref = {"email": shopper.email, "EMAIL": shopper.email.upper(), "id": str(shopper.pk)}[account_ref]
    response = admin_api.post("/grants", {"account": ref, "organization": str(world["US-SALES"].pk),
                                          "include_descendants": False, "level": "manage"})
    assert response.status_code == 201, response.content
    grant = Grant.objects.get(pk=response.json()["id"])
    assert (grant.account, grant.organization, grant.include_descendants, grant.level) == (
        shopper, world["US-SALES"], False, "manage")


def test_a_role_can_be_named_by_its_id(admin_api, world):
    response = admin_api.post("/grants", {"role": role(Role.CATALOG_MANAGERS).pk, "organization": "ADMIN"})
    assert response.status_code == 201
    assert response.json()["role"] == Role.CATALOG_MANAGERS


@pytest.mark.parametrize("payload, status, field", [
    ({"organization": "EU-HQ"}, 422, "role"),
    ({"role": Role.REGISTERED, "account": "csr@example.com", "organization": "EU-HQ"}, 422, "account"),
    ({"role": "NoSuchRole", "organization": "EU-HQ"}, 422, "role"),
    ({"account": "nobody@example.com", "organization": "EU-HQ"}, 422, "account"),
    ({"role": Role.REGISTERED, "organization": "NOWHERE"}, 422, "organization"),
    ({"role": Role.REGISTERED}, 422, "organization"),
    ({"role": Role.REGISTERED, "organization": "EU-HQ", "level": "own"}, 422, "level"),
    ({"role": Role.REGISTERED, "organization": "EU-HQ", "include_descendants": "sometimes"}, 422,
     "include_descendants"),
    ({"role": Role.REGISTERED, "organization": "EU-HQ", "extra": 1}, 422, "extra"),
    ({"account": "csr@example.com", "organization": "EU-HQ"}, 409, "organization"),
    ({"role": "Every\u0000one", "organization": "EU-HQ"}, 422, "role"),
    ({"role": 10**30, "organization": "EU-HQ"}, 422, "role"),
    ({"role": Role.REGISTERED, "organization": "EU\u0000HQ"}, 422, "organization"),
])
def test_an_invalid_grant_names_the_field_and_is_not_created(admin_api, accounts, payload, status, field):
    before = Grant.objects.count()
    response = admin_api.post("/grants", payload)
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert field in field_errors(response)
    assert Grant.objects.count() == before


def test_a_second_grant_for_the_same_role_and_organization_is_a_conflict(admin_api, world):
    assert admin_api.post("/grants", {"role": Role.REGISTERED, "organization": "EU-HQ"}).status_code == 201
    response = admin_api.post("/grants", {"role": Role.REGISTERED, "organization": "EU-HQ", "level": "manage"})
    assert response.status_code == 409
    assert Grant.objects.filter(role__name=Role.REGISTERED).count() == 1


@pytest.mark.parametrize("params, expected_count", [
    ({}, 2),
    ({"role": Role.MARKETING_MANAGERS}, 1),
    ({"account": "csr@example.com"}, 1),
    ({"organization": "US-HQ"}, 1),
    ({"organization": "EU-MGMT"}, 0),
])
def test_list_filters_by_holder_and_organization(admin_api, us_grant, params, expected_count):
    response = admin_api.get("/grants", **params)
    assert response.status_code == 200
    assert len(response.json()["items"]) == expected_count


def test_a_scoped_caller_lists_only_grants_on_organizations_it_sees(accounts, us_grant, caller):
    # given a role that may view grants
    role(Role.CUSTOMER_SERVICE).permissions.add(Permission.objects.get(codename="view_grant"))
    # when
    response = caller("csr").get("/grants")
    # then
    assert response.status_code == 200
    assert [item["organization_key"] for item in response.json()["items"]] == ["EU-HQ"]
    assert caller("csr").get(f"/grants/{us_grant.pk}").status_code == 404


@pytest.mark.parametrize("who, status", [(None, 401), ("registered", 403), ("csr", 403)])
def test_a_caller_without_grant_permissions_cannot_read_or_edit_grants(caller, accounts, who, status):
    grant = Grant.objects.get(account=accounts["csr"])
    api = caller(who)
    assert api.get("/grants").status_code == status
    assert api.get(f"/grants/{grant.pk}").status_code == status
    assert api.post("/grants", {"role": Role.REGISTERED, "organization": "EU-HQ"}).status_code == status
    assert api.patch(f"/grants/{grant.pk}", {"level": "view"}).status_code == status
    assert api.delete(f"/grants/{grant.pk}").status_code == status
    grant.refresh_from_db()
    assert grant.level == "manage" and Grant.objects.count() == 1


@pytest.fixture
def grant_admin(accounts, world, caller):
    """A scoped caller allowed to edit grants: manages EU Headquarters and
    below, views US Headquarters only."""
    leads = Group.objects.create(name="RegionalLeads")
    leads.permissions.set(Permission.objects.filter(
        content_type__app_label="customers",
        codename__in=["view_grant", "add_grant", "change_grant", "delete_grant", "view_organization"]))
    accounts["csr"].groups.add(leads)
    Grant.objects.create(account=accounts["csr"], organization=world["US-HQ"], include_descendants=False,
                         level="view")
    return caller("csr")


def test_a_scoped_caller_may_grant_on_organizations_it_manages(grant_admin):
    response = grant_admin.post("/grants", {"role": Role.REGISTERED, "organization": "EU-MGMT"})
    assert response.status_code == 201, response.content


def test_a_scoped_caller_may_not_grant_on_an_organization_it_only_views(grant_admin):
    response = grant_admin.post("/grants", {"role": Role.REGISTERED, "organization": "US-HQ"})
    assert response.status_code == 403
    assert not Grant.objects.filter(role__name=Role.REGISTERED).exists()


def test_a_scoped_caller_cannot_name_an_organization_it_does_not_see(grant_admin):
    response = grant_admin.post("/grants", {"role": Role.REGISTERED, "organization": "US-SALES"})
    assert response.status_code == 422
    assert field_errors(response) == {"organization"}


def test_a_scoped_caller_may_not_move_a_grant_to_an_organization_it_does_not_manage(grant_admin, world):
    grant = Grant.objects.create(role=role(Role.REGISTERED), organization=world["EU-MGMT"])
    response = grant_admin.patch(f"/grants/{grant.pk}", {"organization": "US-HQ"})
    assert response.status_code == 403
    grant.refresh_from_db()
    assert grant.organization == world["EU-MGMT"]


def test_a_scoped_caller_may_not_delete_a_grant_on_an_organization_it_only_views(grant_admin, accounts, world):
    grant = Grant.objects.get(account=accounts["csr"], organization=world["US-HQ"])
    assert grant_admin.delete(f"/grants/{grant.pk}").status_code == 403
    assert Grant.objects.filter(pk=grant.pk).exists()


def test_patch_changes_level_and_scope_and_records_who_did_it(admin_api, accounts, world):
    grant = Grant.objects.get(account=accounts["csr"])
    response = admin_api.patch(f"/grants/{grant.pk}", {"level": "view", "include_descendants": False},
                               headers={"If-Match": f'"{grant.version}"'})
    assert response.status_code == 200, response.content
    assert response.json()["version"] == grant.version + 1
    latest = grant.history.order_by("-history_date", "-history_id").first()
    assert (latest.level, latest.include_descendants, latest.history_user) == ("view", False, accounts["admin"])


def test_patch_may_swap_the_holder_from_account_to_role(admin_api, accounts):
    grant = Grant.objects.get(account=accounts["csr"])
    response = admin_api.patch(f"/grants/{grant.pk}", {"account": None, "role": Role.CUSTOMER_SERVICE})
    assert response.status_code == 200, response.content
    assert (response.json()["role"], response.json()["account"]) == (Role.CUSTOMER_SERVICE, None)


def test_patch_that_leaves_two_holders_is_refused(admin_api, accounts):
    grant = Grant.objects.get(account=accounts["csr"])
    response = admin_api.patch(f"/grants/{grant.pk}", {"role": Role.CUSTOMER_SERVICE})
    assert response.status_code == 422
    assert field_errors(response) == {"account"}
    grant.refresh_from_db()
    assert grant.role_id is None


def test_patch_with_a_stale_if_match_is_412_and_changes_nothing(admin_api, accounts):
    grant = Grant.objects.get(account=accounts["csr"])
    response = admin_api.patch(f"/grants/{grant.pk}", {"level": "view"},
                               headers={"If-Match": f'"{grant.version + 5}"'})
    assert response.status_code == 412
    grant.refresh_from_db()
    assert grant.level == "manage"


def test_delete_removes_the_grant_and_records_who_did_it(admin_api, accounts):
    grant = Grant.objects.get(account=accounts["csr"])
    assert admin_api.delete(f"/grants/{grant.pk}").status_code == 204
    assert not Grant.objects.filter(pk=grant.pk).exists()
    deleted = Grant.history.filter(id=grant.pk, history_type="-").get()
    assert deleted.history_user == accounts["admin"]


def test_creating_a_grant_is_recorded_with_who_did_it(admin_api, accounts):
    response = admin_api.post("/grants", {"role": Role.REGISTERED, "organization": "EU-HQ"})
    created = Grant.history.filter(id=response.json()["id"], history_type="+").get()
    assert created.history_user == accounts["admin"]


@pytest.mark.parametrize("ident", ["nope", "00000000-0000-0000-0000-000000000000"])
def test_an_unknown_grant_is_404(admin_api, ident):
    assert admin_api.get(f"/grants/{ident}").status_code == 404


def test_listing_grants_costs_the_same_queries_for_any_page_size(admin_api, world, django_assert_max_num_queries):
    for n in range(15):
        Grant.objects.create(account=make_account(f"g{n}@example.com"), organization=world["EU-MGMT"])
    with django_assert_max_num_queries(6):
        small = admin_api.get("/grants", limit=2)
    with django_assert_max_num_queries(6):
        large = admin_api.get("/grants", limit=100)
    assert len(small.json()["items"]) == 2 and len(large.json()["items"]) == 16
