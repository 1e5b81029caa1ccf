"""The contact services on their own: what the admin, the CLI and imports
rely on beyond the API."""

import pytest
from django.db import IntegrityError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clientbase.core.errors import Conflict, Invalid
from clientbase.customers.models import Address, Contact, Organization
from clientbase.customers.services import contacts as services
from tests.conftest import make_account


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def orgs(*keys: str) -> list[Organization]:
    return list(Organization.objects.filter(key__in=keys))


def codes(exc) -> dict[str, str]:
    return {e.field: e.code for e in exc.value.errors}


@pytest.fixture
def anna(world) -> Contact:
    return services.create_contact(
        actor=None,
        fields={"first_name": "Anna", "last_name": "Schmidt", "email": "anna@example.com", "key": "ANNA"},
        organizations=orgs("EU-MGMT"),
    )


# --- validation -------------------------------------------------------------

def test_create_normalises_email_and_names(world):
    contact = services.create_contact(actor=None, fields={"first_name": " Ånna ", "last_name": "STRAßE",
                                              "email": " Anna@Example.COM "})

    assert contact.first_name == "Ånna"
    assert contact.email == "anna@example.com"
    assert contact.search_last_name == "strasse"  # casefolded, so ß finds "ss"


def test_every_bad_field_is_named_in_one_error(world):
    with pytest.raises(Invalid) as exc:
        services.create_contact(actor=None, fields={"email": "nope", "phone": "12", "preferred_currency": "eu",
                                        "preferred_language": "EN", "key": "a b", "source": "fax",
                                        "last_name": "nul\x00"})

    assert codes(exc) == {
        "email": "invalid_email", "phone": "invalid_phone", "preferred_currency": "invalid_currency",
        "preferred_language": "invalid_language", "key": "invalid_key", "source": "invalid_choice",
        "last_name": "invalid",
    }
    assert Contact.objects.count() == 0


@pytest.mark.parametrize("language", ["en", "de", "en-GB", "pt-BR", "fil"])
def test_language_tags_that_shops_use_are_accepted(world, language):
    contact = services.create_contact(actor=None, fields={"preferred_language": language})

    assert contact.preferred_language == language


@pytest.mark.parametrize("country, ok", [("DE", True), ("GB", True), ("AX", True), ("UK", False),
                                         ("de", False), ("DEU", False), ("", False)])
def test_address_countries_are_iso_3166_alpha_2_in_upper_case(country, ok):
    _, errors = services.clean_addresses([{"line1": "a", "city": "b", "country": country}])

    assert ("addresses.0.country" not in {e.field for e in errors}) is ok


def test_a_duplicate_email_in_another_case_is_a_conflict(anna):
    with pytest.raises(Conflict) as exc:
        services.create_contact(actor=None, fields={"email": "ANNA@EXAMPLE.COM"})

    assert codes(exc) == {"email": "duplicate_email"}


def test_a_duplicate_key_is_a_conflict(anna):
    with pytest.raises(Conflict) as exc:
        services.create_contact(actor=None, fields={"key": "ANNA"})

    assert codes(exc) == {"key": "duplicate_key"}


@pytest.mark.parametrize("fields, field", [({"email": "anna@example.com"}, "email"), ({"key": "ANNA"}, "key")])
def test_a_race_for_the_same_email_or_key_ends_in_the_same_conflict(anna, monkeypatch, fields, field):
    # given: the other request inserted its row after our check ran
    # (the service's check before saving sees nothing; core.unique's check
    # after the IntegrityError sees the winner)
    monkeypatch.setattr(services, "check_unique", lambda contact, *fields: None)

    # when / then: the database constraint fires, and we answer 409 all the same
    with pytest.raises(Conflict) as exc:
        services.create_contact(actor=None, fields=fields)
    assert codes(exc) == {field: f"duplicate_{field}"}
    assert Contact.objects.count() == 1


def test_an_integrity_error_that_is_no_duplicate_is_not_hidden(anna, monkeypatch):
    monkeypatch.setattr(services, "check_unique", lambda contact, *fields: None)
    monkeypatch.setattr(Contact, "save", lambda self, **kw: (_ for _ in ()).throw(IntegrityError("other")))

    with pytest.raises(IntegrityError):
        services.create_contact(actor=None, fields={"first_name": "X"})


# --- addresses --------------------------------------------------------------

def test_set_addresses_replaces_the_list_and_keeps_ids_given(anna):
    home, office = services.set_addresses(anna, [
        {"name": "Home", "line1": "a", "city": "Berlin", "country": "DE", "is_default_shipping": True},
        {"name": "Office", "line1": "b", "city": "Munich", "country": "DE"},
    ])

    # when
    result = services.set_addresses(anna, [
        {"id": str(office.pk), "name": "Office", "line1": "c", "city": "Munich", "country": "DE",
         "is_default_shipping": True},
    ])

    # then
    assert [a.pk for a in result] == [office.pk]
    assert list(anna.addresses.values_list("line1", "is_default_shipping")) == [("c", True)]
    assert not Address.objects.filter(pk=home.pk).exists()


def test_at_most_one_default_shipping_and_one_default_billing(anna):
    with pytest.raises(Invalid) as exc:
        services.set_addresses(anna, [
            {"line1": "a", "city": "b", "country": "DE", "is_default_billing": True},
            {"line1": "c", "city": "d", "country": "DE", "is_default_billing": True},
        ])

    assert codes(exc) == {"addresses": "several_defaults"}
    assert not anna.addresses.exists()


def test_one_address_may_be_default_for_shipping_and_billing(anna):
    services.set_addresses(anna, [
        {"line1": "a", "city": "b", "country": "DE", "is_default_shipping": True, "is_default_billing": True},
        {"line1": "c", "city": "d", "country": "FR"},
    ])

    assert anna.addresses.count() == 2


# --- memberships and versions -------------------------------------------------

def test_update_bumps_the_version_once_for_memberships_only(anna, world):
    services.update_contact(anna, changes={}, customer_groups=[world["GOLD"]], actor=None)

    anna.refresh_from_db()
    assert anna.version == 2
    assert list(anna.customer_groups.all()) == [world["GOLD"]]


def test_an_update_without_changes_keeps_the_version(anna):
    services.update_contact(anna, changes={}, actor=None)

    anna.refresh_from_db()
    assert anna.version == 1


@pytest.mark.parametrize("add, remove", [
    (services.add_to_organization, services.remove_from_organization),
    (services.add_to_customer_group, services.remove_from_customer_group),
])
def test_adding_and_removing_one_membership_moves_the_version_only_when_it_changes(anna, world, add, remove):
    target = world["US-SALES"] if add is services.add_to_organization else world["GOLD"]

    add(anna, target, actor=None)
    add(anna, target, actor=None)  # already a member: nothing to do
    anna.refresh_from_db()
    assert anna.version == 2

    remove(anna, target, actor=None)
    remove(anna, target, actor=None)
    anna.refresh_from_db()
    assert anna.version == 3


# --- scoped actors ------------------------------------------------------------

def test_a_scoped_actor_must_leave_the_contact_in_an_organization_it_manages(anna, accounts):
    csr = accounts["csr"]

    with pytest.raises(Invalid) as exc:
        services.remove_from_organization(anna, Organization.objects.get(key="EU-MGMT"), actor=csr)

    assert codes(exc) == {"organizations": "outside_scope"}
    assert anna.organizations.count() == 1


def test_a_scoped_actor_keeps_memberships_it_cannot_see(anna, accounts):
    anna.organizations.add(*orgs("US-SALES"))

    services.update_contact(anna, changes={}, organizations=orgs("EU-HQ"), actor=accounts["csr"])

    assert set(anna.organizations.values_list("key", flat=True)) == {"EU-HQ", "US-SALES"}


def test_an_administrator_may_put_a_contact_anywhere(world, accounts):
    contact = services.create_contact(fields={"first_name": "Free"}, actor=accounts["admin"])

    services.update_contact(contact, changes={}, organizations=orgs("US-SALES"), actor=accounts["admin"])

    assert list(contact.organizations.values_list("key", flat=True)) == ["US-SALES"]


def test_manage_all_contacts_lifts_the_organization_rule(world):
    from django.contrib.auth.models import Permission

    from clientbase.customers.models import Account

    manager = make_account("manager@example.com")
    manager.user_permissions.add(*Permission.objects.filter(codename__in=["manage_all_contacts",
                                                                          "add_contact"]))
    manager = Account.objects.get(pk=manager.pk)

    contact = services.create_contact(fields={"first_name": "Anywhere"}, actor=manager)

    assert contact.pk is not None


def test_deleting_a_contact_removes_its_addresses_and_memberships(anna, world):
    services.set_addresses(anna, [{"line1": "a", "city": "b", "country": "DE"}])
    anna.customer_groups.add(world["GOLD"])

    services.delete_contact(anna, actor=None)

    assert not Address.objects.exists()
    assert not Contact.customer_groups.through.objects.exists()
    assert not Contact.organizations.through.objects.exists()


# --- invariants -----------------------------------------------------------------

FLAGS = st.lists(st.tuples(st.booleans(), st.booleans(), st.booleans()), max_size=5)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flags=FLAGS)
def test_addresses_never_end_with_two_defaults_of_a_kind(anna, flags):
    # each entry: (keep the id of an existing address?, default shipping, default billing)
    before = list(anna.addresses.order_by("id").values_list("id", "line1", "is_default_shipping",
                                                            "is_default_billing"))
    existing = [row[0] for row in before]
    wanted = []
    for index, (keep, shipping, billing) in enumerate(flags):
        entry = {"line1": f"line {index}", "city": "Berlin", "country": "DE",
                 "is_default_shipping": shipping, "is_default_billing": billing}
        if keep and index < len(existing):
            entry["id"] = str(existing[index])
        wanted.append(entry)

    try:
        services.set_addresses(anna, wanted)
    except Invalid:
        # refused: nothing changed
        assert sum(f[1] for f in flags) > 1 or sum(f[2] for f in flags) > 1
        assert list(anna.addresses.order_by("id").values_list(
            "id", "line1", "is_default_shipping", "is_default_billing")) == before
    else:
        addresses = list(anna.addresses.all())
        assert len(addresses) == len(flags)
        assert sum(a.is_default_shipping for a in addresses) <= 1
        assert sum(a.is_default_billing for a in addresses) <= 1
        kept = {e["id"] for e in wanted if "id" in e}
        assert kept <= {str(a.pk) for a in addresses}
