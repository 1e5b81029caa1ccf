"""/api/v1/contacts filters for campaigns and service work: organization with
its subtree, direct and effective customer group, source, account, creation
time; bad values are 422 problems; what the caller cannot see is unknown."""

from datetime import timedelta

import pytest
from django.utils import timezone

from clientbase.customers.models import Contact, Grant
from tests.api.test_contacts import new_contact, people  # noqa: F401 (people: the fixture)
from tests.conftest import make_account


@pytest.fixture
def tiers(world, people):  # noqa: F811
    """Anna is Gold herself; US Headquarters is Gold, so Dora (US Sales)
    is Gold through an ancestor; Ben is Silver; Carl has no group and
    came from an import."""
    people["ANNA"].customer_groups.add(world["GOLD"])
    world["US-HQ"].customer_groups.add(world["GOLD"])
    people["BEN"].customer_groups.add(world["SILVER"])
    Contact.objects.filter(key="CARL").update(source="import")
    return people


def keys(response) -> set[str]:
    assert response.status_code == 200, response.json()
    return {item["key"] for item in response.json()["items"]}


@pytest.mark.parametrize("params, expected", [
    ({"organization": "EU-HQ", "subtree": "true"}, {"ANNA", "BEN"}),
    ({"organization": "EU-HQ", "include_descendants": "true"}, {"ANNA", "BEN"}),  # the older name
    ({"organization": "EU-HQ"}, {"BEN"}),
    ({"effective_group": "GOLD"}, {"ANNA", "DORA"}),
    ({"effective_group": "CUSTOMERS"}, {"ANNA", "BEN", "DORA"}),
    ({"customer_group": "GOLD"}, {"ANNA"}),
    ({"effective_group": "GOLD", "organization": "ADMIN", "subtree": "true"}, {"ANNA"}),
    ({"source": "back_office"}, {"ANNA", "BEN", "DORA"}),
    ({"source": "import"}, {"CARL"}),
])
def test_the_list_filters_by_organization_subtree_and_groups(admin_api, tiers, params, expected):
    assert keys(admin_api.get("/contacts", **params)) == expected


def test_everyone_effectively_in_gold_is_listed_by_the_groups_id_too(admin_api, tiers, world):
    assert keys(admin_api.get("/contacts", effective_group=str(world["GOLD"].pk))) == {"ANNA", "DORA"}


def test_the_list_filters_by_creation_time(admin_api, tiers):
    # given: Carl was created two days ago
    two_days_ago = timezone.now() - timedelta(days=2)
    Contact.objects.filter(key="CARL").update(created_at=two_days_ago)
    yesterday = (timezone.now() - timedelta(days=1)).isoformat()
    # then
    assert keys(admin_api.get("/contacts", created_before=yesterday)) == {"CARL"}
    assert keys(admin_api.get("/contacts", created_after=yesterday)) == {"ANNA", "BEN", "DORA"}
    assert keys(admin_api.get("/contacts", created_after=two_days_ago.date().isoformat(),
                              created_before=yesterday)) == {"CARL"}


def test_has_account_filters_both_ways(admin_api, tiers):
    account = make_account("ben-login@example.com")
    account.contact = tiers["BEN"]
    account.save()
    assert keys(admin_api.get("/contacts", has_account="true")) == {"BEN"}
    assert keys(admin_api.get("/contacts", has_account="false")) == {"ANNA", "CARL", "DORA"}


@pytest.mark.parametrize("params, field", [
    ({"effective_group": "PLATINUM"}, "effective_group"),
    ({"customer_group": "PLATINUM"}, "customer_group"),
    ({"organization": "NOWHERE", "subtree": "true"}, "organization"),
    ({"has_account": "perhaps"}, "has_account"),
    ({"subtree": "deep"}, "subtree"),
    ({"source": "fax"}, "source"),
    ({"created_after": "yesterday"}, "created_after"),
    ({"created_after": "2026-02-01", "created_before": "2026-01-01"}, "created_before"),
    ({"created_after": "9999-12-31T23:59:59-14:00"}, "created_after"),
    ({"created_before": "0001-01-01T00:00:00+14:00"}, "created_before"),
])
def test_a_bad_filter_value_is_a_422_problem_naming_the_field(admin_api, tiers, params, field):
    response = admin_api.get("/contacts", **params)
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert field in {e["field"].split(".")[-1] for e in response.json()["errors"]}


def test_an_organization_the_caller_cannot_see_is_unknown_to_it(caller, tiers):
    # US Headquarters exists, but the representative's grant covers EU Headquarters only
    csr = caller("csr")
    hidden = csr.get("/contacts", organization="US-HQ", subtree="true")
    missing = csr.get("/contacts", organization="NO-SUCH-ORG", subtree="true")
    assert hidden.status_code == missing.status_code == 422
    assert hidden.json()["errors"][0]["code"] == missing.json()["errors"][0]["code"]


def test_an_effective_group_lists_only_contacts_the_caller_sees(caller, tiers):
    # Dora is Gold through US Headquarters, outside the representative's grant
    assert keys(caller("csr").get("/contacts", effective_group="GOLD")) == {"ANNA"}


def test_a_view_grant_on_an_organization_lets_its_subtree_be_listed(caller, tiers, accounts, world):
    Grant.objects.create(account=accounts["csr"], organization=world["US-HQ"], level="view")
    assert keys(caller("csr").get("/contacts", organization="US-HQ", subtree="true")) == {"DORA"}


@pytest.mark.parametrize("params", [{"effective_group": "CUSTOMERS"}, {"organization": "EU-HQ", "subtree": "true"},
                                    {"customer_group": "GOLD", "created_after": "2020-01-01"}],
                         ids=["effective", "subtree", "direct+created"])
@pytest.mark.parametrize("who", ["admin", "csr"])
def test_a_filtered_list_costs_the_same_queries_for_5_and_50_contacts(caller, world, who, params):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    api = caller(who)

    def add(count: int, offset: int) -> None:
        for i in range(offset, offset + count):
            new_contact(f"P{i}", f"Q{i}", "EU-MGMT", "EU-HQ", groups=("GOLD",))

    def queries(n: int) -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = api.get("/contacts", limit=100, **params)
        assert len(response.json()["items"]) == n, response.json()
        return len(ctx.captured_queries)

    add(5, 0)
    small = queries(5)
    add(45, 5)
    assert queries(50) == small
