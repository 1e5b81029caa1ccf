"""/api/v1/roles: roles are Django groups with permissions."""

import pytest
from django.contrib.auth.models import Group

from clientbase.core.errors import NotFound
from clientbase.customers.models import Account, Grant, Role
from clientbase.customers.services import accounts as services
from tests.conftest import make_account, role


def field_errors(response) -> set[str]:
    return {e["field"] for e in response.json().get("errors", [])}


@pytest.fixture
def auditors(db):
    """A role that is not built in."""
    group = Group.objects.create(name="Auditors")
    return group


def test_the_seeded_roles_are_listed(admin_api):
    response = admin_api.get("/roles", limit=500)
    assert response.status_code == 200
    items = {item["name"]: item for item in response.json()["items"]}
    assert set(Role.values) <= set(items)
    assert all(items[name]["built_in"] for name in Role.values)
    assert "customers.change_contact" in items[Role.CUSTOMER_SERVICE]["permissions"]


@pytest.mark.parametrize("by", ["id", "name"])
def test_a_role_is_found_by_id_or_name(admin_api, by):
    group = role(Role.CUSTOMER_SERVICE)
    ident = group.pk if by == "id" else group.name
    response = admin_api.get(f"/roles/{ident}")
    assert response.status_code == 200
    assert response.json()["id"] == group.pk and response.json()["name"] == group.name


def test_an_unknown_role_is_404(admin_api):
    assert admin_api.get("/roles/NoSuchRole").status_code == 404
    assert admin_api.get("/roles/999999").status_code == 404
    assert admin_api.get("/roles/99999999999999999999999").status_code == 404
    assert admin_api.get("/roles/Every%00one").status_code == 404


def test_list_searches_by_name_prefix(admin_api):
    response = admin_api.get("/roles", q="cust")
    assert [item["name"] for item in response.json()["items"]] == [Role.CUSTOMER_SERVICE]


def test_admin_creates_a_role_with_permissions(admin_api):
    response = admin_api.post("/roles", {"name": "Auditors",
                                         "permissions": ["customers.view_contact", "customers.view_account"]})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["permissions"] == ["customers.view_account", "customers.view_contact"]
    assert body["built_in"] is False
    assert Group.objects.get(name="Auditors").permissions.count() == 2


@pytest.mark.parametrize("payload, status, field", [
    ({"name": "Auditors", "permissions": ["customers.fly_to_moon"]}, 422, "permissions"),
    ({"name": "Auditors", "permissions": ["nonsense"]}, 422, "permissions"),
    ({"name": "Auditors", "permissions": "customers.view_contact"}, 422, "permissions"),
    ({"name": "12345"}, 422, "name"),
    ({"name": ""}, 422, "name"),
    ({"name": "x" * 151}, 422, "name"),
    ({"name": Role.CUSTOMER_SERVICE}, 409, "name"),
    ({"name": "everyone"}, 409, "name"),
    ({"name": "Auditors", "colour": "red"}, 422, "colour"),
    ({"name": "Audi\u0000tors"}, 422, "name"),
    ({"name": "Auditors", "permissions": ["customers.view\u0000contact"]}, 422, "permissions.0"),
])
def test_an_invalid_role_names_the_field_and_is_not_created(admin_api, payload, status, field):
    before = Group.objects.count()
    response = admin_api.post("/roles", payload)
    assert response.status_code == status, response.content
    assert field in field_errors(response)
    assert Group.objects.count() == before


def test_a_custom_role_can_be_renamed_and_its_permissions_replaced(admin_api, auditors):
    response = admin_api.patch(f"/roles/{auditors.pk}", {"name": "Inspectors",
                                                          "permissions": ["customers.view_grant"]})
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Inspectors"
    assert response.json()["permissions"] == ["customers.view_grant"]


def test_a_built_in_role_keeps_its_name(admin_api):
    response = admin_api.patch(f"/roles/{Role.CUSTOMER_SERVICE}", {"name": "Helpdesk"})
    assert response.status_code == 409
    assert field_errors(response) == {"name"}
    assert Group.objects.filter(name=Role.CUSTOMER_SERVICE).exists()


def test_a_built_in_role_may_change_its_permissions(admin_api):
    response = admin_api.patch(f"/roles/{Role.CATALOG_MANAGERS}", {"permissions": ["customers.view_contact"]})
    assert response.status_code == 200
    assert response.json()["permissions"] == ["customers.view_contact"]


@pytest.mark.parametrize("name", Role.values)
def test_a_built_in_role_cannot_be_deleted(admin_api, name):
    response = admin_api.delete(f"/roles/{name}")
    assert response.status_code == 409
    assert Group.objects.filter(name=name).exists()


def test_deleting_a_custom_role_takes_it_from_its_accounts_and_drops_its_grants(admin_api, world, auditors):
    member = make_account("auditor@example.com", "Auditors")
    Grant.objects.create(role=auditors, organization=world["EU-HQ"])
    response = admin_api.delete("/roles/Auditors")
    assert response.status_code == 204
    assert not Group.objects.filter(name="Auditors").exists()
    assert set(member.groups.values_list("name", flat=True)) == {Role.EVERYONE}
    assert not Grant.objects.filter(role_id=auditors.pk).exists()


@pytest.mark.parametrize("method, path, payload", [
    ("get", "/roles", None),
    ("post", "/roles", {"name": "Sneaky"}),
    ("patch", f"/roles/{Role.CUSTOMER_SERVICE}", {"permissions": ["customers.delete_grant"]}),
    ("delete", "/roles/Auditors", None),
])
@pytest.mark.parametrize("who, status", [("csr", 403), ("registered", 403), (None, 401)])
def test_a_caller_without_role_permissions_is_refused(caller, auditors, method, path, payload, who, status):
    api = caller(who)
    response = getattr(api, method)(path, payload) if payload is not None else getattr(api, method)(path)
    assert response.status_code == status
    assert Group.objects.filter(name="Auditors").exists()
    assert not Group.objects.filter(name="Sneaky").exists()
    assert not role(Role.CUSTOMER_SERVICE).permissions.filter(codename="delete_grant").exists()


def test_a_role_s_permissions_decide_what_its_members_may_do(admin_api, caller, accounts):
    # given a shopper, who may not list accounts
    shopper = caller("registered")
    assert shopper.get("/accounts").status_code == 403
    # when a new role with view_account is given to the shopper
    assert admin_api.post("/roles", {"name": "Auditors", "permissions": ["customers.view_account"]}).status_code == 201
    assert admin_api.patch(f"/accounts/{accounts['registered'].pk}",
                           {"roles": [Role.REGISTERED, "Auditors"]}).status_code == 200
    # then the shopper may list accounts (and sees itself only)
    response = shopper.get("/accounts")
    assert response.status_code == 200
    assert [item["email"] for item in response.json()["items"]] == [accounts["registered"].email]


def test_a_non_administrator_cannot_grant_permissions_it_lacks(caller, accounts, auditors):
    # given a CSR who may change roles (but holds no grant permissions)
    csr_role = role(Role.CUSTOMER_SERVICE)
    from django.contrib.auth.models import Permission
    csr_role.permissions.add(Permission.objects.get(codename="change_group"))
    account = Account.objects.get(pk=accounts["csr"].pk)
    assert account.has_perm("auth.change_group")
    # when / then
    api = caller("csr")
    assert api.patch("/roles/Auditors", {"permissions": ["customers.delete_grant"]}).status_code == 403
    assert api.patch("/roles/Auditors", {"permissions": ["customers.view_contact"]}).status_code == 200


def test_listing_roles_costs_the_same_queries_for_any_page_size(admin_api, django_assert_max_num_queries):
    for n in range(10):
        admin_api.post("/roles", {"name": f"Team{n}", "permissions": ["customers.view_contact"]})
    with django_assert_max_num_queries(8):
        small = admin_api.get("/roles", limit=2)
    with django_assert_max_num_queries(8):
        large = admin_api.get("/roles", limit=100)
    assert len(small.json()["items"]) == 2 and len(large.json()["items"]) == 16


def test_roles_page_by_cursor_in_name_order(admin_api):
    names, cursor = [], None
    while True:
        body = admin_api.get("/roles", limit=4, **({"cursor": cursor} if cursor else {})).json()
        names += [item["name"] for item in body["items"]]
        if not (cursor := body["next_cursor"]):
            break
    assert names == list(Group.objects.order_by("name", "id").values_list("name", flat=True))


def test_a_role_has_a_version_and_a_stale_if_match_changes_nothing(admin_api):
    # given
    created = admin_api.post("/roles", {"name": "Auditors", "permissions": ["customers.view_contact"]})
    assert created.status_code == 201 and created.json()["version"] == 1
    etag = created["ETag"]
    # when
    renamed = admin_api.patch("/roles/Auditors", {"name": "Inspectors"}, headers={"If-Match": etag})
    stale = admin_api.patch("/roles/Inspectors", {"permissions": []}, headers={"If-Match": etag})
    # then
    assert renamed.status_code == 200 and renamed.json()["version"] == 2
    assert renamed["ETag"] == '"2"'
    assert stale.status_code == 412
    assert admin_api.get("/roles/Inspectors").json()["permissions"] == ["customers.view_contact"]
    assert admin_api.delete("/roles/Inspectors", headers={"If-Match": etag}).status_code == 412


@pytest.mark.parametrize("write", ["update", "delete"])
def test_a_role_deleted_since_it_was_found_is_not_found_not_a_500(accounts, auditors, write):
    # given the door found the role, then a concurrent request deleted it
    # (what tests/hardening/test_races.py makes happen on PostgreSQL)
    found = Group.objects.get(pk=auditors.pk)
    services.delete_role(auditors, actor=accounts["admin"])
    # when the write goes on with what the door found
    with pytest.raises(NotFound):
        if write == "update":
            services.update_role(found, actor=accounts["admin"], name="Inspectors")
        else:
            services.delete_role(found, actor=accounts["admin"])
    # then nothing came back
    assert not Group.objects.filter(name__in=["Auditors", "Inspectors"]).exists()


def test_role_changes_are_recorded_with_who_made_them(admin_api, accounts):
    from django.contrib.auth.models import Group

    admin_api.post("/roles", {"name": "Auditors"})
    admin_api.patch("/roles/Auditors", {"name": "Inspectors", "permissions": ["customers.view_contact"]})
    role = Group.objects.get(name="Inspectors")
    history = list(role.history.order_by("history_date"))
    # the creation, the rename, and the new permissions (m2m changes add a row)
    assert history[0].name == "Auditors" and history[-1].name == "Inspectors"
    assert [p.permission.codename for p in history[-1].permissions.all()] == ["view_contact"]
    assert {h.history_user for h in history} == {accounts["admin"]}
