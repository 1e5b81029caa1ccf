"""/api/v1/customer-groups through the HTTP client: CRUD, moves, cycles,
deletes, the tree, validation, concurrency and permissions."""

import pytest

from clientbase.customers.models import Contact, CustomerGroup
from tests.conftest import keys_of


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # These tests log accounts in without passwords; argon2 would only cost time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def group(key: str) -> CustomerGroup:
    return CustomerGroup.objects.get(key=key)


def error_fields(response) -> set[str]:
    return {e["field"] for e in response.json().get("errors", [])}


# --- CRUD -------------------------------------------------------------------

def test_admin_creates_a_group_under_a_parent_given_by_key(admin_api, world):
    # when
    response = admin_api.post("/customer-groups", {"key": "PLATINUM", "name": "Platinum",
                                                   "description": "Top tier", "parent": "GOLD"})

    # then
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["key"], body["name"], body["description"]) == ("PLATINUM", "Platinum", "Top tier")
    assert body["parent"] == str(world["GOLD"].pk)
    assert body["depth"] == 2
    assert response["ETag"] == '"1"'
    assert group("PLATINUM").is_descendant_of(world["CUSTOMERS"])


def test_a_group_without_parent_is_a_root(admin_api, world):
    response = admin_api.post("/customer-groups", {"key": "PARTNERS", "name": "Partners"})

    assert response.status_code == 201
    assert response.json()["parent"] is None
    assert response.json()["depth"] == 0


@pytest.mark.parametrize("by", ["id", "key"])
def test_a_group_can_be_read_by_id_or_key(admin_api, world, by):
    gold = world["GOLD"]

    response = admin_api.get(f"/customer-groups/{gold.pk if by == 'id' else 'GOLD'}")

    assert response.status_code == 200
    assert response.json()["id"] == str(gold.pk)
    assert response["ETag"] == f'"{gold.version}"'


def test_patch_renames_and_rekeys_a_group(admin_api, world):
    response = admin_api.patch("/customer-groups/GOLD", {"name": "Golden", "key": "GOLDEN"})

    assert response.status_code == 200, response.json()
    assert (response.json()["name"], response.json()["key"]) == ("Golden", "GOLDEN")
    assert response.json()["version"] == 2
    assert admin_api.get("/customer-groups/GOLDEN").status_code == 200
    assert admin_api.get("/customer-groups/GOLD").status_code == 404


def test_patching_the_parent_moves_the_whole_subtree(admin_api, world):
    # given: Platinum under Gold
    admin_api.post("/customer-groups", {"key": "PLATINUM", "name": "Platinum", "parent": "GOLD"})
    admin_api.post("/customer-groups", {"key": "VIP", "name": "VIP"})

    # when: Gold moves under VIP
    response = admin_api.patch("/customer-groups/GOLD", {"parent": "VIP"})

    # then: Platinum came along
    assert response.status_code == 200, response.json()
    assert response.json()["version"] == 2
    assert response.json()["parent"] == str(group("VIP").pk)
    platinum = group("PLATINUM")
    assert platinum.depth == 2
    assert platinum.is_descendant_of(group("VIP"))
    assert not platinum.is_descendant_of(world["CUSTOMERS"])


def test_patching_the_parent_to_null_makes_a_root(admin_api, world):
    response = admin_api.patch("/customer-groups/GOLD", {"parent": None})

    assert response.status_code == 200
    assert response.json()["parent"] is None
    assert group("GOLD").depth == 0


@pytest.mark.parametrize("new_parent", ["CUSTOMERS", "GOLD", "PLATINUM"])
def test_moving_a_group_under_itself_or_a_descendant_is_a_409_and_changes_nothing(
        admin_api, world, new_parent):
    admin_api.post("/customer-groups", {"key": "PLATINUM", "name": "Platinum", "parent": "GOLD"})
    paths = dict(CustomerGroup.objects.values_list("key", "path"))

    response = admin_api.patch("/customer-groups/CUSTOMERS", {"parent": new_parent})

    assert response.status_code == 409
    assert response.json()["type"].endswith("cycle")
    assert error_fields(response) == {"parent"}
    assert dict(CustomerGroup.objects.values_list("key", "path")) == paths


def test_deleting_a_leaf_group_removes_it_from_its_members(admin_api, world):
    # given
    contact = Contact.objects.create(first_name="Anna")
    contact.customer_groups.add(world["GOLD"], world["SILVER"])
    world["EU-HQ"].customer_groups.add(world["GOLD"])

    # when
    response = admin_api.delete("/customer-groups/GOLD")

    # then
    assert response.status_code == 204
    assert not CustomerGroup.objects.filter(key="GOLD").exists()
    assert list(contact.customer_groups.values_list("key", flat=True)) == ["SILVER"]
    assert not world["EU-HQ"].customer_groups.exists()


def test_deleting_a_group_with_children_is_a_409_and_keeps_it(admin_api, world):
    response = admin_api.delete("/customer-groups/CUSTOMERS")

    assert response.status_code == 409
    assert response.json()["type"].endswith("not_empty")
    assert "3 child" in response.json()["detail"]
    assert CustomerGroup.objects.filter(key="CUSTOMERS").exists()


def test_the_tree_nests_every_group_below_the_root(admin_api, world):
    admin_api.post("/customer-groups", {"key": "PLATINUM", "name": "Platinum", "parent": "GOLD"})

    response = admin_api.get("/customer-groups/CUSTOMERS/tree")

    assert response.status_code == 200
    tree = response.json()
    assert tree["key"] == "CUSTOMERS"
    assert [c["key"] for c in tree["children"]] == ["BRONZE", "GOLD", "SILVER"]
    gold = tree["children"][1]
    assert [c["key"] for c in gold["children"]] == ["PLATINUM"]
    assert gold["children"][0]["children"] == []


def test_the_tree_of_an_unknown_group_is_404(admin_api, world):
    assert admin_api.get("/customer-groups/NOPE/tree").status_code == 404
    assert admin_api.get("/customer-groups/NO%00PE/tree").status_code in (404, 422)  # never a 500


# --- list -------------------------------------------------------------------

def test_the_list_is_in_tree_order(admin_api, world):
    keys = keys_of(admin_api.get("/customer-groups"))

    assert keys[0] == "CUSTOMERS"
    assert set(keys) == {"CUSTOMERS", "GOLD", "SILVER", "BRONZE"}


@pytest.mark.parametrize("params, expected", [
    ({"q": "gol"}, {"GOLD"}),
    ({"q": "SIL"}, {"SILVER"}),
    ({"q": "cust"}, {"CUSTOMERS"}),
    ({"q": "old"}, set()),
    ({"parent": "CUSTOMERS"}, {"GOLD", "SILVER", "BRONZE"}),
    ({"parent": "GOLD"}, set()),
])
def test_list_filters(admin_api, world, params, expected):
    response = admin_api.get("/customer-groups", **params)

    assert response.status_code == 200
    assert set(keys_of(response)) == expected


def test_cursor_pagination_walks_every_group_exactly_once(admin_api, world):
    for i in range(12):
        admin_api.post("/customer-groups", {"key": f"G{i}", "name": f"G{i}",
                                            "parent": "GOLD" if i % 2 else None})
    seen, cursor = [], None
    while True:
        body = admin_api.get("/customer-groups", limit=3, **({"cursor": cursor} if cursor else {})).json()
        seen += [item["key"] for item in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break

    assert len(seen) == len(set(seen)) == 16
    assert seen == list(CustomerGroup.objects.order_by("path", "id").values_list("key", flat=True))


# --- validation -------------------------------------------------------------

@pytest.mark.parametrize("payload, field", [
    ({"name": "No key"}, "key"),
    ({"key": "", "name": "Empty key"}, "key"),
    ({"key": "HAS SPACE", "name": "x"}, "key"),
    ({"key": "6f1d2c1e-0000-4000-8000-000000000000", "name": "x"}, "key"),
    ({"key": "NONAME"}, "name"),
    ({"key": "X", "name": ""}, "name"),
    ({"key": "X", "name": "x", "parent": "NOPE"}, "parent"),
    ({"key": "X", "name": "x", "colour": "gold"}, "colour"),
    ({"key": "X", "name": ["x"]}, "name"),
    ({"key": "X", "name": "G\x00ld"}, "name"),
    ({"key": "X", "name": "x", "parent": "G\x00"}, "parent"),
])
def test_create_refuses_invalid_input_naming_the_field(admin_api, world, payload, field):
    response = admin_api.post("/customer-groups", payload)

    assert response.status_code == 422, response.json()
    assert field in error_fields(response)
    assert CustomerGroup.objects.count() == 4


def test_a_duplicate_key_is_a_409(admin_api, world):
    response = admin_api.post("/customer-groups", {"key": "GOLD", "name": "Another gold"})

    assert response.status_code == 409
    assert error_fields(response) == {"key"}
    assert CustomerGroup.objects.filter(key="GOLD").count() == 1


def test_rekeying_to_a_taken_key_is_a_409_and_changes_nothing(admin_api, world):
    response = admin_api.patch("/customer-groups/GOLD", {"key": "SILVER", "name": "Renamed"})

    assert response.status_code == 409
    assert group("GOLD").name == "Gold"


@pytest.mark.parametrize("payload, field", [
    ({"parent": "NOPE"}, "parent"), ({"key": "A B"}, "key"), ({"shade": 1}, "shade"),
])
def test_patch_refuses_invalid_input(admin_api, world, payload, field):
    response = admin_api.patch("/customer-groups/GOLD", payload)

    assert response.status_code == 422
    assert field in error_fields(response)
    assert group("GOLD").version == 1


def test_a_stale_if_match_is_a_412_and_changes_nothing(admin_api, world):
    etag = admin_api.get("/customer-groups/GOLD")["ETag"]
    admin_api.patch("/customer-groups/GOLD", {"description": "first"})

    response = admin_api.patch("/customer-groups/GOLD", {"name": "Late"}, headers={"If-Match": etag})

    assert response.status_code == 412
    assert group("GOLD").name == "Gold"


def test_a_stale_if_match_on_delete_is_a_412(admin_api, world):
    response = admin_api.delete("/customer-groups/BRONZE", headers={"If-Match": '"9"'})

    assert response.status_code == 412
    assert CustomerGroup.objects.filter(key="BRONZE").exists()


# --- permissions ------------------------------------------------------------

def test_csr_may_read_groups_but_not_change_them(caller, world):
    api = caller("csr")

    assert api.get("/customer-groups").status_code == 200
    assert api.get("/customer-groups/GOLD/tree").status_code == 200
    assert api.post("/customer-groups", {"key": "X", "name": "X"}).status_code == 403
    assert api.patch("/customer-groups/GOLD", {"name": "X"}).status_code == 403
    assert api.delete("/customer-groups/BRONZE").status_code == 403
    assert group("GOLD").name == "Gold"


@pytest.mark.parametrize("method, path", [
    ("get", "/customer-groups"), ("get", "/customer-groups/GOLD"), ("get", "/customer-groups/GOLD/tree"),
    ("post", "/customer-groups"), ("patch", "/customer-groups/GOLD"), ("delete", "/customer-groups/BRONZE"),
])
@pytest.mark.parametrize("who, status", [("registered", 403), (None, 401)])
def test_registered_gets_403_and_anonymous_gets_401(caller, world, method, path, who, status):
    api = caller(who)

    if method in ("post", "patch"):
        response = getattr(api, method)(path, {"key": "X", "name": "X"})
    else:
        response = getattr(api, method)(path)

    assert response.status_code == status
    assert CustomerGroup.objects.count() == 4
    assert group("GOLD").name == "Gold"
