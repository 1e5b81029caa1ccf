"""The NinjaAPI behind /api/v1: authentication, problems, and each domain's router."""

from collections import Counter

from django.core.exceptions import ImproperlyConfigured
from django.urls import URLPattern, re_path
from django.urls.resolvers import RoutePattern
from django.utils.module_loading import import_string
from ninja import NinjaAPI
from ninja.operation import Operation

from clientbase.api import errors, rendering
from clientbase.api.auth import staff_auth


class ProblemNinjaAPI(NinjaAPI):
    """A NinjaAPI whose every answer, even for a URL or method it does not
    know, is JSON: a problem for each error."""

    def _get_urls(self):
        # ninja gives each operation its own pattern (`contacts/<ident>` three
        # times: get, update, delete), all with one view that dispatches on the
        # method, so only the first of each route can ever match. The others
        # go after the catch-all: out of the resolver's way (it tries patterns
        # one by one: `prices/resolve` came 59th, `store/products` 89th),
        # still there for reverse() by operation name.
        patterns, twins = _split_twins(super()._get_urls())
        for pattern in [*patterns, *twins]:
            if isinstance(pattern, URLPattern):
                if pattern.name == "api-root":
                    # ninja's root view raises Http404 (an HTML page); the
                    # pattern stays, because ninja reverses it for the schema.
                    pattern.callback = errors.not_found_view
                else:
                    pattern.callback = errors.as_problem(pattern.callback)
        # Last: anything else under /api/v1/ is a 404 problem, not Django's page.
        return [*patterns, re_path(r"^.*$", errors.not_found_view, name="no-such-url"), *twins]

    def add_router(self, prefix, router, **kwargs):
        """ninja's, with the router's answers written by pydantic-core (api.rendering)."""
        if isinstance(router, str):
            router = import_string(router)
        rendering.install(router)
        super().add_router(prefix, router, **kwargs)

    def get_openapi_operation_id(self, operation: Operation) -> str:
        """The view function's name: `list_contacts`, `move_organization`,
        `resolve_price`. Generated clients name their methods after it, so it
        is part of the contract: rename a view only with that in mind.
        (ninja's default prefixes the module path, which changes whenever a
        module moves.)"""
        return operation.view_func.__name__

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        """ninja's schema, plus the problem every operation may answer with
        (4XX, 5XX), so that clients and schema tests know its shape."""
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        _refuse_duplicate_operation_ids(schema)
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = errors.PROBLEM_SCHEMA
        problem_response = {
            "description": "An RFC 9457 problem.",
            "content": {errors.PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                responses = operation.setdefault("responses", {})
                for status in ("4XX", "5XX"):
                    responses.setdefault(status, problem_response)
                for parameter in operation.get("parameters", []):
                    _fix_parameter_examples(parameter)
        _document_versioning(schema)
        return schema


def _split_twins(patterns: list) -> tuple[list, list]:
    """(the patterns in order without twins, the twins): a twin has the same
    route as a pattern before it, which therefore matches every path the
    twin would (a route's match depends on nothing else), so that the
    resolver never reaches it."""
    first, twins, seen = [], [], set()
    for pattern in patterns:
        if isinstance(pattern, URLPattern) and isinstance(pattern.pattern, RoutePattern):
            if str(pattern.pattern) in seen:
                twins.append(pattern)
                continue
            seen.add(str(pattern.pattern))
        first.append(pattern)
    return first, twins


def _refuse_duplicate_operation_ids(schema: dict) -> None:
    # ninja only prints a warning; two views with one name would give a
    # generated client one method for two operations.
    counts = Counter(op["operationId"] for item in schema.get("paths", {}).values() for op in item.values())
    if duplicates := sorted(name for name, n in counts.items() if n > 1):
        raise ImproperlyConfigured(f"Operation ids used more than once: {', '.join(duplicates)}; "
                                   "give the views distinct names.")


def _fix_parameter_examples(parameter: dict) -> None:
    # ninja copies a JSON Schema `examples` list (IdOrKey's) up to the
    # parameter, where OpenAPI wants a map of Example objects.
    examples = parameter.get("examples")
    if isinstance(examples, list):
        parameter["examples"] = {str(value): {"value": value} for value in examples}


ETAG_HEADER = {
    "description": "The object's version, quoted (`\"3\"`). Send it back as `If-Match` to change "
                   "or delete the object only if nobody has changed it since.",
    "schema": {"type": "string", "examples": ['"3"']},
}
IF_MATCH_PARAMETER = {
    "in": "header",
    "name": "If-Match",
    "required": False,
    "description": "The ETag you read. When the object has changed since (its version is "
                   "another), the answer is 412 and nothing changes. `*` or no header: no check.",
    "schema": {"type": "string"},
}
STALE_RESPONSE = {
    "description": "If-Match names an older version of the object: nothing was changed.",
    "content": {errors.PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
}


def _versioned_answer(operation: dict, schemas: dict) -> list:
    """The success statuses of `operation` whose answer is one versioned object
    (a schema with `version`): those carry its ETag."""
    found = []
    for status, response in operation.get("responses", {}).items():
        if str(status) not in ("200", "201"):
            continue
        ref = response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
        if "version" in schemas.get(ref.rsplit("/", 1)[-1], {}).get("properties", {}):
            found.append(status)
    return found


def _document_versioning(schema: dict) -> None:
    """ETag and If-Match, from one rule rather than by hand in each router:
    an operation answering one object that has a `version` (get, create,
    update, move) sends its ETag; a PATCH or DELETE on a path whose GET
    answers such an object, and a POST on an object's path that answers it
    (move), take an optional If-Match and may answer 412. Every such view
    sets the ETag (common.set_etag) and hands If-Match to the version check
    (common.if_match, passed to the services); tests/api/test_versioning_contract.py
    holds every operation of the schema to what it says here."""
    components = schema.setdefault("components", {})
    schemas = components.get("schemas", {})
    components.setdefault("headers", {})["ETag"] = ETAG_HEADER
    components.setdefault("parameters", {})["IfMatch"] = IF_MATCH_PARAMETER
    paths = schema.get("paths", {})
    versioned_paths = {path for path, item in paths.items()
                       if "get" in item and _versioned_answer(item["get"], schemas)}
    for path, item in paths.items():
        for method, operation in item.items():
            statuses = _versioned_answer(operation, schemas)
            for status in statuses:
                operation["responses"][status].setdefault("headers", {})["ETag"] = {
                    "$ref": "#/components/headers/ETag"}
            takes_if_match = ((method in ("patch", "delete") and path in versioned_paths)
                              or (method == "post" and "{" in path and statuses))
            if takes_if_match:
                operation.setdefault("parameters", []).append({"$ref": "#/components/parameters/IfMatch"})
                operation["responses"].setdefault(412, STALE_RESPONSE)


api = ProblemNinjaAPI(
    title="clientbase API",
    version="1",
    description=(
        "Customer management for online shops. Authenticate with a session cookie "
        "(plus the X-CSRFToken header on writes) or with `Authorization: Bearer <token>`. "
        "Errors are RFC 9457 problems (application/problem+json). Every id parameter "
        "also accepts the object's key. A versioned object's answers carry an ETag; send it "
        "back as If-Match on PATCH, DELETE or move (412 when stale). Money and quantities "
        "are decimal strings."
    ),
    urls_namespace="api-v1",
    auth=staff_auth,
    openapi_url="/openapi.json",
    docs_url="/docs",
)
errors.install(api)


def _mount() -> None:
    from clientbase.api import (
        accounts, contacts, customer_groups, exports, gdpr, grants, marketing, markets, me, organizations,
        prices, products, roles, store, variants,
    )

    api.add_router("/contacts", contacts.router)
    api.add_router("/contacts", gdpr.router)  # GDPR export and erasure of a contact
    api.add_router("/organizations", organizations.router)
    api.add_router("/customer-groups", customer_groups.router)
    api.add_router("/accounts", accounts.router)
    api.add_router("/roles", roles.router)
    api.add_router("/grants", grants.router)

    api.add_router("/markets", markets.router)
    api.add_router("/products", products.router)
    api.add_router("/variants", variants.router)
    api.add_router("/prices", prices.router)

    api.add_router("/visitor-groups", marketing.visitor_groups)
    api.add_router("/segments", marketing.segments)
    api.add_router("/campaigns", marketing.campaigns)
    api.add_router("/content-slots", marketing.content_slots)
    api.add_router("/quotes", marketing.quotes_router)

    # Files of what the caller sees, streamed (the CLI's `clientbase export`).
    api.add_router("/exports", exports.router)

    # The shop's public side: anonymous visitors too (its own auth).
    api.add_router("/store", store.router)
    # The shopper's own side, for headless front ends: the session's visitor
    # (anonymous too, CSRF on every write) or a token's account.
    api.add_router("/me", me.router)


_mount()
