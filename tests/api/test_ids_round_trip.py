"""What the API gives out, it takes back: the `id` of a GET answer works in
every field and path that names an object, wherever a key does."""

import pytest

pytestmark = pytest.mark.django_db


def id_of(api, path: str) -> str:
    response = api.get(path)
    assert response.status_code == 200, response.content
    return response.json()["id"]


def created(response) -> dict:
    assert response.status_code == 201, response.content
    return response.json()


def test_ids_from_answers_work_in_every_reference_field_of_a_write(admin_api, world):
    # given: ids read from the API, never keys
    eu_hq, admin_org = id_of(admin_api, "/organizations/EU-HQ"), id_of(admin_api, "/organizations/ADMIN")
    customers, gold = id_of(admin_api, "/customer-groups/CUSTOMERS"), id_of(admin_api, "/customer-groups/GOLD")
    role = id_of(admin_api, "/roles/CustomerServiceRepresentatives")

    # when / then: customer groups and organizations
    platinum = created(admin_api.post("/customer-groups", {"key": "PLATINUM", "name": "Platinum",
                                                           "parent": customers}))
    assert platinum["parent"] == customers
    sales = created(admin_api.post("/organizations", {"name": "EU Sales", "parent": eu_hq,
                                                      "customer_groups": [gold]}))
    assert (sales["parent"], sales["customer_groups"]) == (eu_hq, [gold])
    changed = admin_api.patch(f"/organizations/{sales['id']}", {"customer_groups": [platinum["id"]]})
    assert changed.status_code == 200 and changed.json()["customer_groups"] == [platinum["id"]]
    moved = admin_api.post(f"/organizations/{sales['id']}/move", {"parent": admin_org})
    assert moved.status_code == 200 and moved.json()["parent"] == admin_org
    listed = admin_api.get("/organizations", parent=admin_org, customer_group=platinum["id"]).json()
    assert [o["id"] for o in listed["items"]] == [sales["id"]]

    # contacts
    contact = created(admin_api.post("/contacts", {"last_name": "Round", "organizations": [sales["id"]],
                                                   "customer_groups": [gold]}))
    assert (contact["organizations"], contact["customer_groups"]) == ([sales["id"]], [gold])
    changed = admin_api.patch(f"/contacts/{contact['id']}", {"customer_groups": [platinum["id"], gold]})
    assert sorted(changed.json()["customer_groups"]) == sorted([platinum["id"], gold])
    found = admin_api.get("/contacts", organization=sales["id"], customer_group=gold).json()
    assert [c["id"] for c in found["items"]] == [contact["id"]]
    groups = admin_api.get(f"/contacts/{contact['id']}/effective-groups").json()
    assert {g["group"]["id"] for g in groups["items"]} >= {gold, platinum["id"], customers}

    # accounts and grants
    account = created(admin_api.post("/accounts", {"email": "round@example.com", "contact": contact["id"]}))
    assert account["contact"] == contact["id"]
    grant = created(admin_api.post("/grants", {"account": account["id"], "organization": sales["id"]}))
    assert (grant["account"], grant["organization"]) == (account["id"], sales["id"])
    role_grant = created(admin_api.post("/grants", {"role": role, "organization": eu_hq}))
    assert role_grant["role_id"] == role
    assert admin_api.get("/grants", account=account["id"], organization=sales["id"]).json()["items"]

    # catalog and prices
    market = created(admin_api.post("/markets", {"key": "EU", "name": "Europe", "currencies": ["EUR"]}))
    product = created(admin_api.post("/products", {"key": "TSHIRT", "name": "T-shirt"}))
    variant = created(admin_api.post("/variants", {"sku": "TS-M", "name": "T-shirt M",
                                                   "product": product["id"]}))
    assert variant["product"] == product["id"]
    row = created(admin_api.post("/prices", {"variant": variant["id"], "market": market["id"],
                                             "sale_type": "customer_group", "sale_code": "GOLD",
                                             "unit_price": "15.00"}))
    product_row = created(admin_api.post("/prices", {"product": product["id"], "market": market["id"],
                                                     "unit_price": "20.00"}))
    assert (row["variant"], row["market"], product_row["product"]) == ("TS-M", "EU", "TSHIRT")
    listed = admin_api.get("/prices", variant=variant["id"], market=market["id"]).json()
    assert [r["id"] for r in listed["items"]] == [row["id"]]
    listed = admin_api.get("/prices", product=product["id"], market=market["id"]).json()
    assert [r["id"] for r in listed["items"]] == [product_row["id"]]
    resolved = admin_api.get("/prices/resolve", sku="TS-M", market=market["id"], contact=contact["id"])
    assert resolved.status_code == 200 and resolved.json()["unit_price"] == "15.00"
    batch = admin_api.post("/prices/resolve", {"skus": ["TS-M"], "market": market["id"],
                                               "contact": contact["id"]})
    assert batch.json()["items"][0]["unit_price"] == "15.00"


@pytest.mark.parametrize("path", [
    "/contacts/{contact}", "/organizations/{org}", "/customer-groups/{group}", "/accounts/{account}",
    "/roles/{role}",
])
def test_a_path_takes_the_id_in_upper_case_too(admin_api, world, accounts, path):
    ids = {
        "contact": created(admin_api.post("/contacts", {"last_name": "Upper"}))["id"],
        "org": str(world["EU-HQ"].pk), "group": str(world["GOLD"].pk),
        "account": str(accounts["csr"].pk), "role": str(id_of(admin_api, "/roles/Everyone")),
    }
    response = admin_api.get(path.format(**{k: v.upper() for k, v in ids.items()}))
    assert response.status_code == 200, response.content
