"""/api/v1/contacts through the HTTP client: CRUD, validation, concurrency,
pagination, search, filters, visibility and query counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clientbase.customers.models import Account, Contact, Grant
from clientbase.customers.services.contacts import create_contact
from tests.conftest import in_parallel, make_account, org


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # These tests log accounts in without passwords; argon2 would only cost time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def new_contact(first: str, last: str, *orgs: str, email: str | None = None, key: str | None = None,
                groups: tuple[str, ...] = (), **fields) -> Contact:
    from clientbase.customers.models import CustomerGroup, Organization

    return create_contact(
        actor=None,
        fields={"first_name": first, "last_name": last, "email": email, "key": key, **fields},
        organizations=Organization.objects.filter(key__in=orgs),
        customer_groups=CustomerGroup.objects.filter(key__in=groups),
    )


@pytest.fixture
def people(world):
    """One contact per organization of the example world, by key."""
    return {
        "ANNA": new_contact("Anna", "Schmidt", "EU-MGMT", email="anna@example.com", key="ANNA"),
        "BEN": new_contact("Ben", "Meyer", "EU-HQ", email="ben@example.com", key="BEN"),
        "CARL": new_contact("Carl", "Admin", "ADMIN", email="carl@example.com", key="CARL"),
        "DORA": new_contact("Dora", "Sales", "US-SALES", email="dora@example.com", key="DORA"),
    }


def error_fields(response) -> set[str]:
    return {e["field"] for e in response.json().get("errors", [])}


FULL = {
    "key": "C-1001",
    "first_name": "Anna",
    "last_name": "Schmidt",
    "email": "Anna.Schmidt@Example.COM",
    "phone": "+4930123456",
    "birth_date": "1985-04-12",
    "preferred_language": "de-DE",
    "preferred_currency": "EUR",
    "source": "back_office",
    "organizations": ["EU-MGMT"],
    "customer_groups": ["GOLD"],
    "addresses": [
        {"name": "Home", "line1": "Hauptstr. 1", "city": "Berlin", "postcode": "10115",
         "country": "DE", "is_default_shipping": True, "is_default_billing": True},
        {"name": "Office", "line1": "Ring 5", "line2": "3rd floor", "city": "Munich", "country": "DE",
         "phone": "+49891234567"},
    ],
}


# --- CRUD -------------------------------------------------------------------

def test_admin_creates_a_contact_with_every_field(admin_api, world):
    # when
    response = admin_api.post("/contacts", FULL)

    # then
    assert response.status_code == 201, response.json()
    body = response.json()
    assert response["ETag"] == '"1"'
    assert body["key"] == "C-1001"
    assert body["email"] == "anna.schmidt@example.com"  # stored folded
    assert body["phone"] == "+4930123456"
    assert body["birth_date"] == "1985-04-12"
    assert body["preferred_language"] == "de-DE"
    assert body["preferred_currency"] == "EUR"
    assert body["source"] == "back_office"
    assert body["organizations"] == [str(world["EU-MGMT"].pk)]
    assert body["customer_groups"] == [str(world["GOLD"].pk)]
    assert [a["name"] for a in body["addresses"]] == ["Home", "Office"]
    assert body["addresses"][0]["is_default_shipping"] is True
    assert body["addresses"][1]["line2"] == "3rd floor"
    assert body["account"] is None
    assert body["version"] == 1
    contact = Contact.objects.get(pk=body["id"])
    assert contact.addresses.count() == 2


def test_a_contact_created_through_the_api_has_source_api_by_default(admin_api, world):
    response = admin_api.post("/contacts", {"first_name": "Zoe"})

    assert response.status_code == 201
    assert response.json()["source"] == "api"


@pytest.mark.parametrize("by", ["id", "key"])
def test_a_contact_can_be_read_by_id_or_by_key(admin_api, people, by):
    anna = people["ANNA"]
    ident = anna.pk if by == "id" else anna.key

    response = admin_api.get(f"/contacts/{ident}")

    assert response.status_code == 200
    assert response.json()["id"] == str(anna.pk)
    assert response["ETag"] == f'"{anna.version}"'


def test_the_account_of_a_contact_is_shown_by_id(admin_api, people):
    account = make_account("anna-login@example.com")
    account.contact = people["ANNA"]
    account.save()

    response = admin_api.get("/contacts/ANNA")

    assert response.json()["account"] == str(account.pk)


def test_patch_changes_only_the_given_fields_and_bumps_the_version(admin_api, people):
    # when
    response = admin_api.patch("/contacts/ANNA", {"last_name": "Schmidt-Weber", "phone": "+4930999999"})

    # then
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["last_name"] == "Schmidt-Weber"
    assert body["first_name"] == "Anna"
    assert body["email"] == "anna@example.com"
    assert body["version"] == 2
    assert response["ETag"] == '"2"'
    assert Contact.objects.get(key="ANNA").search_last_name == "schmidt-weber"


def test_patch_replaces_memberships_given_by_key(admin_api, people, world):
    response = admin_api.patch("/contacts/ANNA", {"organizations": ["EU-HQ", str(world["US-SALES"].pk)],
                                                   "customer_groups": ["SILVER", "BRONZE"]})

    assert response.status_code == 200, response.json()
    assert set(response.json()["organizations"]) == {str(world["EU-HQ"].pk), str(world["US-SALES"].pk)}
    assert set(response.json()["customer_groups"]) == {str(world["SILVER"].pk), str(world["BRONZE"].pk)}


def test_patch_with_null_email_clears_it(admin_api, people):
    response = admin_api.patch("/contacts/ANNA", {"email": None})

    assert response.status_code == 200
    assert response.json()["email"] is None


def test_addresses_are_replaced_wholesale_and_an_id_keeps_an_address(admin_api, world):
    created = admin_api.post("/contacts", FULL).json()
    home, office = created["addresses"]

    # when: keep Home (changed), drop Office, add a new one
    response = admin_api.patch(f"/contacts/{created['id']}", {"addresses": [
        {"id": home["id"], "name": "Home", "line1": "Hauptstr. 2", "city": "Berlin", "country": "DE",
         "is_default_billing": True},
        {"name": "Holiday", "line1": "Via Roma 1", "city": "Rome", "country": "IT",
         "is_default_shipping": True},
    ]})

    # then
    assert response.status_code == 200, response.json()
    addresses = response.json()["addresses"]
    assert addresses[0]["id"] == home["id"]
    assert addresses[0]["line1"] == "Hauptstr. 2"
    assert addresses[0]["is_default_shipping"] is False  # left out: back to the default
    assert addresses[1]["name"] == "Holiday"
    assert office["id"] not in {a["id"] for a in addresses}
    assert Contact.objects.get(pk=created["id"]).addresses.count() == 2


def test_an_empty_address_list_removes_every_address(admin_api, world):
    created = admin_api.post("/contacts", FULL).json()

    response = admin_api.patch(f"/contacts/{created['id']}", {"addresses": []})

    assert response.json()["addresses"] == []


def test_an_address_id_of_another_contact_is_refused(admin_api, world, people):
    other = admin_api.post("/contacts", FULL).json()

    response = admin_api.patch("/contacts/ANNA", {"addresses": [
        {"id": other["addresses"][0]["id"], "line1": "x", "city": "y", "country": "DE"}]})

    assert response.status_code == 422
    assert error_fields(response) == {"addresses.0.id"}
    assert Contact.objects.get(pk=other["id"]).addresses.count() == 2


def test_delete_removes_the_contact_and_its_addresses(admin_api, world):
    created = admin_api.post("/contacts", FULL).json()

    response = admin_api.delete(f"/contacts/{created['id']}")

    assert response.status_code == 204
    assert admin_api.get(f"/contacts/{created['id']}").status_code == 404
    assert not Contact.objects.filter(pk=created["id"]).exists()


def test_deleting_a_contact_keeps_its_account(admin_api, people):
    account = make_account("anna-login@example.com")
    account.contact = people["ANNA"]
    account.save()

    assert admin_api.delete("/contacts/ANNA").status_code == 204

    account.refresh_from_db()
    assert account.contact is None


def test_an_unknown_contact_is_404(admin_api, world):
    assert admin_api.get("/contacts/NOBODY").status_code == 404
    assert admin_api.get("/contacts/NO%00BODY").status_code in (404, 422)  # never a 500
    assert admin_api.get("/contacts/00000000-0000-0000-0000-000000000000").status_code == 404


# --- validation -------------------------------------------------------------

ADDRESS = {"line1": "Hauptstr. 1", "city": "Berlin", "country": "DE"}

INVALID = [
    # (description, payload, field named)
    ("unknown field", {"first_name": "A", "nickname": "x"}, "nickname"),
    ("wrong type for a name", {"first_name": 123}, "first_name"),
    ("NUL character in a name", {"first_name": "A\x00B"}, "first_name"),
    ("NUL character in a reference", {"organizations": ["EU\x00"]}, "organizations.0"),
    ("NUL character in an address", {"addresses": [{**ADDRESS, "city": "Ber\x00lin"}]}, "addresses.0.city"),
    ("wrong type for organizations", {"organizations": "EU-MGMT"}, "organizations"),
    ("birth date not a date", {"birth_date": "12/04/1985"}, "birth_date"),
    ("birth date in the future", {"birth_date": "2999-01-01"}, "birth_date"),
    ("invalid e-mail", {"email": "not-an-email"}, "email"),
    ("e-mail without domain", {"email": "anna@"}, "email"),
    ("phone not E.164", {"phone": "030 123456"}, "phone"),
    ("phone too short", {"phone": "+49"}, "phone"),
    ("phone with letters", {"phone": "+49301234ab"}, "phone"),
    ("currency in lower case", {"preferred_currency": "eur"}, "preferred_currency"),
    ("currency too long", {"preferred_currency": "EURO"}, "preferred_currency"),
    ("currency not in ISO 4217", {"preferred_currency": "ABC"}, "preferred_currency"),
    ("currency no longer in ISO 4217", {"preferred_currency": "DEM"}, "preferred_currency"),
    ("language not a tag", {"preferred_language": "English"}, "preferred_language"),
    ("language region in lower case", {"preferred_language": "en-gb"}, "preferred_language"),
    ("source not a choice", {"source": "fax"}, "source"),
    ("key with a space", {"key": "A B"}, "key"),
    ("key that looks like a uuid", {"key": "6f1d2c1e-0000-4000-8000-000000000000"}, "key"),
    ("unknown organization", {"organizations": ["NOPE"]}, "organizations"),
    ("unknown customer group", {"customer_groups": ["PLATINUM"]}, "customer_groups"),
    ("address country in lower case", {"addresses": [{**ADDRESS, "country": "de"}]}, "addresses.0.country"),
    ("address country not ISO", {"addresses": [{**ADDRESS, "country": "XX"}]}, "addresses.0.country"),
    ("address country only reserved", {"addresses": [{**ADDRESS, "country": "UK"}]}, "addresses.0.country"),
    ("address without line1", {"addresses": [{"city": "Berlin", "country": "DE"}]}, "addresses.0.line1"),
    ("address with blank city", {"addresses": [{**ADDRESS, "city": "   "}]}, "addresses.0.city"),
    ("address unknown field", {"addresses": [{**ADDRESS, "floor": 3}]}, "addresses.0.floor"),
    ("address phone not E.164", {"addresses": [{**ADDRESS, "phone": "12345"}]}, "addresses.0.phone"),
    ("two default shipping addresses",
     {"addresses": [{**ADDRESS, "is_default_shipping": True}, {**ADDRESS, "is_default_shipping": True}]},
     "addresses"),
    ("two default billing addresses",
     {"addresses": [{**ADDRESS, "is_default_billing": True}, {**ADDRESS, "is_default_billing": True}]},
     "addresses"),
]


@pytest.mark.parametrize("payload, field", [case[1:] for case in INVALID], ids=[c[0] for c in INVALID])
def test_create_refuses_invalid_input_naming_the_field(admin_api, world, payload, field):
    # when
    response = admin_api.post("/contacts", {"organizations": ["EU-MGMT"], **payload})

    # then
    assert response.status_code == 422, response.json()
    assert response["Content-Type"] == "application/problem+json"
    assert field in error_fields(response)
    assert Contact.objects.count() == 0


@pytest.mark.parametrize("payload, field", [case[1:] for case in INVALID], ids=[c[0] for c in INVALID])
def test_patch_refuses_invalid_input_and_changes_nothing(admin_api, people, payload, field):
    before = Contact.objects.get(key="ANNA")

    response = admin_api.patch("/contacts/ANNA", payload)

    assert response.status_code == 422, response.json()
    assert field in error_fields(response)
    after = Contact.objects.get(key="ANNA")
    assert (after.version, after.first_name, after.email) == (before.version, before.first_name, before.email)
    assert list(after.organizations.all()) == [org("EU-MGMT")]


def test_a_body_that_is_not_json_is_a_400_problem(admin_api, world):
    response = admin_api.post("/contacts", "{not json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("email", ["anna@example.com", "ANNA@EXAMPLE.COM", " Anna@Example.com "])
def test_a_duplicate_email_in_any_case_is_a_409_on_email(admin_api, people, email):
    response = admin_api.post("/contacts", {"first_name": "Other", "email": email})

    assert response.status_code == 409
    assert response.json()["type"].endswith("duplicate_email")
    assert error_fields(response) == {"email"}
    assert Contact.objects.filter(first_name="Other").count() == 0


def test_a_duplicate_key_is_a_409_on_key(admin_api, people):
    response = admin_api.post("/contacts", {"first_name": "Other", "key": "ANNA"})

    assert response.status_code == 409
    assert response.json()["type"].endswith("duplicate_key")
    assert error_fields(response) == {"key"}


@pytest.mark.parametrize("change, field", [({"email": "BEN@example.com"}, "email"), ({"key": "BEN"}, "key")])
def test_patch_to_another_contacts_email_or_key_is_a_409(admin_api, people, change, field):
    response = admin_api.patch("/contacts/ANNA", change)

    assert response.status_code == 409
    assert error_fields(response) == {field}
    assert Contact.objects.get(pk=people["ANNA"].pk).version == 1


def test_a_contact_may_keep_its_own_email_in_another_case(admin_api, people):
    response = admin_api.patch("/contacts/ANNA", {"email": "ANNA@example.com"})

    assert response.status_code == 200


# --- concurrency ------------------------------------------------------------

def test_a_stale_if_match_is_a_412_and_changes_nothing(admin_api, people):
    # given: someone else changed Anna after we read version 1
    etag = admin_api.get("/contacts/ANNA")["ETag"]
    assert admin_api.patch("/contacts/ANNA", {"first_name": "Annie"}).status_code == 200

    # when
    response = admin_api.patch("/contacts/ANNA", {"last_name": "Late"}, headers={"If-Match": etag})

    # then
    assert response.status_code == 412
    assert response["Content-Type"] == "application/problem+json"
    contact = Contact.objects.get(key="ANNA")
    assert (contact.last_name, contact.version) == ("Schmidt", 2)


def test_a_current_if_match_lets_the_write_through(admin_api, people):
    etag = admin_api.get("/contacts/ANNA")["ETag"]

    response = admin_api.patch("/contacts/ANNA", {"last_name": "Now"}, headers={"If-Match": etag})

    assert response.status_code == 200
    assert response["ETag"] != etag


def test_a_stale_if_match_on_delete_is_a_412_and_keeps_the_contact(admin_api, people):
    response = admin_api.delete("/contacts/ANNA", headers={"If-Match": '"7"'})

    assert response.status_code == 412
    assert Contact.objects.filter(key="ANNA").exists()


# --- pagination, search and filters -----------------------------------------

def test_cursor_pagination_walks_every_contact_exactly_once(admin_api, world):
    # given: 23 contacts, many sharing a last name (and some a full name), so
    # the cursor must break ties on first name and id
    for i in range(23):
        new_contact(f"First{i % 4}", f"Last{i % 3}", "EU-MGMT")

    # when
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 5, **({"cursor": cursor} if cursor else {})}
        body = admin_api.get("/contacts", **params).json()
        seen += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            break

    # then
    assert pages == 5
    assert len(seen) == len(set(seen)) == 23
    expected = list(Contact.objects.order_by("search_last_name", "search_first_name", "id")
                    .values_list("id", flat=True))
    assert seen == [str(pk) for pk in expected]


def test_a_paginated_search_walks_every_match_exactly_once(admin_api, world):
    # given: 12 matches for "sm" among 20 contacts
    for i in range(12):
        new_contact(f"F{i % 3}", f"Smith{i % 2}", "EU-MGMT")
    for i in range(8):
        new_contact(f"F{i}", "Jones", "EU-MGMT")

    # when
    seen, cursor = [], None
    while True:
        body = admin_api.get("/contacts", q="sm", limit=5, **({"cursor": cursor} if cursor else {})).json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break

    # then
    expected = Contact.objects.filter(search_last_name__startswith="smith").order_by(
        "search_last_name", "search_first_name", "id").values_list("id", flat=True)
    assert seen == [str(pk) for pk in expected]
    assert len(seen) == 12


@pytest.mark.parametrize("params, field", [
    ({"limit": 0}, "limit"), ({"limit": 501}, "limit"), ({"limit": "many"}, "limit"),
    ({"cursor": "garbage"}, "cursor"), ({"has_account": "perhaps"}, "has_account"),
    ({"source": "fax"}, "source"), ({"organization": "NOPE"}, "organization"),
    ({"customer_group": "NOPE"}, "customer_group"), ({"q": "an\x00"}, "q"),
])
def test_bad_list_parameters_are_a_422_naming_the_parameter(admin_api, people, params, field):
    response = admin_api.get("/contacts", **params)

    assert response.status_code == 422
    assert field in error_fields(response)


@pytest.mark.parametrize("q, expected", [
    ("ann", {"ANNA"}),             # first-name prefix
    ("SCHM", {"ANNA"}),            # last-name prefix, any case
    ("dora@ex", {"DORA"}),         # e-mail prefix
    ("BEN", {"BEN"}),              # exact key (and first name)
    ("CARL", {"CARL"}),
    ("Anna Schm", {"ANNA"}),       # first and last name
    ("schmidt anna", {"ANNA"}),    # last and first name
    ("midt", set()),               # not a prefix
    ("example.com", set()),        # e-mail domain is not a prefix
    ("zzz", set()),
])
def test_q_searches_names_email_and_key(admin_api, people, q, expected):
    response = admin_api.get("/contacts", q=q)

    assert response.status_code == 200
    assert {item["key"] for item in response.json()["items"]} == expected


def test_q_finds_a_key_only_when_exact(admin_api, world):
    new_contact("Zed", "Zulu", "EU-MGMT", key="VIP-1")

    assert [i["key"] for i in admin_api.get("/contacts", q="VIP-1").json()["items"]] == ["VIP-1"]
    assert admin_api.get("/contacts", q="VIP").json()["items"] == []


def test_q_with_wildcard_characters_matches_them_literally(admin_api, world):
    new_contact("A_b", "X", "EU-MGMT", key="UNDERSCORE")
    new_contact("Acb", "X", "EU-MGMT", key="NO-UNDERSCORE")

    keys = {i["key"] for i in admin_api.get("/contacts", q="a_").json()["items"]}
    assert keys == {"UNDERSCORE"}
    assert admin_api.get("/contacts", q="%").json()["items"] == []


@pytest.mark.parametrize("params, expected", [
    ({"organization": "EU-HQ"}, {"BEN"}),
    ({"organization": "EU-HQ", "include_descendants": "true"}, {"ANNA", "BEN"}),
    ({"organization": "ADMIN", "include_descendants": "true"}, {"ANNA", "BEN", "CARL"}),
    ({"organization": "US-HQ", "include_descendants": "true"}, {"DORA"}),
    ({"customer_group": "GOLD"}, {"ANNA"}),
    ({"email": "DORA@example.com"}, {"DORA"}),
    ({"source": "import"}, {"CARL"}),
    ({"has_account": "true"}, {"BEN"}),
    ({"has_account": "false"}, {"ANNA", "CARL", "DORA"}),
])
def test_list_filters(admin_api, people, world, params, expected):
    # given
    people["ANNA"].customer_groups.add(world["GOLD"])
    Contact.objects.filter(key="CARL").update(source="import")
    account = make_account("ben-login@example.com")
    account.contact = people["BEN"]
    account.save()

    # when
    response = admin_api.get("/contacts", **params)

    # then
    assert response.status_code == 200, response.json()
    assert {item["key"] for item in response.json()["items"]} == expected


def test_a_contact_in_two_organizations_of_a_subtree_is_listed_once(admin_api, world):
    new_contact("Two", "Orgs", "EU-HQ", "EU-MGMT", key="TWO")

    response = admin_api.get("/contacts", organization="ADMIN", include_descendants="true")

    assert [item["key"] for item in response.json()["items"]] == ["TWO"]


# --- visibility and permissions --------------------------------------------

def test_csr_lists_only_contacts_of_its_granted_subtree(caller, people):
    response = caller("csr").get("/contacts")

    assert response.status_code == 200
    assert {item["key"] for item in response.json()["items"]} == {"ANNA", "BEN"}


@pytest.mark.parametrize("key, status", [("ANNA", 200), ("BEN", 200), ("CARL", 404), ("DORA", 404)])
def test_csr_reads_contacts_of_eu_hq_and_below_and_gets_404_for_others(caller, people, key, status):
    assert caller("csr").get(f"/contacts/{key}").status_code == status
    assert caller("csr").get(f"/contacts/{people[key].pk}").status_code == status


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_csr_gets_404_when_writing_a_contact_it_cannot_see(caller, people, method):
    api = caller("csr")

    response = api.patch("/contacts/DORA", {"first_name": "X"}) if method == "patch" \
        else api.delete("/contacts/DORA")

    assert response.status_code == 404
    assert Contact.objects.get(key="DORA").first_name == "Dora"


def test_csr_creates_a_contact_in_an_organization_it_manages(caller, world):
    response = caller("csr").post("/contacts", {"first_name": "New", "organizations": ["EU-MGMT"]})

    assert response.status_code == 201, response.json()
    assert caller("csr").get(f"/contacts/{response.json()['id']}").status_code == 200


@pytest.mark.parametrize("organizations", [[], ["US-SALES"], ["ADMIN"]])
def test_csr_cannot_create_a_contact_outside_its_organizations(caller, world, organizations):
    response = caller("csr").post("/contacts", {"first_name": "New", "organizations": organizations})

    assert response.status_code == 422
    assert error_fields(response) == {"organizations"}
    assert not Contact.objects.filter(first_name="New").exists()


def test_csr_cannot_move_a_contact_out_of_its_organizations(caller, people):
    response = caller("csr").patch("/contacts/ANNA", {"organizations": []})

    assert response.status_code == 422
    assert error_fields(response) == {"organizations"}
    assert list(Contact.objects.get(key="ANNA").organizations.all()) == [org("EU-MGMT")]


def test_csr_sees_and_keeps_only_memberships_it_can_see(caller, world):
    # given: Eve is in EU Management and in US Sales, which the csr cannot see
    eve = new_contact("Eve", "Both", "EU-MGMT", "US-SALES", key="EVE")
    api = caller("csr")
    assert api.get("/contacts/EVE").json()["organizations"] == [str(world["EU-MGMT"].pk)]

    # when: the csr replaces the memberships it sees
    response = api.patch("/contacts/EVE", {"organizations": ["EU-HQ"]})

    # then: US Sales stays, invisible to the csr
    assert response.status_code == 200, response.json()
    assert response.json()["organizations"] == [str(world["EU-HQ"].pk)]
    assert set(eve.organizations.values_list("key", flat=True)) == {"EU-HQ", "US-SALES"}


def test_csr_may_not_delete_contacts_without_the_permission(caller, people):
    response = caller("csr").delete("/contacts/ANNA")

    assert response.status_code == 403
    assert Contact.objects.filter(key="ANNA").exists()


def test_a_view_only_grant_reads_but_gets_403_on_writes(people):
    # given: a csr whose grant on EU-HQ is view only
    from django.test import Client

    from clientbase.customers.models import Role
    from tests.conftest import ApiClient

    viewer = make_account("viewer@example.com", Role.CUSTOMER_SERVICE)
    Grant.objects.create(account=viewer, organization=org("EU-HQ"), level="view")
    http = Client()
    http.force_login(viewer)
    api = ApiClient(http, viewer)

    # then
    assert api.get("/contacts/ANNA").status_code == 200
    assert api.patch("/contacts/ANNA", {"first_name": "X"}).status_code == 403
    assert api.post("/contacts", {"first_name": "X", "organizations": ["EU-MGMT"]}).status_code == 422
    assert Contact.objects.get(key="ANNA").first_name == "Anna"


def test_csr_without_grant_sees_no_contact(caller, people):
    api = caller("csr_nogrant")

    assert api.get("/contacts").json() == {"items": [], "next_cursor": None}
    assert api.get("/contacts/ANNA").status_code == 404
    assert api.patch("/contacts/ANNA", {"first_name": "X"}).status_code == 404


@pytest.mark.parametrize("request_", [
    ("get", "/contacts"), ("get", "/contacts/ANNA"), ("post", "/contacts"),
    ("patch", "/contacts/ANNA"), ("delete", "/contacts/ANNA"), ("get", "/contacts/ANNA/effective-groups"),
])
@pytest.mark.parametrize("who, status", [("registered", 403), (None, 401)])
def test_registered_gets_403_and_anonymous_gets_401(caller, people, request_, who, status):
    method, path = request_
    api = caller(who)

    if method in ("post", "patch"):
        response = getattr(api, method)(path, {"first_name": "X"})
    else:
        response = getattr(api, method)(path)

    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    assert Contact.objects.get(key="ANNA").first_name == "Anna"


def test_admin_sees_every_contact(admin_api, people):
    assert {i["key"] for i in admin_api.get("/contacts").json()["items"]} == set(people)


def test_view_all_contacts_permission_sees_every_contact(people):
    from django.contrib.auth.models import Permission
    from django.test import Client

    from clientbase.customers.models import Role
    from tests.conftest import ApiClient

    auditor = make_account("auditor@example.com", Role.CUSTOMER_SERVICE)
    auditor.user_permissions.add(Permission.objects.get(codename="view_all_contacts"))
    http = Client()
    http.force_login(Account.objects.get(pk=auditor.pk))

    response = ApiClient(http).get("/contacts")

    assert {i["key"] for i in response.json()["items"]} == set(people)


def test_a_token_acts_with_its_accounts_grants(people, accounts):
    from django.test import Client

    from clientbase.customers.models import ApiToken

    _, raw = ApiToken.issue(accounts["csr"])
    client = Client()

    listed = client.get("/api/v1/contacts", headers={"Authorization": f"Bearer {raw}"})
    hidden = client.get("/api/v1/contacts/DORA", headers={"Authorization": f"Bearer {raw}"})

    assert {i["key"] for i in listed.json()["items"]} == {"ANNA", "BEN"}
    assert hidden.status_code == 404


# --- query counts -----------------------------------------------------------

def _list_queries(api, n: int, params: dict) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = api.get("/contacts", limit=100, **params)
    assert response.status_code == 200
    assert len(response.json()["items"]) == n
    return len(ctx.captured_queries)


@pytest.mark.parametrize("params", [{}, {"q": "p"}, {"organization": "EU-HQ", "include_descendants": "true"}],
                         ids=["list", "search", "subtree"])
@pytest.mark.parametrize("who", ["admin", "csr"])
def test_the_contact_list_costs_the_same_queries_for_5_and_50_contacts(caller, world, who, params):
    from clientbase.customers.models import Address

    api = caller(who)

    def add(count: int, offset: int) -> None:
        for i in range(offset, offset + count):
            contact = new_contact(f"P{i}", f"Q{i}", "EU-MGMT", "EU-HQ", groups=("GOLD", "SILVER"))
            Address.objects.create(contact=contact, line1="a", city="b", country="DE")
            if i % 2:
                Account.objects.filter(pk=make_account(f"p{i}@example.com").pk).update(contact=contact)

    add(5, 0)
    small = _list_queries(api, 5, params)
    add(45, 5)
    large = _list_queries(api, 50, params)

    assert small == large


def test_a_contact_costs_one_query_and_one_for_its_relations(caller, people):
    api = caller("csr")

    with CaptureQueriesContext(connection) as ctx:
        response = api.get("/contacts/ANNA")

    assert response.status_code == 200
    # The contact (with its account's id, within the caller's scope), then its
    # organizations, customer groups and addresses; the rest is who the caller is.
    reads = [q["sql"] for q in ctx.captured_queries
             if "customers_contact" in q["sql"] or "customers_address" in q["sql"]]
    assert len(reads) == 2, reads


def test_a_contact_by_token_costs_three_statements(people, accounts):
    from django.test import Client
    from django.utils import timezone

    from clientbase.customers.models import ApiToken

    # given a scoped CSR's token whose use this minute is recorded already
    token, raw = ApiToken.issue(accounts["csr"])
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")

    # when it reads a contact it may see, and one it may not
    with CaptureQueriesContext(connection) as seen:
        response = client.get("/api/v1/contacts/ANNA")
    with CaptureQueriesContext(connection) as hidden:
        refused = client.get("/api/v1/contacts/DORA")

    # then: the token with its account, roles, permissions and grants; the
    # contact within the caller's scope; its organizations, customer groups
    # and addresses
    assert response.status_code == 200 and response.json()["key"] == "ANNA"
    assert len(seen.captured_queries) == 3, [q["sql"] for q in seen.captured_queries]
    # and a contact out of its scope: the token and the contact, then 404
    assert refused.status_code == 404
    assert len(hidden.captured_queries) == 2, [q["sql"] for q in hidden.captured_queries]


@pytest.mark.parametrize("who", ["admin", "csr"])
def test_a_contact_alone_answers_as_its_item_in_the_list(caller, world, people, who):
    from clientbase.customers.models import Address

    # given: a contact in three organizations (the csr sees two), in two
    # groups, with two addresses and an account
    contact = new_contact("Eve", "Many", "US-SALES", "EU-MGMT", "EU-HQ", key="EVE", groups=("SILVER", "GOLD"),
                          email="eve@example.com", birth_date="1990-02-03", phone="+4930123456")
    Address.objects.create(contact=contact, name="Home", line1="a", city="b", country="DE",
                           is_default_shipping=True)
    Address.objects.create(contact=contact, name="Work", line1="c", city="d", country="AT",
                           is_default_billing=True)
    Account.objects.filter(pk=make_account("eve@example.com").pk).update(contact=contact)
    api = caller(who)

    # when
    items = api.get("/contacts", limit=100).json()["items"]

    # then: each reads the same by id and by key
    assert "EVE" in {i["key"] for i in items}
    for item in items:
        assert api.get(f"/contacts/{item['id']}").json() == item
        assert api.get(f"/contacts/{item['key']}").json() == item
    eve = next(i for i in items if i["key"] == "EVE")
    assert len(eve["organizations"]) == (3 if who == "admin" else 2)
    assert [a["name"] for a in eve["addresses"]] == ["Home", "Work"]
    assert eve["addresses"][0]["is_default_shipping"] is True
    assert eve["account"] is not None


# --- real concurrency (PostgreSQL: SQLite serialises writers anyway) ----------

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs row locks")


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_writers_with_the_same_if_match_one_wins_and_one_gets_412(caller, people):
    # given: two clients read version 1
    first, second = caller("admin"), caller("admin")
    etag = first.get("/contacts/ANNA")["ETag"]

    # when: both write at once
    responses = in_parallel(
        lambda: first.patch("/contacts/ANNA", {"first_name": "One"}, headers={"If-Match": etag}),
        lambda: second.patch("/contacts/ANNA", {"first_name": "Two"}, headers={"If-Match": etag}),
    )

    # then
    assert sorted(r.status_code for r in responses) == [200, 412]
    winner = next(r for r in responses if r.status_code == 200).json()
    contact = Contact.objects.get(key="ANNA")
    assert (contact.first_name, contact.version) == (winner["first_name"], 2)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_creates_racing_for_one_email_give_201_and_409_never_500(caller, world):
    first, second = caller("admin"), caller("admin")

    responses = in_parallel(
        lambda: first.post("/contacts", {"first_name": "One", "email": "race@example.com"}),
        lambda: second.post("/contacts", {"first_name": "Two", "email": "RACE@example.com"}),
    )

    assert sorted(r.status_code for r in responses) == [201, 409]
    assert Contact.objects.filter(email="race@example.com").count() == 1
