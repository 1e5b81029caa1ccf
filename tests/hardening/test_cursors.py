"""Issue 8, finding 6: a well-formed cursor (base64 of a JSON list of the
right length) holding values of the wrong types reached the database — a 500
on `GET /roles?cursor=…`. A cursor whose values do not fit the ordering's
fields is refused as one this list never gave out: 422 on `cursor`."""

import base64
import json

import pytest

from tests.pricing.conftest import catalog, price  # noqa: F401  (fixtures)


def cursor_of(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


UUID = "0f0e2f5e-9d36-4c1c-9a51-7d4f7c3f6b1a"

# (list, a cursor of the right length whose values do not fit its ordering)
WRONG_CURSORS = [
    ("/roles", [1, 2]),                     # (name, id): name must be text
    ("/roles", ["Auditors", "two"]),        # id must be a number
    ("/roles", ["Auditors", 2 ** 70]),      # ... that fits the column
    ("/roles", ["Audi\u0000tors", 2]),      # no NUL reaches PostgreSQL
    ("/contacts", [1, 2, 3]),               # (last name, first name, id)
    ("/contacts", ["a", "b", "not-a-uuid"]),
    ("/contacts", ["a", "b", 7]),
    ("/organizations", [1, UUID]),          # (name, id)
    ("/organizations", ["EU", "xyz"]),
    ("/markets", ["EU", 12]),               # (key, id)
    ("/markets", [12, UUID]),
    ("/prices", [12]),                      # (id,)
    ("/prices", ["not-a-uuid"]),
    ("/accounts", ["a@example.com", "x"]),
    ("/customer-groups", [3, UUID]),
    ("/grants", [5]),
    ("/products", ["Shirt", "nope"]),
    ("/variants", ["TS-M", 1]),
]


@pytest.mark.parametrize(("path", "values"), WRONG_CURSORS)
def test_a_cursor_of_the_wrong_types_is_a_422_on_cursor(admin_api, catalog, path, values):
    response = admin_api.get(path, cursor=cursor_of(values))
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert [e["field"] for e in body["errors"]] == ["cursor"]
    assert body["errors"][0]["message"] == "Not a cursor this list gave out."


@pytest.mark.parametrize("path", ["/roles", "/contacts", "/organizations", "/markets", "/prices"])
def test_the_cursor_a_list_gives_out_still_pages_it(admin_api, catalog, price, path):
    # given a list longer than one page
    for n in range(3):
        price("TS-M", f"{10 + n}.00", min_quantity=str(n))
        admin_api.post("/contacts", {"first_name": f"Ann{n}", "last_name": "Page"})
    # when it is walked a row at a time
    seen, cursor = [], None
    for _ in range(50):
        body = admin_api.get(path, limit=1, **({"cursor": cursor} if cursor else {})).json()
        seen += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    # then every row comes once
    everything = admin_api.get(path, limit=500).json()["items"]
    assert seen == everything and len(seen) >= 2
