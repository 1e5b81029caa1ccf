"""Issue 8, item 7: the access-control matrix, generated from the OpenAPI
schema and the back office's URL conf (classification: matrix.py).

This module: every operation and URL is classified; anonymous callers and
shoppers are refused everywhere staff work; lists and their filters keep to
the caller's scope. Object operations by id and by key:
test_access_matrix_api.py; back-office pages: test_access_matrix_pages.py.
"""

import uuid

import pytest

from clientbase.catalog.models import Market
from clientbase.customers.models import Role
from tests.conftest import make_account
from tests.hardening.matrix import (
    ADMIN_MODELS, ADMIN_PAGES, API, CALLERS, CREATE_BODIES, OPERATIONS, PUBLIC_ANSWERS, QUERIES, SCHEMA_OPERATIONS,
    SHOP_WIDE, STAFF, WRITE_BODIES, admin_patterns, admin_url, assert_nothing_foreign, call, classified_names, client_for, holds,
    name_of, neutral, scoped, url_for,
)

MATRIX_MODULE = "tests/hardening/matrix.py"


# --- the classification is complete ----------------------------------------------

def test_every_api_operation_is_classified():
    unclassified = sorted(set(SCHEMA_OPERATIONS) - set(OPERATIONS))
    assert not unclassified, (
        f"New API operation(s) {unclassified}: classify each in OPERATIONS in {MATRIX_MODULE} "
        "(its resource, whether its path names an object, and the permissions it needs), "
        "so that the access-control matrix covers it.")
    gone = sorted(set(OPERATIONS) - set(SCHEMA_OPERATIONS))
    assert not gone, f"OPERATIONS classifies operations the schema no longer has: {gone}; remove them."


def test_the_schema_is_served_as_classified(client):
    served = client.get(f"{API}/openapi.json").json()
    ids = {op["operationId"] for item in served["paths"].values() for op in item.values()}
    assert ids == set(OPERATIONS)


def test_an_operation_names_an_object_exactly_when_its_path_does():
    for name, op in OPERATIONS.items():
        _method, path = SCHEMA_OPERATIONS[name]
        assert ("{ident}" in path) == (op.target is not None), name


def test_every_back_office_url_is_classified():
    from django.contrib import admin

    served = {name_of(name, route) for name, route in admin_patterns()} - {"object_redirect"}
    unclassified = sorted(served - classified_names())
    assert not unclassified, (
        f"New back-office URL(s) {unclassified}: classify each in ADMIN_PAGES (or its model in "
        f"ADMIN_MODELS) in {MATRIX_MODULE}, so that the access-control matrix covers it.")
    registered = {f"{m._meta.app_label}_{m._meta.model_name}" for m in admin.site._registry}
    assert registered == set(ADMIN_MODELS), "ADMIN_MODELS must list exactly the registered models"


# --- no staff access: refused everywhere ------------------------------------------

def _staffless_cells():
    for name in sorted(OPERATIONS):
        for caller in ("anonymous", "shopper"):
            yield pytest.param(name, caller, id=f"{name}-{caller}")


@pytest.fixture
def shopper(db):
    return make_account("shopper@example.com", Role.REGISTERED)


# Every operation, object or not, refuses an anonymous caller and a shopper
# (before telling which objects exist: an id that names nothing gets the same).
@pytest.mark.parametrize("name, caller", list(_staffless_cells()))
def test_api_refuses_callers_without_staff_access(shopper, name, caller):
    op = OPERATIONS[name]
    method, path = SCHEMA_OPERATIONS[name]
    ident = str(uuid.uuid4())
    client = client_for(shopper if caller == "shopper" else None)
    response = call(client, method, url_for(path, ident, ident), CREATE_BODIES.get(name, WRITE_BODIES.get(name)),
                    QUERIES.get(name))
    if op.public:
        assert response.status_code not in (401, 403) and response.status_code < 500, response.content
        return
    assert response.status_code == (401 if caller == "anonymous" else 403), response.content
    assert response["Content-Type"].startswith("application/problem+json")


@pytest.mark.parametrize("name, caller", [pytest.param(n, c, id=f"{n}-{c}") for n, op in sorted(OPERATIONS.items())
                                          if op.public for c in ("anonymous", "shopper")])
def test_public_operations_answer_anonymous_visitors_and_shoppers(shopper, name, caller):
    # A public operation answers whoever calls; an object that does not exist
    # is a 404 problem; a write answers what its body deserves (PUBLIC_ANSWERS).
    Market.objects.create(key="EU", name="Europe", currencies=["EUR"], default_currency="EUR")
    method, path = SCHEMA_OPERATIONS[name]
    ident = str(uuid.uuid4())
    body = CREATE_BODIES.get(name, WRITE_BODIES.get(name))
    response = call(client_for(shopper if caller == "shopper" else None), method, url_for(path, ident, ident), body)
    expected = PUBLIC_ANSWERS.get(name, 404 if "{" in path else 200)
    assert response.status_code == expected, response.content


BACK_OFFICE_URLS = [(name, admin_url(route)) for name, route in
                    sorted({(name_of(n, r), r) for n, r in admin_patterns()})]


@pytest.mark.parametrize("name, url", [pytest.param(n, u, id=n) for n, u in BACK_OFFICE_URLS
                                       if ADMIN_PAGES.get(n) != "public"])
def test_every_back_office_page_sends_an_anonymous_visitor_to_the_login(client, db, name, url):
    response = client.get(url)
    assert response.status_code == 302, (url, response.status_code)
    assert response["Location"].startswith("/admin/login/")


# --- lists and their filters ---------------------------------------------------------

LIST_OPERATIONS = sorted(name for name in OPERATIONS if name.startswith("list_") and name != "list_tokens")


@pytest.mark.parametrize("name, caller", [pytest.param(n, c, id=f"{n}-{c}")
                                          for n in LIST_OPERATIONS for c in CALLERS])
def test_api_list_matrix(matrix, name, caller):
    op = OPERATIONS[name]
    account = matrix["callers"][caller]
    response = client_for(account).get(SCHEMA_OPERATIONS[name][1], {"limit": 500})
    expected = 200 if op.public or holds(account, op.lookup) else 401 if account is None else 403
    assert response.status_code == expected, response.content
    if expected == 200:
        assert response.json()["items"], "the list shows nothing: the matrix would test nothing"
    if scoped(account):
        assert_nothing_foreign(matrix, response.content.decode(), ids=True)


# A filter naming an invisible object answers as one naming nothing (item 6).
LIST_FILTERS = [("list_contacts", "organization", "organizations"),
                ("list_organizations", "parent", "organizations"),
                ("list_organizations", "under", "organizations"),
                ("list_grants", "organization", "organizations"),
                ("list_grants", "account", "accounts")]


@pytest.mark.parametrize("name, param, resource, caller", [
    pytest.param(n, p, r, c, id=f"{n}-{p}-{c}") for n, p, r in LIST_FILTERS for c in ("csr", "csr_view", "lead")])
def test_api_list_filter_by_an_invisible_object_answers_as_by_a_nonexistent_one(matrix, name, param, resource,
                                                                                caller):
    client = client_for(matrix["callers"][caller])
    path = SCHEMA_OPERATIONS[name][1]
    ident = str(matrix["objects"][resource]["invisible"].pk)
    invisible = client.get(path, {param: ident})
    absent = client.get(path, {param: matrix["missing"]})
    assert invisible.status_code == absent.status_code != 200
    assert neutral(invisible.content, ident) == neutral(absent.content, matrix["missing"])


# --- creating shop-wide objects ------------------------------------------------------

CREATE_OPERATIONS = sorted(name for name, op in OPERATIONS.items()
                           if name.startswith("create_") and op.resource in SHOP_WIDE)


@pytest.mark.parametrize("name, caller", [pytest.param(n, c, id=f"{n}-{c}")
                                          for n in CREATE_OPERATIONS for c in STAFF])
def test_api_create_matrix(matrix, name, caller):
    # given
    op = OPERATIONS[name]
    method, path = SCHEMA_OPERATIONS[name]
    account = matrix["callers"][caller]
    model = type(matrix["objects"][op.resource]["visible"])
    before = model._default_manager.count()

    # when
    response = call(client_for(account), method, path, CREATE_BODIES[name])

    # then
    if holds(account, op.lookup):
        assert response.status_code == 201, response.content
        assert model._default_manager.count() == before + 1
    else:
        assert response.status_code == 403, response.content
        assert model._default_manager.count() == before, "a refused create created"
