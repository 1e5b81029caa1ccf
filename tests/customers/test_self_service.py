"""A shopper's self-service writes: its own contact's profile and
addresses (by the rules staff's changes follow, with version and history),
and its own password."""

import pytest

from clientbase.core.errors import Conflict, Invalid
from clientbase.customers.models import Address, Contact, Role
from clientbase.customers.services.accounts import change_own_password, reset_password
from clientbase.customers.services.contacts import set_own_addresses, update_own_profile
from tests.conftest import make_account

PASSWORD = "Secret-pass-123"
HOME = {"line1": "Hauptstr. 1", "city": "Berlin", "country": "DE", "is_default_shipping": True}


@pytest.fixture
def shopper(world):
    contact = Contact.objects.create(first_name="Sam", last_name="Shopper", email="sam@example.com")
    return make_account("sam@example.com", Role.REGISTERED, contact=contact)


def test_a_shopper_changes_its_own_name_and_phone(shopper):
    version = shopper.contact.version
    contact = update_own_profile(shopper, {"first_name": " Samuel ", "phone": "+4930123456"})
    contact.refresh_from_db()
    assert (contact.first_name, contact.last_name, contact.phone) == ("Samuel", "Shopper", "+4930123456")
    assert contact.version == version + 1
    assert contact.history.count() == 2


@pytest.mark.parametrize("changes, field", [
    ({"phone": "030 123"}, "phone"),
    ({"first_name": "a\u202eb"}, "first_name"),
    ({"email": "other@example.com"}, "email"),
    ({"key": "VIP"}, "key"),
    ({"customer_groups": ["GOLD"]}, "customer_groups"),
])
def test_a_shopper_cannot_set_bad_values_or_staff_fields(shopper, changes, field):
    with pytest.raises(Invalid) as raised:
        update_own_profile(shopper, changes)
    assert field in {e.field for e in raised.value.errors}
    contact = Contact.objects.get(pk=shopper.contact_id)
    assert (contact.email, contact.key, contact.phone) == ("sam@example.com", None, "")


def test_an_account_without_a_contact_has_no_profile_to_change(world):
    staff = make_account("staff@example.com", Role.CUSTOMER_SERVICE)
    with pytest.raises(Conflict) as raised:
        update_own_profile(staff, {"first_name": "X"})
    assert raised.value.code == "no_contact"
    with pytest.raises(Conflict):
        set_own_addresses(staff, [HOME])


def test_a_shopper_replaces_its_own_addresses(shopper):
    home, = set_own_addresses(shopper, [HOME])
    office = {"line1": "Office 2", "city": "Munich", "country": "DE", "is_default_billing": True}
    kept, added = set_own_addresses(shopper, [{"id": str(home.pk), **HOME, "city": "Potsdam"}, office])
    assert kept.pk == home.pk and kept.city == "Potsdam" and added.is_default_billing
    assert Address.objects.filter(contact=shopper.contact).count() == 2
    assert Contact.objects.get(pk=shopper.contact_id).version > shopper.contact.version


@pytest.mark.parametrize("addresses, field", [
    ([{**HOME, "country": "de"}], "addresses.0.country"),
    ([{**HOME, "city": ""}], "addresses.0.city"),
    ([HOME, HOME], "addresses"),  # two default shipping addresses
])
def test_own_addresses_follow_the_address_rules(shopper, addresses, field):
    with pytest.raises(Invalid) as raised:
        set_own_addresses(shopper, addresses)
    assert field in {e.field for e in raised.value.errors}
    assert not Address.objects.exists()


def test_a_shopper_cannot_name_another_contacts_address(shopper):
    other = Contact.objects.create(first_name="O", email="o@example.com")
    theirs = Address.objects.create(contact=other, line1="Theirs 1", city="Bonn", country="DE")
    with pytest.raises(Invalid) as raised:
        set_own_addresses(shopper, [{"id": str(theirs.pk), **HOME}])
    assert raised.value.errors[0].field == "addresses.0.id"
    theirs.refresh_from_db()
    assert theirs.contact == other and theirs.line1 == "Theirs 1"


def test_changing_ones_own_password_needs_the_current_one(shopper):
    with pytest.raises(Invalid) as raised:
        change_own_password(shopper, old_password="wrong", new_password="Brand-new-pass-1")
    assert raised.value.errors[0].field == "old_password"
    with pytest.raises(Invalid) as raised:
        change_own_password(shopper, old_password=PASSWORD, new_password="123")
    assert {e.field for e in raised.value.errors} == {"password"}
    account = change_own_password(shopper, old_password=PASSWORD, new_password="Brand-new-pass-1")
    assert account.check_password("Brand-new-pass-1") and account.version == shopper.version + 1


def test_a_reset_password_follows_the_validators(shopper):
    with pytest.raises(Invalid):
        reset_password(shopper, new_password="sam@example.com")
    assert reset_password(shopper, new_password="Brand-new-pass-1").check_password("Brand-new-pass-1")
