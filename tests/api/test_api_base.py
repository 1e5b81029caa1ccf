"""What every /api/v1 answer has in common: problems for errors, JSON bodies,
cursors and limits, authentication and CSRF."""

import pytest
from django.test import Client
from django.utils import timezone

from clientbase.core.pagination import encode_cursor
from clientbase.customers.models import ApiToken, Organization
from tests.conftest import org

PROBLEM = "application/problem+json"


@pytest.fixture(autouse=True)
def fast_hashers(settings):
    # The fixtures create four accounts per test; argon2 would dominate the run.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def assert_problem(response, status: int, field: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("urn:clientbase:problem:")
    assert body["title"] and body["detail"]
    assert "Traceback" not in response.content.decode()
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body
    return body


# Each row provokes one status through a real request.
PROBLEMS = [
    ("401 anonymous", None, lambda api: api.get("/organizations"), 401),
    ("403 no permission", "registered", lambda api: api.get("/organizations"), 403),
    ("404 invisible", "csr", lambda api: api.get("/organizations/US-HQ"), 404),
    ("404 missing", "admin", lambda api: api.get("/organizations/NOPE"), 404),
    ("422 validation", "admin", lambda api: api.post("/organizations", {"name": ""}), 422),
    ("409 cycle", "admin", lambda api: api.post("/organizations/ADMIN/move", {"parent": "EU-MGMT"}), 409),
    ("412 stale", "admin",
     lambda api: api.patch("/organizations/ADMIN", {"name": "X"}, headers={"If-Match": '"99"'}), 412),
    ("405 method", "admin", lambda api: api.put("/organizations/ADMIN", {"name": "X"}), 405),
]


@pytest.mark.parametrize(("who", "request_", "status"), [row[1:] for row in PROBLEMS],
                         ids=[row[0] for row in PROBLEMS])
def test_every_error_is_a_problem_json(world, caller, who, request_, status):
    assert_problem(request_(caller(who)), status)


def test_a_401_says_how_to_authenticate(world, caller):
    response = caller(None).get("/organizations")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_405_lists_the_allowed_methods(world, admin_api):
    response = admin_api.put("/organizations/ADMIN", {"name": "X"})
    assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "PATCH", "DELETE"}


@pytest.mark.parametrize("body", ['{"name": ', "not json at all", '{"name": "x"}}'])
def test_a_body_that_is_not_json_is_a_400_problem(world, admin_api, body):
    response = admin_api.client.post("/api/v1/organizations", data=body, content_type="application/json")
    assert_problem(response, 400)


def test_a_multipart_content_type_without_a_boundary_on_a_session_is_a_400_problem(world, accounts):
    # The CSRF check reads a form's token from the body, whose parsing raised: it was a 500.
    client = Client(enforce_csrf_checks=True)
    client.force_login(accounts["admin"])
    client.get("/api/v1/me/csrf")
    response = client.post("/api/v1/organizations", b'{"name": "x"}', content_type="multipart/form-data",
                           headers={"X-CSRFToken": client.cookies["csrftoken"].value})
    assert_problem(response, 400)


@pytest.mark.parametrize("body", ["[]", '"a string"', "42", "null"])
def test_a_json_body_that_is_not_an_object_is_a_422_problem(world, admin_api, body):
    response = admin_api.client.post("/api/v1/organizations", data=body, content_type="application/json")
    assert response.status_code in (400, 422)
    assert_problem(response, response.status_code)


@pytest.mark.parametrize("cursor", [
    "zzz", "!!!", encode_cursor(["only-one-value"]), encode_cursor([{"a": 1}, "x"]),
    encode_cursor([None, None]), "e30",
])
def test_a_cursor_the_list_did_not_give_out_is_a_422_on_cursor(world, admin_api, cursor):
    assert_problem(admin_api.get("/organizations", cursor=cursor), 422, field="cursor")


@pytest.mark.parametrize("limit", [0, -1, 501, 10**12, "ten", "1.5"])
def test_a_limit_outside_1_to_500_is_a_422_on_limit(world, admin_api, limit):
    assert_problem(admin_api.get("/organizations", limit=limit), 422, field="limit")


def test_a_limit_of_500_is_allowed(world, admin_api):
    assert admin_api.get("/organizations", limit=500).status_code == 200


@pytest.mark.parametrize("method", ["get", "post", "delete"])
@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v1/organizations/ADMIN/nope", "/api/v1/"])
def test_an_unknown_url_under_the_api_is_a_404_problem(world, accounts, method, path):
    client = Client(enforce_csrf_checks=True)
    client.force_login(accounts["admin"])
    assert_problem(getattr(client, method)(path), 404)


def test_the_schema_and_the_docs_are_still_served(db):
    client = Client()
    assert client.get("/api/v1/openapi.json").json()["openapi"].startswith("3.")
    assert client.get("/api/v1/docs").status_code == 200


def session_client(account) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(account)
    return client


def test_an_unsafe_request_on_a_session_without_the_csrf_token_is_a_403_problem(world, accounts):
    client = session_client(accounts["admin"])
    response = client.post("/api/v1/organizations", data={"name": "Sneaky"}, content_type="application/json")
    body = assert_problem(response, 403)
    assert "CSRF" in body["detail"]


def test_an_unsafe_request_on_a_session_with_the_csrf_token_goes_through(world, accounts):
    client = session_client(accounts["admin"])
    token = "a" * 32  # what a browser holds after GET /me/csrf: the same secret in cookie and header
    client.cookies["csrftoken"] = token
    response = client.post("/api/v1/organizations", data={"name": "Fine"}, content_type="application/json",
                           headers={"X-CSRFToken": token})
    assert response.status_code == 201, response.content


def test_a_safe_request_on_a_session_needs_no_csrf_token(world, accounts):
    assert session_client(accounts["admin"]).get("/api/v1/organizations").status_code == 200


@pytest.mark.parametrize("method", ["post", "patch", "delete"])
def test_an_anonymous_unsafe_request_is_a_401_not_a_csrf_error(world, method):
    client = Client(enforce_csrf_checks=True)
    path = "/api/v1/organizations" if method == "post" else "/api/v1/organizations/ADMIN"
    response = getattr(client, method)(path, data="{}", content_type="application/json")
    assert_problem(response, 401)


def test_a_bearer_token_needs_no_csrf_token_and_acts_as_its_account(world, accounts):
    _, raw = ApiToken.issue(accounts["csr"])
    client = Client(enforce_csrf_checks=True, headers={"Authorization": f"Bearer {raw}"})
    listed = client.get("/api/v1/organizations")
    assert [o["key"] for o in listed.json()["items"]] == ["EU-HQ", "EU-MGMT"]
    # csr may not create organizations: the token carries its roles, nothing more
    assert_problem(client.post("/api/v1/organizations", data={"name": "X", "parent": "EU-HQ"},
                               content_type="application/json"), 403)


@pytest.mark.parametrize("case", ["revoked", "expired", "inactive account", "garbage"])
def test_a_token_that_no_longer_works_is_a_401(world, accounts, case):
    token, raw = ApiToken.issue(accounts["admin"])
    if case == "revoked":
        token.revoked_at = timezone.now()
        token.save()
    elif case == "expired":
        token.expires_at = timezone.now() - timezone.timedelta(minutes=1)
        token.save()
    elif case == "inactive account":
        accounts["admin"].is_active = False
        accounts["admin"].save()
    else:
        raw = raw[:-2] + "xx"
    client = Client(headers={"Authorization": f"Bearer {raw}"})
    assert_problem(client.get("/api/v1/organizations"), 401)


def test_the_token_is_stored_hashed(world, accounts):
    token, raw = ApiToken.issue(accounts["admin"])
    assert raw not in (token.token_hash, token.hint) and len(token.token_hash) == 64


def test_a_server_error_is_a_500_problem_without_a_traceback(world, admin_api, monkeypatch):
    from clientbase.customers.services import organizations as services

    def explode(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(services, "delete_organization", explode)
    response = admin_api.delete("/organizations/EU-MGMT")
    body = assert_problem(response, 500)
    assert "secret internals" not in response.content.decode() and body["type"].endswith("server_error")


@pytest.mark.parametrize(("send", "field"), [
    (lambda api: api.get("/organizations", q="EU\x00"), "q"),
    (lambda api: api.get("/organizations", cursor="\x00"), "cursor"),
    (lambda api: api.post("/organizations", {"name": "Nul\x00", "parent": "ADMIN"}), "name"),
    (lambda api: api.post("/organizations", {"name": "Fine", "customer_groups": ["GOLD", "\x00"]}),
     "customer_groups.1"),
    (lambda api: api.patch("/organizations/ADMIN", {"key": "A\x00"}), "key"),
    (lambda api: api.post("/organizations/EU-MGMT/move", {"parent": "\x00"}), "parent"),
])
def test_a_nul_character_anywhere_in_the_input_is_a_422_naming_the_field(world, admin_api, send, field):
    # PostgreSQL cannot store NUL in text; the API refuses it on every database alike.
    count = Organization.objects.count()
    assert_problem(send(admin_api), 422, field=field)
    assert Organization.objects.count() == count and org("ADMIN").key == "ADMIN"


@pytest.mark.parametrize("path", ["/organizations/EU\x00HQ", "/organizations/\x00/tree"])
def test_a_nul_character_in_an_id_or_key_finds_nothing(world, admin_api, path):
    assert_problem(admin_api.get(path), 404)


def test_a_value_the_database_refuses_is_a_422_not_a_500(world, admin_api, monkeypatch):
    from django.db import DataError

    from clientbase.customers.services import organizations as services

    def overflow(*args, **kwargs):
        raise DataError("integer out of range")

    monkeypatch.setattr(services, "create_organization", overflow)
    assert_problem(admin_api.post("/organizations", {"name": "X"}), 422, field="body")


def test_the_schema_documents_the_problem_of_every_operation(db):
    schema = Client().get("/api/v1/openapi.json").json()
    assert set(schema["components"]["schemas"]["Problem"]["required"]) == {"type", "title", "status", "detail"}
    operations = [op for item in schema["paths"].values() for op in item.values()]
    assert operations and all(
        "application/problem+json" in op["responses"]["4XX"]["content"] for op in operations)
