"""Issue 8, item 7: the API's object operations, as each caller, on an object
it sees, one it does not see and one that does not exist, addressed by id and
(where the resource has keys) by key. Classification: matrix.py."""

import uuid

import pytest

from tests.hardening.matrix import (
    CALLERS, KEYS, MISSING_KEY, MISSING_KEYS, OPERATIONS, SCHEMA_OPERATIONS, SHOP_WIDE, STATES, WRITE_BODIES,
    assert_nothing_foreign, call, client_for, expected_status, neutral, scoped, snapshot, url_for,
)

# The states each resource has objects for: a shop-wide resource has nothing
# invisible to staff, except prices (a customer price of an invisible contact).
RESOURCE_STATES = {resource: ["visible", "nonexistent"] for resource in SHOP_WIDE if resource != "prices"}

OBJECT_OPERATIONS = sorted(name for name, op in OPERATIONS.items() if op.target is not None)

# Cells that find a real bug: (operation, caller, state, by) → the bug.
KNOWN_BUGS: dict[tuple[str, str, str, str], str] = {}


def _cells():
    for name in OBJECT_OPERATIONS:
        target = OPERATIONS[name].target
        for by in ("id", "key") if target in KEYS else ("id",):
            for caller in CALLERS:
                for state in RESOURCE_STATES.get(target, STATES):
                    marks = ()
                    if (name, caller, state, by) in KNOWN_BUGS:
                        marks = pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[(name, caller, state, by)])
                    yield pytest.param(name, caller, state, by, id=f"{name}-{caller}-{state}-by_{by}",
                                       marks=marks)


def _ident(matrix: dict, resource: str, target, by: str) -> str:
    if by == "id":
        return str(target.pk) if target is not None else matrix["missing"]
    return getattr(target, KEYS[resource]) if target is not None else MISSING_KEYS.get(resource, MISSING_KEY)


@pytest.mark.parametrize("name, caller, state, by", list(_cells()))
def test_api_object_matrix(matrix, name, caller, state, by):
    # given
    op = OPERATIONS[name]
    method, path = SCHEMA_OPERATIONS[name]
    account = matrix["callers"][caller]
    target = matrix["objects"][op.target].get(state)
    token = matrix["objects"]["tokens"].get(state)
    ident = _ident(matrix, op.target, target, by)
    missing = _ident(matrix, op.target, None, by)
    token_id = str(token.pk) if token is not None else str(uuid.uuid4())
    before = snapshot(target) if target is not None else None
    expected = expected_status(op, method, caller, account, state)
    client = client_for(account)

    # when
    if expected == 404 and state == "invisible":
        # the same request for an object that does not exist, first (it changes nothing)
        missing_token = str(uuid.uuid4())
        absent = call(client, method, url_for(path, missing, missing_token), WRITE_BODIES.get(name))
    response = call(client, method, url_for(path, ident, token_id), WRITE_BODIES.get(name))

    # then
    if expected is None:
        assert response.status_code not in (401, 403, 404) and response.status_code < 500, \
            (response.status_code, response.content)
    else:
        assert response.status_code == expected, response.content
    if expected in (401, 403, 404) and target is not None:
        assert snapshot(target) == before, "a refused write changed the object"
    if expected == 404 and state == "invisible":
        assert response.status_code == absent.status_code
        assert response.get("Content-Type") == absent.get("Content-Type")
        assert neutral(response.content, ident, token_id) == neutral(absent.content, missing, missing_token)
    if scoped(account):
        assert_nothing_foreign(matrix, neutral(response.content, ident, token_id), ids=state != "visible")


# By key or by id, the same object: the answers agree (the ETag included).
@pytest.mark.parametrize("name", sorted(n for n in OBJECT_OPERATIONS
                                        if SCHEMA_OPERATIONS[n][0] == "GET" and OPERATIONS[n].target in KEYS))
def test_api_addressing_by_key_answers_as_by_id(matrix, name):
    op = OPERATIONS[name]
    path = SCHEMA_OPERATIONS[name][1]
    target = matrix["objects"][op.target]["visible"]
    client = client_for(matrix["callers"]["admin"])
    by_id = client.get(url_for(path, str(target.pk)))
    by_key = client.get(url_for(path, getattr(target, KEYS[op.target])))
    assert by_id.status_code == by_key.status_code == 200, by_key.content
    if by_id["Content-Type"].startswith("application/json"):
        assert by_id.json() == by_key.json()
    else:  # a file (a segment's members, exported): the same bytes
        assert b"".join(by_id.streaming_content) == b"".join(by_key.streaming_content)
    assert by_id.get("ETag") == by_key.get("ETag")
