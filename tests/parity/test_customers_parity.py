"""One rule, every door: the same caller asking the same thing through the API
and through the back office gets the same outcome, and the database ends the
same. Each case fails when a door keeps a rule of its own (or forgets one).

Outcomes are compared coarsely, as a user sees them: `done` (the change is
made), `refused` (403, 409, 412 or 422 in the API; 403, a form error or an
error message in the back office) and `not_found` (404 in both).
"""

from dataclasses import dataclass
from typing import Callable

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from clientbase.customers.models import (
    Account, Contact, CustomerGroup, Grant, Organization, Role, RoleVersion,
)
from tests.conftest import ApiClient, make_account

NEW_PASSWORD = "Brand-new-pass-456"


def give(account: Account, *codenames: str) -> Account:
    account.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return Account.objects.get(pk=account.pk)  # fresh permission cache


def api_outcome(response) -> str:
    if response.status_code < 300:
        return "done"
    if response.status_code == 404:
        return "not_found"
    assert response.status_code in (403, 409, 412, 422), response.content
    return "refused"


def backoffice_outcome(response, changed: bool) -> str:
    if response.status_code == 404:
        return "not_found"
    if response.status_code == 403:
        return "refused"
    assert response.status_code in (200, 302), response.status_code
    errors = [m for m in get_messages(response.wsgi_request) if m.level_tag == "error"]
    form_errors = response.status_code == 200 and _has_form_errors(response)
    if errors or form_errors:
        assert not changed, "refused, yet the change was made"
        return "refused"
    return "done" if changed else "refused"


def _has_form_errors(response) -> bool:
    context = response.context or {}
    for name in ("adminform", "form"):
        form = context.get(name)
        form = getattr(form, "form", form)
        if form is not None and getattr(form, "errors", None):
            return True
    return bool(context.get("errors"))


@dataclass
class Doors:
    api: ApiClient
    backoffice: Client


@pytest.fixture
def doors(accounts) -> Callable[[Account], Doors]:
    def make(account: Account) -> Doors:
        web = Client()
        web.force_login(account)
        api_client = Client()
        api_client.force_login(account)
        return Doors(ApiClient(api_client, account), web)
    return make


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def contact_in(*orgs: Organization, **fields) -> Contact:
    contact = Contact.objects.create(**fields)
    contact.organizations.add(*orgs)
    return contact


def both(doors_for, account, api_call, backoffice_call, state, reset=None):
    """Run the same request through both doors from the same starting point;
    returns each door's outcome and the state after it."""
    results = {}
    before = state()
    for door in ("api", "backoffice"):
        d = doors_for(account)
        if door == "api":
            outcome = api_outcome(api_call(d.api))
        else:
            response = backoffice_call(d.backoffice)
            outcome = backoffice_outcome(response, changed=state() != before)
        results[door] = (outcome, state())
        if reset is not None:
            reset()
    return results


# --- organizations: roots and moves ----------------------------------------------

def test_a_scoped_staff_member_moves_no_organization_to_the_top(doors, accounts, world):
    # given a representative who may change organizations, managing EU HQ and below
    csr = give(accounts["csr"], "change_organization")
    mgmt = world["EU-MGMT"]
    state = lambda: Organization.objects.get(pk=mgmt.pk).parent_id  # noqa: E731
    # when
    results = both(
        doors, csr,
        lambda api: api.post("/organizations/EU-MGMT/move", {"parent": None}),
        lambda web: web.post(reverse("admin:customers_organization_move", args=[mgmt.pk]),
                             {"parent": "", "expected_version": mgmt.version}),
        state)
    # then
    assert results["api"] == results["backoffice"] == ("refused", world["EU-HQ"].pk)


def test_a_scoped_staff_member_creates_no_root_but_may_create_below_what_it_manages(doors, accounts, world):
    csr = give(accounts["csr"], "add_organization")
    count = lambda: Organization.objects.count()  # noqa: E731
    form = {"name": "New root", "key": "", "kind": "organization", "parent": ""}
    results = both(doors, csr,
                   lambda api: api.post("/organizations", {"name": "New root"}),
                   lambda web: web.post(reverse("admin:customers_organization_add"), form),
                   count)
    assert results["api"] == results["backoffice"] == ("refused", 5)

    results = both(
        doors, csr,
        lambda api: api.post("/organizations", {"name": "EU Branch", "parent": "EU-HQ"}),
        lambda web: web.post(reverse("admin:customers_organization_add"),
                             {**form, "name": "EU Branch 2", "parent": str(world["EU-HQ"].pk)}),
        count)
    assert results["api"][0] == results["backoffice"][0] == "done"
    assert count() == 7


def test_an_organization_the_caller_cannot_see_is_not_found_through_either_door(doors, accounts, world):
    csr = give(accounts["csr"], "change_organization")
    us = world["US-SALES"]
    results = both(
        doors, csr,
        lambda api: api.post("/organizations/US-SALES/move", {"parent": "EU-HQ"}),
        lambda web: web.post(reverse("admin:customers_organization_move", args=[us.pk]),
                             {"parent": str(world["EU-HQ"].pk)}),
        lambda: Organization.objects.get(pk=us.pk).parent_id)
    assert results["api"] == results["backoffice"] == ("not_found", world["US-HQ"].pk)


# --- contacts: membership scope and versions ------------------------------------------

def test_a_contact_is_never_left_only_where_its_editor_may_merely_view(doors, accounts, world):
    # given a representative who manages EU HQ and below and may only view US Sales
    csr = accounts["csr"]
    Grant.objects.create(account=csr, organization=world["US-SALES"], level="view")
    anna = contact_in(world["EU-MGMT"], world["US-SALES"], first_name="Anna", last_name="Schmidt",
                      key="ANNA")
    memberships = lambda: sorted(Contact.objects.get(pk=anna.pk).organizations  # noqa: E731
                                 .values_list("key", flat=True))
    form = {"first_name": "Anna", "last_name": "Schmidt", "email": "", "phone": "", "key": "ANNA",
            "preferred_language": "", "preferred_currency": "", "birth_date": "",
            "source": "back_office", "addresses-TOTAL_FORMS": "0", "addresses-INITIAL_FORMS": "0",
            "expected_version": anna.version}
    # when each door tries to drop the one organization it manages
    results = both(
        doors, csr,
        lambda api: api.patch("/contacts/ANNA", {"organizations": ["US-SALES"]}),
        lambda web: web.post(reverse("admin:customers_contact_change", args=[anna.pk]), form),
        memberships)
    # then
    assert results["api"] == results["backoffice"] == ("refused", ["EU-MGMT", "US-SALES"])


def test_a_stale_version_is_refused_by_both_doors(doors, accounts, world):
    admin = accounts["admin"]
    anna = contact_in(world["EU-MGMT"], first_name="Anna", last_name="Schmidt", key="ANNA")
    stale = anna.version
    Contact.objects.get(pk=anna.pk).save()  # someone else saved meanwhile
    name = lambda: Contact.objects.get(pk=anna.pk).first_name  # noqa: E731
    form = {"first_name": "Anne", "last_name": "Schmidt", "email": "", "phone": "", "key": "ANNA",
            "preferred_language": "", "preferred_currency": "", "birth_date": "",
            "source": "back_office", "organizations": [str(world["EU-MGMT"].pk)],
            "addresses-TOTAL_FORMS": "0", "addresses-INITIAL_FORMS": "0",
            "expected_version": stale}
    results = both(
        doors, admin,
        lambda api: api.patch("/contacts/ANNA", {"first_name": "Anne"}, headers={"If-Match": f'"{stale}"'}),
        lambda web: web.post(reverse("admin:customers_contact_change", args=[anna.pk]), form),
        name)
    assert results["api"] == results["backoffice"] == ("refused", "Anna")


def test_a_contact_invisible_to_the_caller_is_not_found_through_either_door(doors, accounts, world):
    carl = contact_in(world["US-SALES"], first_name="Carl", key="CARL")
    results = both(
        doors, accounts["csr"],
        lambda api: api.delete("/contacts/CARL"),
        lambda web: web.post(reverse("admin:customers_contact_delete", args=[carl.pk]), {"post": "yes"}),
        lambda: Contact.objects.filter(pk=carl.pk).exists())
    assert results["api"] == results["backoffice"] == ("not_found", True)


@pytest.mark.parametrize("term", ["anna maria schmidt", "schmidt anna", "anna m", "ANNA@EX", "A-1"])
def test_the_contact_search_finds_the_same_contacts_through_both_doors(doors, accounts, world, term):
    contact_in(world["EU-MGMT"], first_name="Anna Maria", last_name="Schmidt", key="A-1",
               email="anna@example.com")
    contact_in(world["EU-MGMT"], first_name="Maria", last_name="Anders")
    d = doors(accounts["admin"])
    api_found = {c["first_name"] for c in d.api.get("/contacts", q=term).json()["items"]}
    page = d.backoffice.get(reverse("admin:customers_contact_changelist"), {"q": term})
    backoffice_found = {c.first_name for c in page.context["cl"].result_list}
    assert api_found == backoffice_found == {"Anna Maria"}


# --- accounts: delegation and own account ---------------------------------------------

@pytest.fixture
def catalog_manager(world):
    """A catalog manager whose contact is in EU Management (inside the CSR's scope)."""
    contact = contact_in(world["EU-MGMT"], first_name="Cat", key="CAT")
    return make_account("catalog@example.com", Role.CATALOG_MANAGERS, contact=contact)


def _password_unchanged(account):
    return lambda: Account.objects.get(pk=account.pk).password


def test_nobody_sets_the_password_of_someone_who_holds_more_than_they_do(doors, accounts, catalog_manager):
    csr = give(accounts["csr"], "change_account")
    results = both(
        doors, csr,
        lambda api: api.patch(f"/accounts/{catalog_manager.pk}", {"password": NEW_PASSWORD}),
        lambda web: web.post(reverse("admin:auth_user_password_change", args=[catalog_manager.pk]),
                             {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD,
                              "usable_password": "true"}),
        _password_unchanged(catalog_manager))
    assert results["api"][0] == results["backoffice"][0] == "refused"
    assert not Account.objects.get(pk=catalog_manager.pk).check_password(NEW_PASSWORD)


def test_nobody_sets_the_password_of_an_account_it_may_only_view(doors, accounts, world):
    csr = give(accounts["csr"], "change_account")
    Grant.objects.create(account=csr, organization=world["US-SALES"], level="view")
    shopper = make_account("us-shopper@example.com", Role.REGISTERED,
                           contact=contact_in(world["US-SALES"], first_name="Uma"))
    results = both(
        doors, csr,
        lambda api: api.patch(f"/accounts/{shopper.pk}", {"password": NEW_PASSWORD}),
        lambda web: web.post(reverse("admin:auth_user_password_change", args=[shopper.pk]),
                             {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD,
                              "usable_password": "true"}),
        _password_unchanged(shopper))
    assert results["api"][0] == results["backoffice"][0] == "refused"
    assert not Account.objects.get(pk=shopper.pk).check_password(NEW_PASSWORD)


def test_a_password_within_the_rules_is_set_through_both_doors(doors, accounts, world):
    csr = give(accounts["csr"], "change_account")
    shopper = make_account("eu-shopper@example.com", Role.REGISTERED,
                           contact=contact_in(world["EU-MGMT"], first_name="Eva"))
    results = both(
        doors, csr,
        lambda api: api.patch(f"/accounts/{shopper.pk}", {"password": NEW_PASSWORD}),
        lambda web: web.post(reverse("admin:auth_user_password_change", args=[shopper.pk]),
                             {"password1": NEW_PASSWORD + "x", "password2": NEW_PASSWORD + "x",
                              "usable_password": "true"}),
        _password_unchanged(shopper))
    assert results["api"][0] == results["backoffice"][0] == "done"
    assert Account.objects.get(pk=shopper.pk).check_password(NEW_PASSWORD + "x")


def test_nobody_deletes_their_own_account(doors, accounts):
    admin = accounts["admin"]
    results = both(
        doors, admin,
        lambda api: api.delete(f"/accounts/{admin.pk}"),
        lambda web: web.post(reverse("admin:customers_account_delete", args=[admin.pk]), {"post": "yes"}),
        lambda: Account.objects.filter(pk=admin.pk).exists())
    assert results["api"] == results["backoffice"] == ("refused", True)


# --- versions move on whichever door wrote ------------------------------------------------

def test_a_role_changed_in_the_back_office_makes_an_old_etag_stale(doors, accounts):
    admin_doors = doors(accounts["admin"])
    role = Group.objects.get(name=Role.MARKETING_MANAGERS)
    etag = admin_doors.api.get(f"/roles/{role.pk}")["ETag"]
    # when the back office changes the role's permissions
    response = admin_doors.backoffice.post(
        reverse("admin:auth_group_change", args=[role.pk]),
        {"name": role.name, "permissions": [p.pk for p in role.permissions.all()[:2]]})
    assert response.status_code == 302
    # then an API client still holding the old ETag is refused
    stale = admin_doors.api.patch(f"/roles/{role.pk}", {"permissions": []}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert RoleVersion.of(role).etag != etag


def test_an_account_changed_in_the_back_office_makes_an_old_etag_stale(doors, accounts, world):
    admin_doors = doors(accounts["admin"])
    shopper = make_account("eu-shopper@example.com", Role.REGISTERED)
    etag = admin_doors.api.get(f"/accounts/{shopper.pk}")["ETag"]
    registered, marketing = Group.objects.get(name=Role.REGISTERED), Group.objects.get(name=Role.MARKETING_MANAGERS)
    everyone = Group.objects.get(name=Role.EVERYONE)
    response = admin_doors.backoffice.post(
        reverse("admin:customers_account_change", args=[shopper.pk]),
        {"email": shopper.email, "groups": [everyone.pk, registered.pk, marketing.pk], "is_active": "on",
         "expected_version": shopper.version})
    assert response.status_code == 302
    stale = admin_doors.api.patch(f"/accounts/{shopper.pk}", {"roles": [Role.REGISTERED]},
                                  headers={"If-Match": etag})
    assert stale.status_code == 412
    assert Account.objects.get(pk=shopper.pk).groups.filter(name=Role.MARKETING_MANAGERS).exists()


# --- grants and customer groups ----------------------------------------------------------

def test_nobody_grants_on_an_organization_they_may_only_view(doors, accounts, world):
    csr = give(accounts["csr"], "add_grant")
    Grant.objects.create(account=csr, organization=world["US-SALES"], level="view")
    other = accounts["csr_nogrant"]
    count = lambda: Grant.objects.filter(account=other).count()  # noqa: E731
    results = both(
        doors, csr,
        lambda api: api.post("/grants", {"account": str(other.pk), "organization": "US-SALES",
                                         "level": "view"}),
        lambda web: web.post(reverse("admin:customers_grant_add"),
                             {"account": str(other.pk), "organization": str(world["US-SALES"].pk),
                              "level": "view", "include_descendants": "on", "role": ""}),
        count)
    assert results["api"] == results["backoffice"] == ("refused", 0)


def test_a_grant_within_what_the_caller_manages_is_made_through_both_doors(doors, accounts, world):
    csr = give(accounts["csr"], "add_grant")
    marketing = Group.objects.get(name=Role.MARKETING_MANAGERS)
    count = lambda: Grant.objects.filter(role=marketing).count()  # noqa: E731
    results = both(
        doors, csr,
        lambda api: api.post("/grants", {"role": marketing.name, "organization": "EU-MGMT"}),
        lambda web: web.post(reverse("admin:customers_grant_add"),
                             {"role": str(marketing.pk), "organization": str(world["EU-HQ"].pk),
                              "level": "view", "include_descendants": "on", "account": ""}),
        count)
    assert (results["api"], results["backoffice"]) == (("done", 1), ("done", 2))


def test_a_customer_group_change_needs_the_permission_through_both_doors(doors, accounts, world):
    # given a representative, who may view customer groups but not change them
    gold = world["GOLD"]
    name = lambda: CustomerGroup.objects.get(pk=gold.pk).name  # noqa: E731
    results = both(
        doors, accounts["csr"],
        lambda api: api.patch("/customer-groups/GOLD", {"name": "Platinum"}),
        lambda web: web.post(reverse("admin:customers_customergroup_change", args=[gold.pk]),
                             {"name": "Platinum", "key": "GOLD", "parent": str(gold.parent_id),
                              "description": "", "expected_version": gold.version}),
        name)
    assert results["api"] == results["backoffice"] == ("refused", "Gold")


def test_a_customer_group_saved_over_a_newer_version_is_refused_through_both_doors(doors, accounts, world):
    gold = world["GOLD"]
    stale = gold.version
    CustomerGroup.objects.get(pk=gold.pk).save()  # someone else saved meanwhile
    name = lambda: CustomerGroup.objects.get(pk=gold.pk).name  # noqa: E731
    results = both(
        doors, accounts["admin"],
        lambda api: api.patch("/customer-groups/GOLD", {"name": "Platinum"},
                              headers={"If-Match": f'"{stale}"'}),
        lambda web: web.post(reverse("admin:customers_customergroup_change", args=[gold.pk]),
                             {"name": "Platinum", "key": "GOLD", "parent": str(gold.parent_id),
                              "description": "", "expected_version": stale}),
        name)
    assert results["api"] == results["backoffice"] == ("refused", "Gold")


# --- personal API tokens ----------------------------------------------------------------

def test_everyone_makes_their_own_tokens_through_both_doors(doors, accounts):
    csr = accounts["csr"]  # no token permission at all
    count = lambda: csr.api_tokens.count()  # noqa: E731
    results = both(
        doors, csr,
        lambda api: api.post("/accounts/me/tokens", {"name": "mine"}),
        lambda web: web.post(reverse("admin:customers_apitoken_add"),
                             {"account": str(csr.pk), "name": "mine", "expires_at_0": "",
                              "expires_at_1": ""}),
        count)
    assert (results["api"], results["backoffice"]) == (("done", 1), ("done", 2))


def test_nobody_makes_a_token_for_someone_who_holds_more_than_they_do(doors, accounts, catalog_manager):
    csr = give(accounts["csr"], "add_apitoken", "view_apitoken", "change_account")
    count = lambda: catalog_manager.api_tokens.count()  # noqa: E731
    results = both(
        doors, csr,
        lambda api: api.post(f"/accounts/{catalog_manager.pk}/tokens", {"name": "theirs"}),
        lambda web: web.post(reverse("admin:customers_apitoken_add"),
                             {"account": str(catalog_manager.pk), "name": "theirs",
                              "expires_at_0": "", "expires_at_1": ""}),
        count)
    assert results["api"] == results["backoffice"] == ("refused", 0)


def test_a_delete_confirmed_over_a_newer_version_is_refused_through_both_doors(doors, accounts, world):
    # given a contact whose delete page was shown (it names the version it showed)
    admin = accounts["admin"]
    anna = contact_in(world["EU-MGMT"], first_name="Anna", key="ANNA")
    web = doors(admin).backoffice
    shown = web.get(reverse("admin:customers_contact_delete", args=[anna.pk]))
    assert shown.status_code == 302 and f"version={anna.version}" in shown["Location"]
    stale = anna.version
    Contact.objects.get(pk=anna.pk).save()  # someone else saved meanwhile
    results = both(
        doors, admin,
        lambda api: api.delete("/contacts/ANNA", headers={"If-Match": f'"{stale}"'}),
        lambda web: web.post(shown["Location"], {"post": "yes"}),
        lambda: Contact.objects.filter(pk=anna.pk).exists())
    assert results["api"] == results["backoffice"] == ("refused", True)
