"""ETag and If-Match: what the schema promises for every versioned resource,
and that each operation keeps the promise."""

import pytest
from django.test import Client

VERSIONED = ["contacts", "organizations", "customer-groups", "accounts", "roles", "grants",
             "markets", "products", "variants", "prices",
             "visitor-groups", "segments", "campaigns", "content-slots"]
IF_MATCH = {"$ref": "#/components/parameters/IfMatch"}
ETAG = {"$ref": "#/components/headers/ETag"}


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        return Client().get("/api/v1/openapi.json").json()


def takes_if_match(operation: dict) -> bool:
    return IF_MATCH in operation["parameters"]


def sends_etag(operation: dict, status: str) -> bool:
    return operation["responses"].get(status, {}).get("headers", {}).get("ETag") == ETAG


@pytest.mark.parametrize("resource", VERSIONED)
def test_the_schema_shows_etag_and_if_match_on_every_versioned_resource(schema, resource):
    collection, item = schema["paths"][f"/api/v1/{resource}"], schema["paths"][f"/api/v1/{resource}/{{ident}}"]
    assert sends_etag(collection["post"], "201")
    assert sends_etag(item["get"], "200") and sends_etag(item["patch"], "200")
    assert takes_if_match(item["patch"]) and takes_if_match(item["delete"])
    assert "412" in item["patch"]["responses"] and "412" in item["delete"]["responses"]
    # reads take no If-Match, and a list has no single version
    assert not takes_if_match(item["get"]) and not sends_etag(collection["get"], "200")


def test_moving_an_organization_takes_if_match_and_answers_the_etag(schema):
    move = schema["paths"]["/api/v1/organizations/{ident}/move"]["post"]
    assert takes_if_match(move) and sends_etag(move, "200")


def test_if_match_is_an_optional_header(schema):
    parameter = schema["components"]["parameters"]["IfMatch"]
    assert (parameter["in"], parameter["name"], parameter["required"]) == ("header", "If-Match", False)
    assert schema["components"]["headers"]["ETag"]["schema"]["type"] == "string"


def test_operations_on_things_without_a_version_take_no_if_match(schema):
    tokens = schema["paths"]["/api/v1/accounts/{ident}/tokens"]["post"]
    revoke = schema["paths"]["/api/v1/accounts/{ident}/tokens/{token_id}"]["delete"]
    resolve = schema["paths"]["/api/v1/prices/resolve"]["post"]
    assert not any(takes_if_match(op) for op in (tokens, revoke, resolve))


# --- the promises kept --------------------------------------------------------

@pytest.fixture
def one_of_each(admin_api, world, accounts) -> dict[str, str]:
    """An ident per versioned resource, made through the API (whose create
    answers must carry the ETag the schema promises)."""

    def create(resource: str, body: dict) -> str:
        response = admin_api.post(f"/{resource}", body)
        assert response.status_code == 201, response.content
        assert response["ETag"] == f'"{response.json()["version"]}"'
        return str(response.json()["id"])

    return {
        "contacts": create("contacts", {"last_name": "Versioned"}),
        "organizations": "US-SALES",
        "customer-groups": "BRONZE",
        "accounts": "CSR-nogrant@example.com",
        "roles": create("roles", {"name": "Temporary"}),
        "grants": create("grants", {"account": "csr-nogrant@example.com", "organization": "US-HQ"}),
        "markets": create("markets", {"key": "EU", "name": "Europe", "currencies": ["EUR"]}),
        "products": create("products", {"key": "TSHIRT", "name": "T-shirt"}),
        "variants": create("variants", {"sku": "TS-M", "product": "TSHIRT"}),
        "prices": create("prices", {"variant": "TS-M", "market": "EU", "unit_price": "10.00"}),
        "visitor-groups": create("visitor-groups", {"key": "RETURNING", "name": "Returning",
                                                    "criteria": [{"type": "returning"}]}),
        "segments": create("segments", {"key": "LOYAL", "name": "Loyal"}),
        "campaigns": create("campaigns", {"key": "SALE", "name": "Sale"}),
        "content-slots": create("content-slots", {"key": "banner", "name": "Banner"}),
    }


BODIES = {"move_organization": {"parent": None}}


def operations_with(schema: dict, predicate):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if predicate(method, operation):
                resource = path.split("/")[3]
                yield method, path.removeprefix("/api/v1"), resource, operation


def test_a_stale_if_match_is_412_and_changes_nothing_on_every_operation_that_takes_it(
        schema, admin_api, one_of_each):
    checked = []
    for method, path, resource, operation in operations_with(schema, lambda m, op: takes_if_match(op)):
        # given
        url = path.format(ident=one_of_each[resource])
        item_url = f"/{resource}/{one_of_each[resource]}"
        before = admin_api.get(item_url).json()
        # when
        body = BODIES.get(operation["operationId"], {})
        headers = {"If-Match": '"999"'}
        response = (admin_api.delete(url, headers=headers) if method == "delete"
                    else getattr(admin_api, method)(url, body, headers=headers))
        # then
        assert response.status_code == 412, (operation["operationId"], response.content)
        assert admin_api.get(item_url).json() == before, operation["operationId"]
        checked.append(operation["operationId"])
    assert len(checked) == 2 * len(VERSIONED) + 1  # PATCH and DELETE of each, and move


def test_every_operation_that_promises_an_etag_sends_the_objects_version(schema, admin_api, one_of_each):
    checked = []
    for method, path, resource, operation in operations_with(schema, lambda m, op: sends_etag(op, "200")):
        url = path.format(ident=one_of_each[resource])
        current = admin_api.get(f"/{resource}/{one_of_each[resource]}")["ETag"]
        body = BODIES.get(operation["operationId"], {})
        response = (admin_api.get(url) if method == "get"
                    else getattr(admin_api, method)(url, body, headers={"If-Match": current}))
        assert response.status_code == 200, (operation["operationId"], response.content)
        assert response["ETag"] == f'"{response.json()["version"]}"', operation["operationId"]
        checked.append(operation["operationId"])
    assert len(checked) == 2 * len(VERSIONED) + 1  # GET and PATCH of each, and move
