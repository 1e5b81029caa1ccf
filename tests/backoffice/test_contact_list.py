"""The contact list's filters and columns: organization with its subtree,
customer group direct or effective, source, account, creation date; only
what the staff member sees is offered or listed; the page's queries do not
grow with its size."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clientbase.customers.models import Contact, Grant
from tests.backoffice.conftest import make_contact
from tests.conftest import make_account

LIST = "admin:customers_contact_changelist"


def listed(client, **params) -> set[str]:
    response = client.get(reverse(LIST), params)
    assert response.status_code == 200
    return {str(c) for c in response.context["cl"].result_list}


@pytest.fixture
def tiers(world, people):
    """Ann is Gold herself; EU Headquarters is Silver (so Ann and Bob are
    Silver through it); Carl (US Sales) has an account."""
    people["ann"].customer_groups.add(world["GOLD"])
    world["EU-HQ"].customer_groups.add(world["SILVER"])
    account = make_account("carl-login@example.com")
    account.contact = people["carl"]
    account.save()
    return people


@pytest.mark.parametrize("params, expected", [
    ({"organization": "EU-HQ"}, {"Bob Blacksmith"}),
    ({"organization": "EU-HQ", "subtree": "1"}, {"Ann Smith", "Bob Blacksmith"}),
    ({"organization": "ADMIN", "subtree": "1"}, {"Ann Smith", "Bob Blacksmith"}),
    ({"organization": "US-HQ", "subtree": "1"}, {"Carl Jones"}),
    ({"customer_group": "GOLD"}, {"Ann Smith"}),
    ({"customer_group": "SILVER"}, set()),
    ({"effective_group": "SILVER"}, {"Ann Smith", "Bob Blacksmith"}),
    ({"effective_group": "CUSTOMERS"}, {"Ann Smith", "Bob Blacksmith"}),
    ({"has_account": "yes"}, {"Carl Jones"}),
    ({"has_account": "no"}, {"Ann Smith", "Bob Blacksmith"}),
    ({"source": "back_office"}, {"Ann Smith", "Bob Blacksmith", "Carl Jones"}),
    ({"source": "import"}, set()),
])
def test_the_list_filters_by_organization_group_source_and_account(login, tiers, world, params, expected):
    if "organization" in params:
        params = {**params, "organization": str(world[params["organization"]].pk)}
    assert listed(login("admin"), **params) == expected


def test_the_list_filters_by_creation_date_whole_days(login, tiers):
    # given: Carl was created three days ago
    three_days_ago = timezone.localtime() - timedelta(days=3)
    Contact.objects.filter(pk=tiers["carl"].pk).update(created_at=three_days_ago)
    day = three_days_ago.date().isoformat()
    # then: a range of that one day holds him alone
    assert listed(login("admin"), created_at_from=day, created_at_to=day) == {"Carl Jones"}
    assert listed(login("admin"), created_at_from=timezone.localdate().isoformat()) == {
        "Ann Smith", "Bob Blacksmith"}


@pytest.mark.parametrize("params", [{"created_at_from": "9999-12-31"}, {"created_at_to": "9999-12-31"},
                                    {"created_at_from": "0001-01-01"}, {"created_at_from": "not a date"}])
def test_a_date_at_the_calendars_edge_or_no_date_is_no_error(login, tiers, params):
    assert login("admin").get(reverse(LIST), params).status_code == 200


def test_an_organization_outside_the_scope_lists_nothing(login, tiers, world):
    assert listed(login("csr"), organization=str(world["US-HQ"].pk), subtree="1") == set()
    assert listed(login("csr"), organization="not-a-uuid") == set()


def test_an_effective_group_lists_only_the_contacts_in_scope(login, tiers, world):
    world["US-HQ"].customer_groups.add(world["GOLD"])
    assert listed(login("admin"), effective_group="GOLD") == {"Ann Smith", "Carl Jones"}
    assert listed(login("csr"), effective_group="GOLD") == {"Ann Smith"}


def test_the_organization_choices_offer_only_visible_organizations(login, world):
    url = reverse("admin:customers_contact_organization_choices")
    csr = {r["text"] for r in login("csr").get(url, {"term": ""}).json()["results"]}
    admin = {r["text"] for r in login("admin").get(url, {"term": "us"}).json()["results"]}
    assert csr == {"EU Headquarters (EU-HQ)", "EU Management (EU-MGMT)"}
    assert admin == {"US Headquarters (US-HQ)", "US Sales (US-SALES)"}


def test_a_filter_never_names_an_organization_the_viewer_cannot_see(login, tiers, world):
    response = login("csr").get(reverse(LIST), {"organization": str(world["US-HQ"].pk)})
    assert response.status_code == 200
    assert "US Headquarters" not in response.content.decode()


def test_the_columns_show_visible_organizations_groups_and_account(login, tiers, world):
    # given: Ann is also in US Sales, which the representative cannot see
    tiers["ann"].organizations.add(world["US-SALES"])
    page = login("csr").get(reverse(LIST)).content.decode()
    assert "EU Management" in page and "GOLD" in page
    assert "US Sales" not in page


def test_the_list_is_not_counted_twice_nor_faceted(login, tiers):
    response = login("admin").get(reverse(LIST), {"_facets": "1"})
    cl = response.context["cl"]
    assert cl.show_full_result_count is False
    assert cl.add_facets is False


@pytest.mark.parametrize("who", ["admin", "csr"])
@pytest.mark.parametrize("params", [
    {}, {"effective_group": "CUSTOMERS"}, {"organization": "EU-HQ", "subtree": "1"},
    {"has_account": "no", "customer_group": "GOLD"},
], ids=["all", "effective", "subtree", "direct+account"])
def test_the_filtered_list_costs_the_same_queries_for_5_and_50_contacts(login, world, who, params):
    if "organization" in params:
        params = {**params, "organization": str(world["EU-HQ"].pk)}
    world["EU-HQ"].customer_groups.add(world["SILVER"])
    client = login(who)

    def add(count: int, offset: int) -> None:
        for i in range(offset, offset + count):
            contact = make_contact(f"P{i}", f"Q{i}", world["EU-MGMT"], world["EU-HQ"])
            contact.customer_groups.add(world["GOLD"])

    def queries(n: int) -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(reverse(LIST), params)
        assert response.status_code == 200
        assert len(response.context["cl"].result_list) == n
        return len(ctx.captured_queries)

    add(5, 0)
    small = queries(5)
    add(45, 5)
    assert queries(50) == small
    assert small <= 25


def test_a_view_grant_shows_its_organizations_in_the_filter(login, accounts, world):
    Grant.objects.create(account=accounts["csr"], organization=world["US-SALES"], level="view",
                         include_descendants=False)
    url = reverse("admin:customers_contact_organization_choices")
    found = {r["text"] for r in login("csr").get(url, {"term": "US"}).json()["results"]}
    assert found == {"US Sales (US-SALES)"}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the planner's estimate is PostgreSQL's")
def test_a_large_list_takes_the_planners_estimate_instead_of_counting(login, tiers, monkeypatch):
    from clientbase.backoffice import contact_filters

    # given: "large" starts at zero rows
    monkeypatch.setattr(contact_filters, "ESTIMATE_ABOVE", -1)
    # when
    with CaptureQueriesContext(connection) as ctx:
        response = login("admin").get(reverse(LIST))
    # then: no COUNT ran; the planner answered
    sql = [q["sql"].upper() for q in ctx.captured_queries]
    assert not any("COUNT(" in s for s in sql)
    assert any(s.startswith("EXPLAIN") for s in sql)
    assert response.context["cl"].result_count >= 0
