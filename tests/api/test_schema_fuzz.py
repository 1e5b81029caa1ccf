"""schemathesis against /api/v1/openapi.json, in process through the WSGI app.

For every operation of the schema, a bounded, derandomized set of generated
requests (valid and invalid) is sent as the administrator; each answer must
not be a 5xx, must match the schema, and every 4xx must be a problem+json.

Run alone with `pytest -m schema`.
"""

from urllib.parse import quote

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from clientbase.customers.models import ApiToken

pytestmark = [pytest.mark.schema, pytest.mark.django_db(transaction=True)]

PROBLEM = "application/problem+json"

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())

# The keys of the `world` fixture's objects. Random identifiers only ever find
# nothing (404); mixing these in sends reads, changes, moves and deletes to
# objects that exist, so that the code behind the 404 gets exercised too.
WORLD_KEYS = ["ADMIN", "EU-HQ", "EU-MGMT", "US-HQ", "US-SALES", "CUSTOMERS", "GOLD", "SILVER", "BRONZE"]


def _sometimes_a_world_key(values: dict, name: str, *, allow_null: bool = False) -> st.SearchStrategy:
    choices = [st.just(values[name]), st.sampled_from(WORLD_KEYS)] + ([st.none()] if allow_null else [])
    return st.one_of(choices).map(lambda value: {**values, name: value})


def _in_path(values: dict) -> dict:
    """Path parameters percent-encoded: schemathesis's WSGI transport puts
    them into the path as they are, so a generated `['?']` reached werkzeug
    as a query string ("Query string is defined in the path and as an
    argument") instead of reaching the API as an identifier."""
    return {name: value if value is None else quote(str(value), safe="") for name, value in values.items()}


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    if "ident" not in (path_parameters or {}):
        return st.just(_in_path(path_parameters or {}) if path_parameters else path_parameters)
    return _sometimes_a_world_key(path_parameters, "ident").map(_in_path)


@schema.hook
def flatmap_body(context, body):
    if not isinstance(body, dict) or "parent" not in body:
        return st.just(body)
    return _sometimes_a_world_key(body, "parent", allow_null=True)


@pytest.fixture
def admin_token(world, accounts) -> str:
    _, raw = ApiToken.issue(accounts["admin"])
    return raw


@schemathesis.check
def problem_json_for_every_4xx(ctx, response, case) -> bool | None:
    """A 4xx is an RFC 9457 problem, whatever went wrong."""
    if 400 <= response.status_code < 500:
        content_type = (response.headers.get("content-type") or [""])[0]
        if not content_type.startswith(PROBLEM):
            raise AssertionError(f"{response.status_code} answered as {content_type!r}, not {PROBLEM}")
        body = response.json()
        if body.get("status") != response.status_code or not body.get("title"):
            raise AssertionError(f"{response.status_code} problem without status/title: {body}")
    return True


CHECKS = [not_a_server_error, response_schema_conformance, problem_json_for_every_4xx]


@schema.parametrize()
@settings(max_examples=15, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_answers_within_its_schema_and_never_with_a_5xx(case, admin_token):
    response = case.call(headers={"Authorization": f"Bearer {admin_token}"})
    case.validate_response(response, checks=CHECKS)


@pytest.fixture
def scoped_token(world, accounts) -> str:
    """A CSR who may change organizations but manages only EU Headquarters."""
    from django.contrib.auth.models import Permission

    csr = accounts["csr"]
    csr.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="customers",
        codename__in=["add_organization", "change_organization", "delete_organization"]))
    _, raw = ApiToken.issue(csr)
    return raw


@schema.include(path_regex=r"/organizations").parametrize()
@settings(max_examples=15, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_organization_operations_hold_for_a_scoped_caller_too(case, scoped_token):
    response = case.call(headers={"Authorization": f"Bearer {scoped_token}"})
    case.validate_response(response, checks=CHECKS)


@pytest.fixture
def shopper_token(world, accounts) -> str:
    """A registered shopper, no staff access, with a token (no CSRF to get past)."""
    _, raw = ApiToken.issue(accounts["registered"])
    return raw


@schema.include(path_regex=r"/api/v1/(me|store)\b").parametrize()
@settings(max_examples=15, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_shopper_operations_hold_for_a_shopper_too(case, shopper_token):
    response = case.call(headers={"Authorization": f"Bearer {shopper_token}"})
    case.validate_response(response, checks=CHECKS)
