"""Issue 8, finding 2: a grant holder widened its own grant. A grant is only
given, widened or levelled up within what the giver itself manages: the
organization, its descendants, the level."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse

from clientbase.customers.models import Account, Contact, Grant, Role
from tests.conftest import ApiClient, make_account


@pytest.fixture
def lead(world):
    """A lead managing EU Headquarters itself, not what lies below it."""
    lead = make_account("lead@example.com", Role.CUSTOMER_SERVICE)
    lead.user_permissions.add(*Permission.objects.filter(
        codename__in=["view_grant", "add_grant", "change_grant"]))
    Grant.objects.create(account=lead, organization=world["EU-HQ"], include_descendants=False,
                         level="manage")
    return Account.objects.get(pk=lead.pk)


def api_as(account) -> ApiClient:
    client = Client()
    client.force_login(account)
    return ApiClient(client, account)


def test_a_holder_cannot_widen_its_own_grant_to_the_descendants(lead, world):
    own = Grant.objects.get(account=lead)
    response = api_as(lead).patch(f"/grants/{own.pk}", {"include_descendants": True})
    assert response.status_code == 403, response.content
    assert Grant.objects.get(pk=own.pk).include_descendants is False
    # and it still sees no contact of EU Management
    Contact.objects.create(first_name="Hidden").organizations.add(world["EU-MGMT"])
    assert api_as(lead).get("/contacts").json()["items"] == []


def test_a_holder_cannot_grant_its_own_role_the_descendants(lead):
    response = api_as(lead).post("/grants", {"role": Role.CUSTOMER_SERVICE, "organization": "EU-HQ",
                                             "include_descendants": True})
    assert response.status_code == 403, response.content
    assert not Grant.objects.filter(role__name=Role.CUSTOMER_SERVICE).exists()


def test_a_holder_may_pass_on_what_it_has(lead):
    response = api_as(lead).post("/grants", {"role": Role.CUSTOMER_SERVICE, "organization": "EU-HQ",
                                             "include_descendants": False, "level": "view"})
    assert response.status_code == 201, response.content


def test_the_back_office_refuses_the_same_widening(lead, world):
    client = Client()
    client.force_login(lead)
    role = Group.objects.get(name=Role.CUSTOMER_SERVICE)
    client.post(reverse("admin:customers_grant_add"),
                {"role": str(role.pk), "account": "", "organization": str(world["EU-HQ"].pk),
                 "level": "view", "include_descendants": "on"})
    assert not Grant.objects.filter(role=role).exists()
