"""Fixtures shared by every test: a small version of the seed's example world
and callers with different access.

World:
    Administration > EU Headquarters > EU Management
    US Headquarters > US Sales
    Customers > Gold, Silver, Bronze   (customer groups)

Callers (`caller` fixture builds API clients):
    admin        Administrators: sees everything
    csr          CustomerServiceRepresentatives + a grant (manage, with
                 descendants) on EU Headquarters: sees EU HQ, EU Management
    csr_nogrant  CustomerServiceRepresentatives without any grant
    registered   Everyone + Registered: no staff permission at all
"""

import json
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from clientbase.customers.models import Account, CustomerGroup, Grant, Organization, Role
from clientbase.customers.services.organizations import create_organization


@dataclass
class ApiClient:
    """A JSON client for /api/v1 acting as one account (or anonymous)."""

    client: Client
    account: Account | None = None
    base: str = "/api/v1"

    def _call(self, method: str, path: str, data=None, headers=None, **params):
        url = self.base + path
        kwargs = {"headers": headers or {}}
        if data is not None:
            kwargs["data"] = data if isinstance(data, (str, bytes)) else json.dumps(data)
            kwargs["content_type"] = "application/json"
        elif params:
            kwargs["data"] = params
        return getattr(self.client, method)(url, **kwargs)

    def get(self, path, **params):
        return self._call("get", path, **params)

    def post(self, path, data=None, headers=None):
        return self._call("post", path, data if data is not None else {}, headers)

    def patch(self, path, data, headers=None):
        return self._call("patch", path, data, headers)

    def put(self, path, data, headers=None):
        return self._call("put", path, data, headers)

    def delete(self, path, headers=None):
        return self._call("delete", path, headers=headers)


@pytest.fixture(autouse=True, scope="session")
def cheap_argon2():
    """Hash test passwords with argon2 still, but with tiny costs: production
    costs (100 MiB per hash) make every fixture account take most of a second."""
    from django.contrib.auth.hashers import Argon2PasswordHasher

    saved = (Argon2PasswordHasher.time_cost, Argon2PasswordHasher.memory_cost,
             Argon2PasswordHasher.parallelism)
    Argon2PasswordHasher.time_cost, Argon2PasswordHasher.memory_cost, Argon2PasswordHasher.parallelism = 1, 64, 1
    yield
    (Argon2PasswordHasher.time_cost, Argon2PasswordHasher.memory_cost,
     Argon2PasswordHasher.parallelism) = saved


@pytest.fixture(autouse=True, scope="session")
def flush_by_delete():
    """On PostgreSQL, empty the tables after a transactional test with DELETE
    rather than Django's TRUNCATE. The flush empties every table (70) while
    the tests leave a handful of rows: TRUNCATE gives each table new files,
    which took 2.5 s of wall-clock (0.16 s of the server's CPU) per flush on a
    loaded machine, where the DELETEs take 0.03 s (0.01 s) — and every
    transactional test ends with a flush. The end state is the same: no rows,
    sequences untouched (Django's TRUNCATE does not restart them either unless
    asked, and then TRUNCATE is kept). The order of the DELETEs does not
    matter: every foreign key Django creates is checked at commit, and the
    flush is one transaction."""
    from django.db import connections

    if connections["default"].vendor != "postgresql":
        yield
        return
    operations = type(connections["default"].ops)
    truncate = operations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or allow_cascade:
            return truncate(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        return [f"DELETE FROM {self.quote_name(table)}" for table in tables]

    operations.sql_flush = sql_flush
    try:
        yield
    finally:
        operations.sql_flush = truncate


@pytest.fixture
def steady_unshared_caches(monkeypatch):
    """For a test that counts queries across two requests: without a shared
    cache, a process reads marketing's definitions again after
    core.caching.UNSHARED_TTL seconds, and on a slow machine that reload can
    fall between the requests counted. Here the copies stay for an hour."""
    from clientbase.core import caching

    monkeypatch.setattr(caching, "UNSHARED_TTL", 3600)


@pytest.fixture
def world(db):
    """The seed's example organizations and customer groups, by key."""
    administration = create_organization(actor=None, name="Administration", key="ADMIN")
    eu_hq = create_organization(actor=None, name="EU Headquarters", key="EU-HQ", parent=administration)
    eu_mgmt = create_organization(actor=None, name="EU Management", key="EU-MGMT", parent=eu_hq, kind="unit")
    us_hq = create_organization(actor=None, name="US Headquarters", key="US-HQ")
    us_sales = create_organization(actor=None, name="US Sales", key="US-SALES", parent=us_hq, kind="unit")
    customers = CustomerGroup.objects.create(key="CUSTOMERS", name="Customers")
    gold = CustomerGroup.objects.create(key="GOLD", name="Gold", parent=customers)
    silver = CustomerGroup.objects.create(key="SILVER", name="Silver", parent=customers)
    bronze = CustomerGroup.objects.create(key="BRONZE", name="Bronze", parent=customers)
    return {
        "ADMIN": administration, "EU-HQ": eu_hq, "EU-MGMT": eu_mgmt,
        "US-HQ": us_hq, "US-SALES": us_sales,
        "CUSTOMERS": customers, "GOLD": gold, "SILVER": silver, "BRONZE": bronze,
    }


def make_account(email: str, *roles: str, **fields) -> Account:
    return Account.objects.create_user(email=email, password="Secret-pass-123", roles=list(roles),
                                       **fields)


@pytest.fixture
def accounts(world):
    admin = make_account("admin@example.com", Role.ADMINISTRATORS)
    csr = make_account("csr@example.com", Role.CUSTOMER_SERVICE)
    Grant.objects.create(account=csr, organization=world["EU-HQ"], include_descendants=True,
                         level="manage")
    csr_nogrant = make_account("csr-nogrant@example.com", Role.CUSTOMER_SERVICE)
    registered = make_account("shopper@example.com", Role.REGISTERED)
    return {"admin": admin, "csr": csr, "csr_nogrant": csr_nogrant, "registered": registered}


@pytest.fixture
def caller(accounts):
    """caller("admin") → an ApiClient logged in as that account; caller(None) → anonymous."""

    def make(name: str | None) -> ApiClient:
        client = Client()
        account = accounts[name] if name else None
        if account is not None:
            client.force_login(account)
        return ApiClient(client, account)

    return make


@pytest.fixture
def admin_api(caller) -> ApiClient:
    return caller("admin")


def role(name: str) -> Group:
    return Group.objects.get(name=name)


def keys_of(response) -> list:
    return [item.get("key") for item in response.json()["items"]]


def org(key: str) -> Organization:
    return Organization.objects.get(key=key)


def in_parallel(*calls):
    """Run each call in its own thread and database connection, released
    together by a barrier; returns their results in order. Bounded: a writer
    that hangs fails the test instead of the run."""
    import threading

    from django.db import connections

    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=30)
            results[index] = call()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a writer hung"
    return results
