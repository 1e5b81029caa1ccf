"""A session's account from the shared cache (customers.authentication,
customers.services.principals) on the real Redis: no statement for the
account once cached, and a change to it (password, active, roles) seen by
the next request, in every session."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clientbase.customers.models import Account, Role
from clientbase.customers.services.accounts import change_own_password
from tests.conftest import ApiClient

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "Secret-pass-123"


def session_of(account: Account) -> Client:
    client = Client()
    client.force_login(account)
    return client


def statements(client: Client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return [q["sql"] for q in captured.captured_queries]


def reads_of_the_account(sql: list[str]) -> list[str]:
    """The statements of `sql` that read an account, its permissions, roles
    or grants (the ORM's or customers.services.principals')."""
    return [s for s in sql if s.startswith('SELECT "customers_account"') or "FROM customers_account a" in s
            or "auth_permission" in s or "auth_group" in s or "customers_grant" in s]


@pytest.mark.parametrize("who, url", [
    ("csr", lambda: reverse("admin:customers_contact_changelist")),
    ("csr", lambda: "/api/v1/contacts"),
    ("registered", lambda: "/api/v1/me"),
    ("registered", lambda: reverse("storefront:account")),
])
def test_a_cached_sessions_account_costs_no_statement(redis_cache, accounts, who, url):
    # given a session whose account is cached by its first request
    client = session_of(accounts[who])
    statements(client, url())
    # when it comes back
    sql = statements(client, url())
    # then only the session row is read of who it is
    assert not reads_of_the_account(sql), sql
    assert any("django_session" in s for s in sql)


def test_the_entry_is_named_principal_and_holds_no_password_hash(redis_cache, accounts):
    csr = accounts["csr"]
    statements(session_of(csr), "/api/v1/contacts")
    keys = [key.decode() for key in redis_cache.keys("*principal:*")]
    assert len(keys) == 1 and f"principal:{csr.pk}:" in keys[0]
    assert not redis_cache.keys(f"*c:account:{csr.pk}")
    stored_hash = Account.objects.get(pk=csr.pk).password
    assert all(stored_hash.encode() not in redis_cache.get(key) for key in redis_cache.keys("*"))


def test_an_entry_of_the_former_shape_is_never_read(redis_cache, accounts, settings):
    # given what the code before the session check cached under account:<id>
    from django.core.cache import cache

    csr = accounts["csr"]
    cache.set(f"c:account:{csr.pk}", ("stamp", ("five", "parts", "of", "an", "entry"), None))
    # then a session and a token of that account still work
    assert ApiClient(session_of(csr)).get("/contacts").status_code == 200


def test_a_password_change_ends_the_other_sessions_at_once(redis_cache, accounts):
    # given two sessions of the CSR, both cached
    csr = accounts["csr"]
    here, elsewhere = session_of(csr), session_of(csr)
    page = reverse("admin:customers_contact_changelist")
    assert here.get(page).status_code == elsewhere.get(page).status_code == 200
    assert elsewhere.get(page).status_code == 200
    # when the password changes
    change_own_password(csr, old_password=PASSWORD, new_password="Another-pass-456")
    # then both sessions are logged out (neither kept the new hash)
    assert elsewhere.get(page).status_code == 302
    assert here.get(page).status_code == 302


def test_the_shops_password_page_keeps_its_own_session_only(redis_cache, accounts):
    shopper = accounts["registered"]
    here, elsewhere = session_of(shopper), session_of(shopper)
    assert ApiClient(here).get("/me").json()["authenticated"]
    assert ApiClient(elsewhere).get("/me").json()["authenticated"]
    response = here.post(reverse("storefront:password_change"),
                         {"old_password": PASSWORD, "password": "Another-pass-456"})
    assert response.status_code == 302, response.content[:500]
    assert ApiClient(here).get("/me").json()["authenticated"]
    assert not ApiClient(elsewhere).get("/me").json()["authenticated"]


def test_a_deactivated_account_is_logged_out_at_once(redis_cache, accounts):
    csr = accounts["csr"]
    api = ApiClient(session_of(csr))
    assert api.get("/contacts").status_code == api.get("/contacts").status_code == 200
    csr.is_active = False
    csr.save()
    assert api.get("/contacts").status_code == 401


def test_a_role_taken_away_is_seen_at_once(redis_cache, accounts):
    csr = accounts["csr"]
    client = session_of(csr)
    page = reverse("admin:customers_contact_changelist")
    assert client.get(page).status_code == client.get(page).status_code == 200
    csr.groups.remove(Group.objects.get(name=Role.CUSTOMER_SERVICE))
    assert client.get(page).status_code in (302, 403)
