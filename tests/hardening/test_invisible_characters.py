"""Issue 8, finding 7: bidi-override and zero-width characters were accepted
in names ("Trojan Source": a name that shows as another, two names that look
alike). One validator (core.text.check_plain_text), called by each service's
validation, refuses them with a 422 naming the field."""

import pytest

from clientbase.core.text import plain_text_error
from tests.pricing.conftest import catalog, price  # noqa: F401  (fixtures)

INVISIBLE = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069",
             "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\ufeff"]


@pytest.mark.parametrize("char", INVISIBLE, ids=[f"U+{ord(c):04X}" for c in INVISIBLE])
def test_the_validator_refuses_each_character(char):
    assert plain_text_error(f"Ann{char}Smith", "name").field == "name"


@pytest.mark.parametrize("name", ["Ann-Marie O'Brien", "Zoë Ærøskøbing", "مريم", "李小龙", "Ünal Çelik"])
def test_the_validator_lets_real_names_pass(name):
    assert plain_text_error(name, "name") is None


def assert_refused(response, field: str):
    assert response.status_code == 422, response.content
    assert [e["field"] for e in response.json()["errors"]] == [field]


@pytest.mark.parametrize("char", ["\u202e", "\u200b", "\ufeff", "\u2066"])
@pytest.mark.parametrize("field", ["first_name", "last_name"])
def test_a_contact_name_with_such_a_character_is_a_422(admin_api, char, field):
    assert_refused(admin_api.post("/contacts", {"first_name": "Ann", field: f"Evil{char}gnp.exe"}), field)
    contact = admin_api.post("/contacts", {"first_name": "Ann", "last_name": "Smith"}).json()
    assert_refused(admin_api.patch(f"/contacts/{contact['id']}", {field: f"Sm{char}ith"}), field)


@pytest.mark.parametrize("char", ["\u202e", "\u200b", "\ufeff"])
def test_an_organization_name_with_such_a_character_is_a_422(admin_api, char):
    assert_refused(admin_api.post("/organizations", {"name": f"EU{char} Sales", "parent": "ADMIN"}), "name")
    assert_refused(admin_api.patch("/organizations/EU-HQ", {"name": f"EU{char} HQ"}), "name")


def test_group_role_and_catalog_names_with_such_a_character_are_422s(admin_api, catalog):
    rlo = "\u202e"
    assert_refused(admin_api.post("/customer-groups", {"key": "PLAT", "name": f"Plat{rlo}inum"}), "name")
    assert_refused(admin_api.patch("/customer-groups/GOLD", {"name": f"Go\u200bld"}), "name")
    assert_refused(admin_api.post("/roles", {"name": f"Admin{rlo}istrators", "permissions": []}), "name")
    assert_refused(admin_api.post("/products", {"key": "MUG", "name": f"M\u200dug"}), "name")
    assert_refused(admin_api.patch("/products/TSHIRT", {"name": f"T{rlo}-shirt"}), "name")
    assert_refused(admin_api.post("/variants", {"sku": "TS-XL", "product": "TSHIRT", "name": f"XL{rlo}"}),
                   "name")
    assert_refused(admin_api.post("/markets", {"key": "UK", "name": f"U\ufeffK", "countries": ["GB"],
                                               "currencies": ["GBP"]}), "name")


@pytest.mark.parametrize("field", ["name", "first_name", "last_name", "line1", "line2", "city", "postcode",
                                   "region"])
def test_an_address_line_with_such_a_character_is_a_422(admin_api, field):
    # given
    address = {"line1": "Hauptstr. 1", "city": "Berlin", "country": "DE", field: "Haupt\u202estr. 1"}

    # when
    created = admin_api.post("/contacts", {"first_name": "Ann", "addresses": [address]})
    contact = admin_api.post("/contacts", {"first_name": "Ann"}).json()
    changed = admin_api.patch(f"/contacts/{contact['id']}", {"addresses": [address]})

    # then
    assert_refused(created, f"addresses.0.{field}")
    assert_refused(changed, f"addresses.0.{field}")
    assert admin_api.get(f"/contacts/{contact['id']}").json()["addresses"] == []
