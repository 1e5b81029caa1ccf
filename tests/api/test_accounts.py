"""/api/v1/accounts: CRUD, validation, visibility, concurrency and history."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client

from clientbase.customers.models import Account, Contact, Role
from tests.conftest import ApiClient, make_account, org


def contact_in(org_key: str, email: str, **fields) -> Contact:
    contact = Contact.objects.create(email=email, first_name=fields.pop("first_name", "Ann"),
                                     last_name=fields.pop("last_name", "Lee"), **fields)
    contact.organizations.add(org(org_key))
    return contact


@pytest.fixture
def people(accounts):
    """One account whose contact is in EU Management, one in US Sales, one without contact."""
    eu = make_account("eu.buyer@example.com", Role.REGISTERED, contact=contact_in("EU-MGMT", "eu.buyer@example.com"))
    us = make_account("us.buyer@example.com", Role.REGISTERED, contact=contact_in("US-SALES", "us.buyer@example.com"))
    loose = make_account("loose@example.com")
    return {"eu": eu, "us": us, "loose": loose}


def api_as(account: Account) -> ApiClient:
    client = Client()
    client.force_login(account)
    return ApiClient(client, account)


def field_errors(response) -> set[str]:
    return {e["field"] for e in response.json().get("errors", [])}


# Create ---------------------------------------------------------------------

def test_admin_creates_an_account_with_roles_and_everyone_is_added(admin_api):
    # when
    response = admin_api.post("/accounts", {"email": "New.Person@Example.com", "password": "Tr0ub4dor&3-long",
                                            "roles": [Role.CATALOG_MANAGERS]})
    # then
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["email"] == "new.person@example.com"
    assert body["roles"] == sorted([Role.CATALOG_MANAGERS, Role.EVERYONE])
    assert "password" not in body
    assert response["ETag"] == f'"{body["version"]}"'
    account = Account.objects.get(pk=body["id"])
    assert account.password.startswith("argon2")
    assert account.check_password("Tr0ub4dor&3-long")


def test_an_account_created_without_password_cannot_log_in_yet(admin_api):
    response = admin_api.post("/accounts", {"email": "invited@example.com"})
    assert response.status_code == 201
    assert not Account.objects.get(email="invited@example.com").has_usable_password()


def test_an_account_can_be_linked_to_a_contact_by_key(admin_api):
    contact = contact_in("EU-MGMT", "keyed@example.com", key="C-1")
    response = admin_api.post("/accounts", {"email": "keyed@example.com", "contact": "C-1"})
    assert response.status_code == 201
    assert response.json()["contact"] == str(contact.pk)


@pytest.mark.parametrize("payload, status, field", [
    ({"email": "not-an-email"}, 422, "email"),
    ({"email": "a@example.com", "password": "123"}, 422, "password"),
    ({"email": "a@example.com", "password": "password"}, 422, "password"),
    ({"email": "a@example.com", "roles": ["NoSuchRole"]}, 422, "roles"),
    ({"email": "a@example.com", "contact": "NO-SUCH-CONTACT"}, 422, "contact"),
    ({"email": "a@example.com", "is_staff": True}, 422, "is_staff"),
    ({"email": "a@example.com", "roles": "Everyone"}, 422, "roles"),
    ({"email": "CSR@example.com"}, 409, "email"),
    ({}, 422, "email"),
])
def test_creating_an_invalid_account_names_the_field_and_saves_nothing(admin_api, payload, status, field):
    before = Account.objects.count()
    response = admin_api.post("/accounts", payload)
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert field in field_errors(response)
    assert Account.objects.count() == before


def test_a_contact_that_already_has_an_account_is_refused(admin_api, people):
    response = admin_api.post("/accounts", {"email": "second@example.com",
                                            "contact": str(people["eu"].contact_id)})
    assert response.status_code == 409
    assert field_errors(response) == {"contact"}


def test_a_weak_password_gets_every_validator_message(admin_api):
    response = admin_api.post("/accounts", {"email": "weak@example.com", "password": "1234"})
    messages = [e["message"] for e in response.json()["errors"] if e["field"] == "password"]
    assert len(messages) >= 2  # too short, too common, entirely numeric


# Read -------------------------------------------------------------------------

def test_list_is_ordered_by_email_and_pages_by_cursor(admin_api, people):
    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        body = admin_api.get("/accounts", **params).json()
        seen += [item["email"] for item in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    # The database's collation decides the order; the cursor must follow it.
    assert seen == list(Account.objects.order_by("email", "id").values_list("email", flat=True))
    assert len(seen) == len(set(seen)) == Account.objects.count()


@pytest.mark.parametrize("params, expected", [
    ({"q": "EU."}, ["eu.buyer@example.com"]),
    ({"q": "csr"}, ["csr-nogrant@example.com", "csr@example.com"]),
    ({"role": Role.CUSTOMER_SERVICE}, ["csr-nogrant@example.com", "csr@example.com"]),
    ({"role": Role.ADMINISTRATORS}, ["admin@example.com"]),
    ({"is_active": "false"}, ["inactive@example.com"]),
])
def test_list_filters(admin_api, people, params, expected):
    make_account("inactive@example.com", is_active=False)
    response = admin_api.get("/accounts", **params)
    assert response.status_code == 200
    assert sorted(item["email"] for item in response.json()["items"]) == expected


def test_a_scoped_caller_sees_accounts_of_visible_contacts_and_itself(caller, people):
    response = caller("csr").get("/accounts")
    assert response.status_code == 200
    assert [item["email"] for item in response.json()["items"]] == ["csr@example.com", "eu.buyer@example.com"]


@pytest.mark.parametrize("who, expected", [("eu", 200), ("us", 404), ("loose", 404)])
def test_a_scoped_caller_gets_404_for_accounts_outside_its_scope(caller, people, who, expected):
    response = caller("csr").get(f"/accounts/{people[who].pk}")
    assert response.status_code == expected


@pytest.mark.parametrize("params, field", [
    ({"q": "csr\x00"}, "q"), ({"role": "Every\x00one"}, "role"), ({"limit": 501}, "limit"),
    ({"cursor": "not-a-cursor"}, "cursor"), ({"is_active": "perhaps"}, "is_active"),
])
def test_bad_list_parameters_are_422_naming_the_parameter(admin_api, params, field):
    response = admin_api.get("/accounts", **params)
    assert response.status_code == 422
    assert field in field_errors(response)


@pytest.mark.parametrize("ident", ["not-a-uuid", "nobody@example.com", "00000000-0000-0000-0000-000000000000"])
def test_an_unknown_account_is_404(admin_api, ident):
    assert admin_api.get(f"/accounts/{ident}").status_code == 404


@pytest.mark.parametrize("who, status", [(None, 401), ("registered", 403), ("csr", 200), ("admin", 200)])
def test_listing_accounts_needs_the_view_permission(caller, who, status):
    assert caller(who).get("/accounts").status_code == status


def test_listing_accounts_costs_the_same_queries_for_any_page_size(admin_api, people, django_assert_max_num_queries):
    for n in range(20):
        make_account(f"bulk{n:02}@example.com", Role.REGISTERED)
    with django_assert_max_num_queries(8):
        small = admin_api.get("/accounts", limit=2)
    with django_assert_max_num_queries(8):
        large = admin_api.get("/accounts", limit=200)
    assert len(small.json()["items"]) == 2 and len(large.json()["items"]) > 20


# Update -------------------------------------------------------------------------

def test_changing_roles_keeps_everyone_and_is_recorded_with_who_did_it(admin_api, accounts, people):
    account = people["eu"]
    response = admin_api.patch(f"/accounts/{account.pk}", {"roles": [Role.MARKETING_MANAGERS]})
    assert response.status_code == 200, response.content
    assert response.json()["roles"] == sorted([Role.EVERYONE, Role.MARKETING_MANAGERS])
    latest = account.history.order_by("-history_date", "-history_id").first()
    assert latest.history_user == accounts["admin"]
    assert {g.group.name for g in latest.groups.all()} == {Role.EVERYONE, Role.MARKETING_MANAGERS}


def test_patch_sets_a_new_password_that_is_never_returned(admin_api, people):
    response = admin_api.patch(f"/accounts/{people['eu'].pk}", {"password": "Another-long-pass-42"})
    assert response.status_code == 200
    assert "password" not in response.json()
    account = Account.objects.get(pk=people["eu"].pk)
    assert account.check_password("Another-long-pass-42") and account.password.startswith("argon2")


def test_patch_with_a_stale_if_match_is_412_and_changes_nothing(admin_api, people):
    account = people["eu"]
    stale = f'"{account.version}"'
    assert admin_api.patch(f"/accounts/{account.pk}", {"is_active": False},
                           headers={"If-Match": stale}).status_code == 200
    response = admin_api.patch(f"/accounts/{account.pk}", {"email": "changed@example.com"},
                               headers={"If-Match": stale})
    assert response.status_code == 412
    assert Account.objects.get(pk=account.pk).email == "eu.buyer@example.com"


@pytest.mark.parametrize("payload, status, field", [
    ({"email": "us.buyer@example.com"}, 409, "email"),
    ({"email": "nope"}, 422, "email"),
    ({"roles": ["Ghosts"]}, 422, "roles"),
    ({"password": "abc"}, 422, "password"),
    ({"is_active": "maybe"}, 422, "is_active"),
    ({"unknown": 1}, 422, "unknown"),
])
def test_an_invalid_patch_names_the_field_and_changes_nothing(admin_api, people, payload, status, field):
    account = people["eu"]
    response = admin_api.patch(f"/accounts/{account.pk}", payload)
    assert response.status_code == status, response.content
    assert field in field_errors(response)
    fresh = Account.objects.get(pk=account.pk)
    assert (fresh.email, fresh.version, fresh.password) == (account.email, account.version, account.password)


def test_a_caller_without_change_permission_gets_403(caller, people):
    assert caller("csr").patch(f"/accounts/{people['eu'].pk}", {"is_active": False}).status_code == 403


def test_nobody_but_an_administrator_hands_out_a_role_beyond_their_own(accounts, people):
    # given a support lead who may change accounts, but is no administrator
    lead_role = Group.objects.create(name="SupportLeads")
    lead_role.permissions.set(Permission.objects.filter(
        content_type__app_label="customers", codename__in=["view_account", "change_account", "view_contact",
                                                          "view_organization"]))
    accounts["csr"].groups.add(lead_role)
    lead = api_as(Account.objects.get(pk=accounts["csr"].pk))
    # when / then
    for roles in ([Role.ADMINISTRATORS], [Role.MARKETING_MANAGERS]):
        response = lead.patch(f"/accounts/{people['eu'].pk}", {"roles": roles})
        assert response.status_code == 403, roles
    assert lead.patch(f"/accounts/{accounts['csr'].pk}", {"roles": [Role.ADMINISTRATORS]}).status_code == 403
    assert set(people["eu"].groups.values_list("name", flat=True)) == {Role.EVERYONE, Role.REGISTERED}


# Delete -------------------------------------------------------------------------

def test_deleting_an_account_keeps_its_contact(admin_api, people):
    account = people["eu"]
    response = admin_api.delete(f"/accounts/{account.pk}")
    assert response.status_code == 204
    assert not Account.objects.filter(pk=account.pk).exists()
    assert Contact.objects.filter(pk=account.contact_id).exists()


def test_an_administrator_cannot_delete_their_own_account(admin_api, accounts):
    assert admin_api.delete(f"/accounts/{accounts['admin'].pk}").status_code == 409
    assert Account.objects.filter(pk=accounts["admin"].pk).exists()


def test_a_caller_without_delete_permission_gets_403(caller, people):
    assert caller("csr").delete(f"/accounts/{people['eu'].pk}").status_code == 403
    assert Account.objects.filter(pk=people["eu"].pk).exists()


# Addressed by e-mail ------------------------------------------------------------

@pytest.mark.parametrize("ident", ["eu.buyer@example.com", "EU.Buyer@Example.COM"])
def test_an_account_is_found_by_its_e_mail_in_any_case(admin_api, people, ident):
    response = admin_api.get(f"/accounts/{ident}")
    assert response.status_code == 200, response.content
    assert response.json()["id"] == str(people["eu"].pk)
    assert response["ETag"] == f'"{people["eu"].version}"'


@pytest.mark.parametrize("who, expected", [("eu", 200), ("us", 404), ("loose", 404)])
def test_a_scoped_caller_gets_404_by_e_mail_for_accounts_outside_its_scope(caller, people, who, expected):
    assert caller("csr").get(f"/accounts/{people[who].email.upper()}").status_code == expected


def test_an_account_is_changed_and_deleted_by_its_e_mail(admin_api, people):
    # given
    etag = admin_api.get("/accounts/Loose@example.com")["ETag"]
    # when
    changed = admin_api.patch("/accounts/LOOSE@example.com", {"is_active": False}, headers={"If-Match": etag})
    stale = admin_api.patch("/accounts/loose@example.com", {"is_active": True}, headers={"If-Match": etag})
    deleted = admin_api.delete("/accounts/loose@EXAMPLE.com")
    # then
    assert changed.status_code == 200 and changed.json()["is_active"] is False
    assert stale.status_code == 412
    assert deleted.status_code == 204
    assert not Account.objects.filter(pk=people["loose"].pk).exists()


def test_an_administrator_cannot_delete_their_own_account_by_e_mail_either(admin_api, accounts):
    assert admin_api.delete("/accounts/Admin@Example.com").status_code == 409


def test_tokens_are_managed_by_the_account_s_e_mail(admin_api, caller, accounts):
    # an administrator, for another account
    created = admin_api.post("/accounts/CSR@example.com/tokens", {"name": "for csr"})
    assert created.status_code == 201
    assert [t["name"] for t in admin_api.get("/accounts/csr@example.com/tokens").json()["items"]] == ["for csr"]
    assert admin_api.delete(f"/accounts/csr@example.com/tokens/{created.json()['id']}").status_code == 204
    # anyone, for itself, by its own e-mail as by `me` (no token permission needed)
    shopper = caller("registered")
    assert shopper.post("/accounts/Shopper@Example.com/tokens", {"name": "mine"}).status_code == 201
    assert [t["name"] for t in shopper.get("/accounts/me/tokens").json()["items"]] == ["mine"]


def test_a_scoped_caller_gets_404_for_tokens_of_an_account_it_does_not_see_by_e_mail(caller, people):
    from django.contrib.auth.models import Permission
    from tests.conftest import role

    role(Role.CUSTOMER_SERVICE).permissions.add(Permission.objects.get(codename="view_apitoken"))
    assert caller("csr").get("/accounts/us.buyer@example.com/tokens").status_code == 404
    assert caller("csr").get("/accounts/eu.buyer@example.com/tokens").status_code == 200
