"""Issue 10, item 5: "what can this account see and do" — roles and
permissions, grants with what they cover, and a read-only "view as" of the
organization tree and the contact list, within what the viewer sees."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clientbase.customers.models import Grant, Organization, Role
from clientbase.customers.services.organizations import create_organization
from tests.backoffice.conftest import make_contact
from tests.conftest import make_account


def scope_url(account) -> str:
    return reverse("admin:customers_account_scope", args=[account.pk])


def shown(response, css_class: str) -> list[str]:
    """The text of each element with `css_class` (a crude reading of the page)."""
    import re

    body = response.content.decode()
    return [re.sub(r"<[^>]+>|\s+", " ", m).strip()
            for m in re.findall(rf'<li class="{css_class}"[^>]*>(.*?)</li>', body, re.S)]


def test_the_account_page_links_to_what_it_can_see(login, accounts):
    response = login("admin").get(reverse("admin:customers_account_change", args=[accounts["csr"].pk]))
    assert scope_url(accounts["csr"]) in response.content.decode()


def test_an_administrator_sees_the_csr_roles_grants_and_view_as(login, accounts, people):
    # when an administrator opens the page of the EU representative
    response = login("admin").get(scope_url(accounts["csr"]))

    # then its role's permissions are listed by area, in words
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-role="CustomerServiceRepresentatives"' in body
    assert "Can view contact" in body and "Customers" in body and "Catalog" in body
    # its grant: EU Headquarters, manage, with the one organization below
    assert 'data-organization="EU-HQ"' in body
    assert "and 1 organization below" in body and "through this account" in body
    assert "EU Management" in body
    # and the lists exactly as it sees them
    assert shown(response, "view-as-organization") == ["EU Headquarters", "└ EU Management"]
    contacts = " ".join(shown(response, "view-as-contact"))
    assert "Ann Smith" in contacts and "Bob Blacksmith" in contacts and "Carl Jones" not in contacts
    assert "US Headquarters" not in body and "US Sales" not in body


def test_a_role_grant_counts_and_is_named_by_its_role(login, accounts, world):
    Grant.objects.create(role=Group.objects.get(name=Role.CUSTOMER_SERVICE), organization=world["US-HQ"])
    response = login("admin").get(scope_url(accounts["csr_nogrant"]))
    body = response.content.decode()
    assert "through role CustomerServiceRepresentatives" in body
    assert shown(response, "view-as-organization") == ["US Headquarters", "└ US Sales"]


def test_a_scoped_viewer_learns_nothing_beyond_its_own_visibility(login, accounts, world, people):
    # given an account (of a contact the EU representative sees) whose grants
    # cover the EU and the US
    lead = make_account("lead@example.com", Role.CUSTOMER_SERVICE, contact=people["bob"])
    Grant.objects.create(account=lead, organization=world["EU-HQ"], level="view")
    Grant.objects.create(account=lead, organization=world["US-HQ"], level="manage")

    # when the EU representative, allowed to view grants, opens its page
    accounts["csr"].user_permissions.add(Permission.objects.get(codename="view_grant"))
    response = login("csr").get(scope_url(lead))

    # then only the EU part shows: no US grant, organization or contact, and
    # the counts are those of what the representative sees
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-organization="EU-HQ"' in body
    for hidden in ("US-HQ", "US Headquarters", "US Sales", "Carl", str(world["US-HQ"].pk)):
        assert hidden not in body, hidden
    assert shown(response, "view-as-organization") == ["EU Headquarters", "└ EU Management"]
    assert "(2)" in body  # organizations, not 4
    assert "only within what you can see yourself" in body

    # and the administrator, who sees everything, gets the whole picture
    admin_view = login("admin").get(scope_url(lead)).content.decode()
    assert 'data-organization="US-HQ"' in admin_view and "Carl Jones" in admin_view


def test_an_account_the_viewer_cannot_see_is_a_404(login, accounts, world):
    us_rep = make_account("us-rep@example.com", Role.CUSTOMER_SERVICE,
                          contact=make_contact("Uma", "Stone", world["US-SALES"]))
    assert login("csr").get(scope_url(us_rep)).status_code == 404
    assert login("csr").get("/admin/customers/account/not-a-uuid/scope/").status_code == 404


def test_staff_who_may_not_view_accounts_are_refused(login, accounts, client):
    catalog = make_account("cat@example.com", Role.CATALOG_MANAGERS)
    client.force_login(catalog)
    assert client.get(scope_url(catalog)).status_code == 403


def test_lists_the_account_may_not_open_say_why(login, accounts):
    catalog = make_account("cat@example.com", Role.CATALOG_MANAGERS)
    body = login("admin").get(scope_url(catalog)).content.decode()
    assert "may not open the contact list" in body and "may not open the organization list" in body


def test_an_inactive_account_sees_nothing(login, accounts, people):
    csr = accounts["csr"]
    csr.is_active = False
    csr.save()
    response = login("admin").get(scope_url(csr))
    assert "Inactive" in response.content.decode()
    assert shown(response, "view-as-contact") == []


def _widen(world, account, n: int) -> None:
    """n more organizations under US Sales, each granted to `account`."""
    for i in range(n):
        org = create_organization(actor=None, name=f"Branch {i}", key=f"BR-{i}", parent=world["US-SALES"])
        Grant.objects.create(account=account, organization=org, include_descendants=i % 2 == 0)
        make_contact(f"P{i}", "Person", org)


@pytest.mark.parametrize("viewer", ["admin", "csr"])
def test_the_page_costs_the_same_queries_however_many_grants(login, accounts, world, people, viewer):
    lead = make_account("lead@example.com", Role.CUSTOMER_SERVICE, contact=people["bob"])
    Grant.objects.create(account=lead, organization=world["EU-HQ"])
    client = login(viewer)
    client.get(scope_url(lead))  # sessions, content types: warm
    with CaptureQueriesContext(connection) as few:
        assert client.get(scope_url(lead)).status_code == 200
    _widen(world, lead, 6)
    with CaptureQueriesContext(connection) as many:
        assert client.get(scope_url(lead)).status_code == 200
    assert len(many) == len(few) <= 25, [q["sql"] for q in many.captured_queries]
    assert Organization.objects.count() > 6


def test_grants_and_role_permissions_need_their_own_view_permissions(login, accounts, people):
    # the EU representative may view accounts, but neither grants nor roles
    body = login("csr").get(scope_url(accounts["csr"])).content.decode()
    assert 'id="grants-refused"' in body and 'data-organization="EU-HQ"' not in body
    assert "Its permissions show to those who may view roles" in body
    assert "Can view contact" not in body
    # what the grants give, within what it sees, still shows
    assert "EU Management" in body and "Ann Smith" in body
