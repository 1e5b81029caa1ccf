"""The OpenAPI schema as a contract: what a client generated from
/api/v1/openapi.json gets to call, and with which names and types."""

import re

import pytest
from django.test import Client

SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")

# Outside clients call these by name (DESIGN.md, "API contract").
IMPORTANT_OPERATIONS = {
    ("get", "/api/v1/contacts"): "list_contacts",
    ("post", "/api/v1/contacts"): "create_contact",
    ("get", "/api/v1/contacts/{ident}"): "get_contact",
    ("patch", "/api/v1/contacts/{ident}"): "update_contact",
    ("delete", "/api/v1/contacts/{ident}"): "delete_contact",
    ("get", "/api/v1/contacts/{ident}/effective-groups"): "contact_effective_groups",
    ("get", "/api/v1/contacts/{ident}/personal-data"): "contact_personal_data",
    ("post", "/api/v1/contacts/{ident}/erase"): "erase_contact",
    ("get", "/api/v1/organizations"): "list_organizations",
    ("post", "/api/v1/organizations"): "create_organization",
    ("get", "/api/v1/organizations/{ident}"): "get_organization",
    ("patch", "/api/v1/organizations/{ident}"): "update_organization",
    ("delete", "/api/v1/organizations/{ident}"): "delete_organization",
    ("post", "/api/v1/organizations/{ident}/move"): "move_organization",
    ("get", "/api/v1/organizations/{ident}/tree"): "organization_tree",
    ("get", "/api/v1/customer-groups"): "list_customer_groups",
    ("post", "/api/v1/customer-groups"): "create_customer_group",
    ("get", "/api/v1/customer-groups/{ident}"): "get_customer_group",
    ("get", "/api/v1/accounts/{ident}"): "get_account",
    ("post", "/api/v1/accounts/{ident}/tokens"): "create_token",
    ("get", "/api/v1/roles/{ident}"): "get_role",
    ("post", "/api/v1/grants"): "create_grant",
    ("get", "/api/v1/markets/{ident}"): "get_market",
    ("get", "/api/v1/products/{ident}"): "get_product",
    ("get", "/api/v1/variants/{ident}"): "get_variant",
    ("get", "/api/v1/prices"): "list_prices",
    ("post", "/api/v1/prices"): "create_price",
    ("get", "/api/v1/prices/resolve"): "resolve_price",
    ("post", "/api/v1/prices/resolve"): "resolve_prices",
    ("get", "/api/v1/prices/explain"): "explain_price",
    ("get", "/api/v1/exports/{entity}"): "export_entity",
}


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


def parameters(operation: dict) -> list[dict]:
    """The operation's own parameters (not the shared ones, such as If-Match)."""
    return [p for p in operation["parameters"] if "$ref" not in p]


def test_every_operation_id_is_unique_and_snake_case(schema):
    ids = [op["operationId"] for _, _, op in operations(schema)]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert [i for i in ids if not SNAKE_CASE.match(i)] == []


@pytest.mark.parametrize(("method", "path", "operation_id"),
                         [(m, p, i) for (m, p), i in IMPORTANT_OPERATIONS.items()])
def test_the_important_operations_keep_their_short_ids(schema, method, path, operation_id):
    assert schema["paths"][path][method]["operationId"] == operation_id


def test_two_views_with_one_name_are_refused_when_the_schema_is_built():
    from django.core.exceptions import ImproperlyConfigured
    from ninja import Router

    from clientbase.api.main import ProblemNinjaAPI

    api = ProblemNinjaAPI(urls_namespace="duplicate-ids-test")
    first, second = Router(), Router()

    def list_things(request):
        return []

    first.get("")(list_things)
    second.get("")(list_things)
    api.add_router("/a", first)
    api.add_router("/b", second)
    with pytest.raises(ImproperlyConfigured, match="list_things"):
        api.get_openapi_schema(path_prefix="")


# --- ids and keys -------------------------------------------------------------

def accepts_uuid(schema: dict) -> bool:
    """True when the (sub)schema has a `format: uuid` branch: a generated
    client then takes the UUID it was given."""
    if schema.get("format") == "uuid":
        return True
    branches = schema.get("anyOf", []) + ([schema["items"]] if "items" in schema else [])
    return any(accepts_uuid(branch) for branch in branches)


REFERENCE_FIELDS = {
    "ContactIn": ["organizations", "customer_groups"],
    "ContactPatch": ["organizations", "customer_groups"],
    "OrganizationIn": ["parent", "customer_groups"],
    "OrganizationPatch": ["parent", "customer_groups"],
    "MoveIn": ["parent"],
    "CustomerGroupIn": ["parent"],
    "CustomerGroupPatch": ["parent"],
    "AccountIn": ["contact"],
    "AccountPatch": ["contact"],
    "GrantIn": ["account", "organization"],
    "GrantPatch": ["account", "organization"],
    "VariantIn": ["product"],
    "VariantPatch": ["product"],
    "PriceIn": ["variant", "product", "market"],
    "BatchIn": ["contact", "market"],
}


@pytest.mark.parametrize(("component", "field"),
                         [(c, f) for c, fields in REFERENCE_FIELDS.items() for f in fields])
def test_a_reference_field_takes_an_id_or_a_key_and_says_so(schema, component, field):
    prop = schema["components"]["schemas"][component]["properties"][field]
    assert accepts_uuid(prop)
    assert "id" in prop["description"].lower()


def test_every_path_parameter_is_described_and_takes_the_id_the_api_gives_out(schema):
    for method, path, operation in operations(schema):
        for parameter in parameters(operation):
            if parameter["in"] != "path":
                continue
            assert parameter.get("description"), (method, path, parameter["name"])
            if path.startswith("/api/v1/roles/"):
                # Roles are Django groups: an integer id or the name.
                assert {"type": "integer", "minimum": 1} in parameter["schema"]["anyOf"]
            elif path.startswith("/api/v1/me/"):
                # A shopper names its cart's line by the SKU and its order by the
                # number, as the answers give them out (DESIGN.md's /me contract).
                assert parameter["name"] in ("sku", "number"), (method, path, parameter["name"])
            elif path.startswith("/api/v1/exports/"):
                # Not an object but a kind of file: one of a fixed list, named as the resources are.
                assert parameter["schema"]["enum"] == ["contacts", "customer-groups", "memberships",
                                                       "organizations", "prices"]
            else:
                assert accepts_uuid(parameter["schema"]), (method, path, parameter["name"])


def test_every_query_parameter_naming_an_object_takes_its_id(schema):
    for method, path, operation in operations(schema):
        for parameter in parameters(operation):
            described = parameter.get("description", "").lower()
            if parameter["in"] == "query" and ("id or key" in described or "key or id" in described):
                assert accepts_uuid(parameter["schema"]), (method, path, parameter["name"])


def test_parameter_examples_are_openapi_example_maps(schema):
    for _, _, operation in operations(schema):
        for parameter in parameters(operation):
            examples = parameter.get("examples", {})
            assert isinstance(examples, dict) and all("value" in e for e in examples.values())
