"""Issue 8, item 5: every versioned resource and every unique name holds
under concurrent writers, through the API. Two clients (each its own
session and database connection) are released together by a barrier:

- two PATCHes carrying the same If-Match: one 200, one 412 problem, the
  winner's change stored and the version moved on exactly once;
- a DELETE and a PATCH carrying the same If-Match: one of them wins, the
  other is refused (a PATCH that finds its object deleted is a 404), never
  a 500 nor a half-done write;
- two creates of one key, or of one e-mail address or role name however it
  is spelled: one 201, one 409 problem naming the field, one row;
- two objects renamed to one key (e-mail, role name) at once: one 200, one
  409, the loser unchanged.

Keys are case-sensitive codes (`gold` and `GOLD` are two keys), so only
e-mail addresses and role names race in other spellings.

PostgreSQL only: SQLite runs one writer at a time, so nothing races there
(on PostgreSQL, CI included, these run). Bounded: ROUNDS rounds of each
race, and `in_parallel` fails a round whose writer hangs."""

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Group
from django.db import connection

from clientbase.catalog.models import Market, Product, Variant
from clientbase.customers.models import Account, Contact, CustomerGroup, Grant, Organization
from tests.conftest import ApiClient, in_parallel

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers"),
    pytest.mark.django_db(transaction=True),
]
ROUNDS = 5
PROBLEM = "application/problem+json"


def created(response) -> str:
    assert response.status_code == 201, response.content
    return str(response.json()["id"])


def problem_code(response) -> str:
    assert response["Content-Type"] == PROBLEM, response.content
    return response.json()["type"].rsplit(":", 1)[-1]


# --- one fresh object of each versioned resource ------------------------------
#
# make(api, n) creates the n-th object of its kind (through the API) and
# answers its id; `field` is what the racing PATCHes change, to values(n).

def make_contact(api: ApiClient, n: int) -> str:
    return created(api.post("/contacts", {"last_name": f"Racer {n}"}))


def make_organization(api: ApiClient, n: int) -> str:
    return created(api.post("/organizations", {"key": f"RACE-ORG-{n}", "name": f"Race {n}"}))


def make_customer_group(api: ApiClient, n: int) -> str:
    return created(api.post("/customer-groups", {"key": f"RACE-CG-{n}", "name": f"Race {n}"}))


def make_account(api: ApiClient, n: int) -> str:
    return created(api.post("/accounts", {"email": f"racer{n}@example.com"}))


def make_role(api: ApiClient, n: int) -> str:
    return created(api.post("/roles", {"name": f"Racing role {n}"}))


def make_grant(api: ApiClient, n: int) -> str:
    organization = make_organization(api, n)
    return created(api.post("/grants", {"account": "csr-nogrant@example.com", "organization": organization}))


def make_market(api: ApiClient, n: int) -> str:
    return created(api.post("/markets", {"key": f"RACE-M-{n}", "name": f"Race {n}", "currencies": ["EUR"]}))


def make_product(api: ApiClient, n: int) -> str:
    return created(api.post("/products", {"key": f"RACE-P-{n}", "name": f"Race {n}"}))


def make_variant(api: ApiClient, n: int) -> str:
    product = make_product(api, n)
    return created(api.post("/variants", {"sku": f"RACE-SKU-{n}", "product": product}))


def make_price(api: ApiClient, n: int) -> str:
    market, variant = make_market(api, n), make_variant(api, n)
    return created(api.post("/prices", {"variant": variant, "market": market, "unit_price": "10.00"}))


@dataclass
class Versioned:
    resource: str
    make: Callable[[ApiClient, int], str]
    field: str
    values: Callable[[int], tuple]  # the two writers' values in round n

    def __str__(self) -> str:
        return self.resource


def names(n: int) -> tuple[str, str]:
    return f"One {n}", f"Two {n}"


VERSIONED = [
    Versioned("contacts", make_contact, "first_name", names),
    Versioned("organizations", make_organization, "name", names),
    Versioned("customer-groups", make_customer_group, "name", names),
    Versioned("accounts", make_account, "email", lambda n: (f"one{n}@example.com", f"two{n}@example.com")),
    Versioned("roles", make_role, "name", lambda n: (f"Role one {n}", f"Role two {n}")),
    Versioned("grants", make_grant, "level", lambda n: ("manage", "view") if n % 2 else ("view", "manage")),
    Versioned("markets", make_market, "name", names),
    Versioned("products", make_product, "name", names),
    Versioned("variants", make_variant, "name", names),
    Versioned("prices", make_price, "unit_price", lambda n: (f"1{n}.00", f"2{n}.00")),
]


@pytest.fixture
def two_admins(caller) -> tuple[ApiClient, ApiClient]:
    """Two API clients of one administrator, each with its own session."""
    return caller("admin"), caller("admin")


@pytest.mark.parametrize("kind", VERSIONED, ids=str)
def test_two_patches_with_the_same_if_match_give_one_200_and_one_412(two_admins, kind):
    one, two = two_admins
    url = f"/{kind.resource}/{kind.make(one, 0)}"
    for round_ in range(ROUNDS):
        # given both writers read the same version
        before = one.get(url)
        etag = before["ETag"]
        first, second = kind.values(round_)
        # when both write at once with it
        responses = in_parallel(
            lambda: one.patch(url, {kind.field: first}, headers={"If-Match": etag}),
            lambda: two.patch(url, {kind.field: second}, headers={"If-Match": etag}),
        )
        # then one wins, the other is told its version is stale
        statuses = [r.status_code for r in responses]
        assert sorted(statuses) == [200, 412], [r.content for r in responses]
        winner, loser = responses if statuses[0] == 200 else reversed(responses)
        assert problem_code(loser) == "stale_version"
        # and what is stored is the winner's change, one version on
        after = one.get(url).json()
        wanted = first if statuses[0] == 200 else second
        assert after[kind.field] == winner.json()[kind.field] == wanted
        assert after["version"] == winner.json()["version"] == before.json()["version"] + 1


@pytest.mark.parametrize("kind", VERSIONED, ids=str)
def test_a_delete_and_a_patch_with_the_same_if_match_give_one_winner(two_admins, kind):
    one, two = two_admins
    for round_ in range(ROUNDS):
        # given a fresh object each round, read by both writers
        url = f"/{kind.resource}/{kind.make(one, 100 + round_)}"
        before = one.get(url)
        etag = before["ETag"]
        value = kind.values(round_)[0]
        # when one deletes it while the other changes it
        deleted, patched = in_parallel(
            lambda: one.delete(url, headers={"If-Match": etag}),
            lambda: two.patch(url, {kind.field: value}, headers={"If-Match": etag}),
        )
        # then exactly one of them happened
        statuses = (deleted.status_code, patched.status_code)
        if deleted.status_code == 204:
            # a PATCH that finds the object gone is a 404, one that finds a
            # newer version (none: it is deleted) a 412: never a 200 or a 500
            assert patched.status_code in (404, 412), statuses
            assert problem_code(patched) in ("not_found", "stale_version")
            assert one.get(url).status_code == 404
        else:
            assert statuses == (412, 200), [deleted.content, patched.content]
            assert problem_code(deleted) == "stale_version"
            after = one.get(url).json()
            assert after[kind.field] == value
            assert after["version"] == before.json()["version"] + 1


# --- one key, one e-mail, one role name: however it is spelled ----------------

@dataclass
class Duplicate:
    name: str
    path: str
    bodies: Callable[[int], tuple[dict, dict]]  # the two creates of round n
    code: str  # the problem type of the loser
    rows: Callable[[int], int]  # how many rows round n's value has

    def __str__(self) -> str:
        return self.name


def same(body: Callable[[int], dict]) -> Callable[[int], tuple[dict, dict]]:
    return lambda n: (body(n), body(n))


def spelled(field: str, first: str, second: str, extra: dict | None = None):
    """Two creates whose `field` is one address in two spellings ({n} is the round)."""
    return lambda n: ({field: first.format(n=n), **(extra or {})},
                      {field: second.format(n=n), **(extra or {})})


def accounts_with(email: str) -> Callable[[int], int]:
    return lambda n: Account.objects.filter(email=email.format(n=n)).count()


def contacts_with(email: str) -> Callable[[int], int]:
    return lambda n: Contact.objects.filter(email=email.format(n=n)).count()


# The ways one address is written: case, surrounding blanks, and a domain in
# Unicode or in IDNA's ASCII form (core.emails.canonical_email stores the latter).
SPELLINGS = {
    "case": ("u{n}@example.com", "U{n}@Example.COM", "u{n}@example.com"),
    "blanks": ("u{n}@example.com", " u{n}@example.com ", "u{n}@example.com"),
    "idna": ("u{n}@exämple.com", "u{n}@xn--exmple-cua.com", "u{n}@xn--exmple-cua.com"),
    "idna-case": ("U{n}@EXÄMPLE.com", "u{n}@exämple.com", "u{n}@xn--exmple-cua.com"),
}

DUPLICATES = [
    Duplicate("contact key", "/contacts", same(lambda n: {"key": f"DUP-{n}", "last_name": "Dup"}),
              "duplicate_key", lambda n: Contact.objects.filter(key=f"DUP-{n}").count()),
    Duplicate("organization key", "/organizations", same(lambda n: {"key": f"DUP-{n}", "name": "Dup"}),
              "duplicate_key", lambda n: Organization.objects.filter(key=f"DUP-{n}").count()),
    Duplicate("child organization key", "/organizations",
              same(lambda n: {"key": f"DUP-{n}", "name": "Dup", "parent": "EU-HQ"}),
              "duplicate_key", lambda n: Organization.objects.filter(key=f"DUP-{n}").count()),
    Duplicate("customer group key", "/customer-groups", same(lambda n: {"key": f"DUP-{n}", "name": "Dup"}),
              "duplicate_key", lambda n: CustomerGroup.objects.filter(key=f"DUP-{n}").count()),
    Duplicate("market key", "/markets",
              same(lambda n: {"key": f"DUP-{n}", "name": "Dup", "currencies": ["EUR"]}),
              "duplicate_key", lambda n: Market.objects.filter(key=f"DUP-{n}").count()),
    Duplicate("product key", "/products", same(lambda n: {"key": f"DUP-{n}", "name": "Dup"}),
              "duplicate_key", lambda n: Product.objects.filter(key=f"DUP-{n}").count()),
    Duplicate("variant sku", "/variants", same(lambda n: {"sku": f"DUP-{n}", "product": "SHIRT"}),
              "duplicate_sku", lambda n: Variant.objects.filter(sku=f"DUP-{n}").count()),
    Duplicate("grant", "/grants",
              same(lambda n: {"account": f"holder{n}@example.com", "organization": "US-HQ"}),
              "duplicate_grant",
              lambda n: Grant.objects.filter(account__email=f"holder{n}@example.com").count()),
    Duplicate("role name in another case", "/roles",
              lambda n: ({"name": f"Auditors {n}"}, {"name": f"AUDITORS {n}"}),
              "duplicate_name", lambda n: Group.objects.filter(name__iexact=f"auditors {n}").count()),
    Duplicate("role name with blanks", "/roles",
              lambda n: ({"name": f"auditors {n}"}, {"name": f" Auditors {n} "}),
              "duplicate_name", lambda n: Group.objects.filter(name__iexact=f"auditors {n}").count()),
    *(Duplicate(f"account e-mail ({how})", "/accounts", spelled("email", a, b),
                "duplicate_email", accounts_with(stored))
      for how, (a, b, stored) in SPELLINGS.items()),
    *(Duplicate(f"contact e-mail ({how})", "/contacts", spelled("email", a, b, {"last_name": "Dup"}),
                "duplicate_email", contacts_with(stored))
      for how, (a, b, stored) in SPELLINGS.items()),
]


@pytest.fixture
def shirt(world):
    """The product the racing variants belong to; the accounts racing grants are for."""
    Product.objects.create(key="SHIRT", name="Shirt")
    for n in range(ROUNDS):
        Account.objects.create_user(email=f"holder{n}@example.com", password=None)


@pytest.mark.parametrize("kind", DUPLICATES, ids=str)
def test_two_creates_of_one_name_give_one_201_and_one_409(two_admins, shirt, kind):
    one, two = two_admins
    for round_ in range(ROUNDS):
        first, second = kind.bodies(round_)
        responses = in_parallel(lambda: one.post(kind.path, first), lambda: two.post(kind.path, second))
        assert sorted(r.status_code for r in responses) == [201, 409], [r.content for r in responses]
        loser = next(r for r in responses if r.status_code == 409)
        assert problem_code(loser) == kind.code
        assert kind.rows(round_) == 1


# --- two objects renamed to one key at once -----------------------------------

@dataclass
class Rename:
    name: str
    resource: str
    make: Callable[[ApiClient, int], str]
    field: str
    values: Callable[[int], tuple[str, str]]  # one value of round n, spelled twice
    code: str

    def __str__(self) -> str:
        return self.name


def twice(value: str) -> Callable[[int], tuple[str, str]]:
    return lambda n: (value.format(n=n), value.format(n=n))


RENAMES = [
    Rename("contact key", "contacts", make_contact, "key", twice("REN-{n}"), "duplicate_key"),
    Rename("contact e-mail", "contacts", make_contact, "email",
           lambda n: (f"r{n}@exämple.com", f" R{n}@xn--exmple-cua.com"), "duplicate_email"),
    Rename("organization key", "organizations", make_organization, "key", twice("REN-{n}"), "duplicate_key"),
    Rename("customer group key", "customer-groups", make_customer_group, "key", twice("REN-{n}"),
           "duplicate_key"),
    Rename("account e-mail", "accounts", make_account, "email",
           lambda n: (f"r{n}@example.com", f"R{n}@Example.com"), "duplicate_email"),
    Rename("role name", "roles", make_role, "name", lambda n: (f"Renamed {n}", f"RENAMED {n}"),
           "duplicate_name"),
    Rename("market key", "markets", make_market, "key", twice("REN-{n}"), "duplicate_key"),
    Rename("product key", "products", make_product, "key", twice("REN-{n}"), "duplicate_key"),
    Rename("variant sku", "variants", make_variant, "sku", twice("REN-{n}"), "duplicate_sku"),
]


@pytest.mark.parametrize("kind", RENAMES, ids=str)
def test_two_objects_renamed_to_one_name_give_one_200_and_one_409(two_admins, kind):
    one, two = two_admins
    urls = [f"/{kind.resource}/{kind.make(one, n)}" for n in (1, 2)]
    for round_ in range(ROUNDS):
        before = [one.get(url).json() for url in urls]
        first, second = kind.values(round_)
        responses = in_parallel(
            lambda: one.patch(urls[0], {kind.field: first}),
            lambda: two.patch(urls[1], {kind.field: second}),
        )
        statuses = [r.status_code for r in responses]
        assert sorted(statuses) == [200, 409], [r.content for r in responses]
        won = statuses.index(200)
        assert problem_code(responses[1 - won]) == kind.code
        # the winner has the name, the loser is as it was
        after = [one.get(url).json() for url in urls]
        assert after[won][kind.field] == responses[won].json()[kind.field]
        assert after[1 - won] == before[1 - won]
