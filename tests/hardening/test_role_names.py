"""Issue 8, finding 1: a role name with a space passed the delegation check
(the check looked up the names as typed, the assignment stripped them), so a
representative could make an administrator. Every spelling that ends up as a
role is judged as that role."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from clientbase.customers.models import Account, Role
from tests.conftest import ApiClient

SPELLINGS = [" Administrators", "Administrators ", "\tAdministrators", " Administrators\n"]


def representative(accounts, *codenames: str) -> ApiClient:
    csr = accounts["csr"]
    csr.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    csr = Account.objects.get(pk=csr.pk)
    client = Client()
    client.force_login(csr)
    return ApiClient(client, csr)


@pytest.mark.parametrize("name", SPELLINGS)
def test_a_padded_administrators_role_is_not_given_to_a_new_account(accounts, name):
    api = representative(accounts, "add_account")
    response = api.post("/accounts", {"email": "mallory@example.com", "password": "Very-long-pass-123",
                                      "roles": [name]})
    assert response.status_code == 403, response.content
    assert not Account.objects.filter(email="mallory@example.com").exists()


@pytest.mark.parametrize("name", SPELLINGS)
def test_a_padded_administrators_role_is_not_taken_by_oneself(accounts, name):
    api = representative(accounts, "change_account")
    response = api.patch("/accounts/me", {"roles": [Role.CUSTOMER_SERVICE, name]})
    assert response.status_code == 403, response.content
    assert not accounts["csr"].groups.filter(name=Role.ADMINISTRATORS).exists()
