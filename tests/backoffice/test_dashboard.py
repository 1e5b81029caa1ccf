"""Issue 10, item 6: the dashboard shows the shop's own sections with counts
and recent changes, all within what the account sees."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clientbase.customers.models import Contact
from clientbase.customers.services.contacts import delete_contact, update_contact
from clientbase.customers.services.organizations import update_organization
from tests.backoffice.conftest import make_contact


def dashboard(client):
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    return response


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def sections(response) -> dict[str, list[str]]:
    return {s["title"]: [i["title"] for i in s["items"]] for s in response.context["dashboard_sections"]}


def test_only_the_shops_sections_show_and_security_only_to_who_may_see_it(login, accounts):
    admin_page, csr_page = dashboard(login("admin")), dashboard(login("csr"))
    assert list(sections(admin_page)) == ["Customers", "Catalog", "Access", "Security"]
    assert "Login lockouts" in sections(admin_page)["Security"]
    assert "Security" not in sections(csr_page)
    for response in (admin_page, csr_page):
        body = text(response)
        # no Django app list: no "Groups" beside Roles, no axes tables by their own names
        assert "Authentication and Authorization" not in body
        assert "Access attempts" not in body and ">Axes<" not in body
    # Roles appear once, as the shop names them
    assert sections(admin_page)["Access"].count("Roles") == 1


def test_counts_are_capped_for_a_scoped_account(login, accounts, people, monkeypatch):
    monkeypatch.setattr("clientbase.backoffice.counts.CAP", 1)
    counts = {i["title"]: str(i["count"]) for s in dashboard(login("csr")).context["dashboard_sections"]
              for i in s["items"] if i["count"] is not None}
    assert counts["Contacts"] == "1+"  # Ann and Bob, counted no further than the cap


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_an_administrator_gets_an_estimate_of_a_big_contact_table(login, accounts, people, monkeypatch):
    monkeypatch.setattr("clientbase.backoffice.counts.CAP", 1)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE customers_contact")
    counts = {i["title"]: str(i["count"]) for s in dashboard(login("admin")).context["dashboard_sections"]
              for i in s["items"] if i["count"] is not None}
    assert counts["Contacts"] == "about 3"  # the statistics, not a count
    # a scoped account is never given the table's estimate
    scoped = {i["title"]: str(i["count"]) for s in dashboard(login("csr")).context["dashboard_sections"]
              for i in s["items"] if i["count"] is not None}
    assert scoped["Contacts"] == "1+"


def test_recent_changes_show_only_what_the_account_sees(login, accounts, world, people):
    # given changes on both sides of the world, and a deleted EU contact
    admin = accounts["admin"]
    update_contact(people["carl"], actor=admin, changes={"first_name": "Carlos"})
    update_organization(world["US-SALES"], actor=admin, changes={"name": "US Sales West"})
    update_contact(people["ann"], actor=admin, changes={"first_name": "Anna"})
    gone = make_contact("Gina", "Gone", world["EU-HQ"])
    delete_contact(gone, actor=admin)

    # when the EU representative opens the dashboard
    body = text(dashboard(login("csr")))

    # then it sees the EU change, by whom, and nothing of the US or the deleted contact
    recent = body[body.index('id="recent-changes"'):]
    assert "Anna Smith" in recent
    for hidden in ("Carlos", "Carl", "US Sales", "Gina"):
        assert hidden not in recent, hidden
    # the administrator sees them all
    admin_recent = text(dashboard(login("admin")))
    assert "Carlos Jones" in admin_recent and "US Sales West" in admin_recent and "Gina Gone" in admin_recent


@pytest.mark.parametrize("viewer", ["admin", "csr"])
def test_the_dashboard_costs_the_same_queries_however_many_changes(login, accounts, world, viewer):
    client = login(viewer)
    dashboard(client)  # warm: session, content types
    with CaptureQueriesContext(connection) as few:
        dashboard(client)
    for i in range(15):
        contact = make_contact(f"P{i}", "Person", world["EU-MGMT"] if i % 2 else world["US-SALES"])
        update_contact(contact, actor=accounts["admin"], changes={"last_name": f"Person{i}"})
    with CaptureQueriesContext(connection) as many:
        response = dashboard(client)
    assert len(many) == len(few) <= 25, [q["sql"][:120] for q in many.captured_queries]
    assert len(response.context["recent_changes"]) == 10
    assert Contact.objects.count() == 15
