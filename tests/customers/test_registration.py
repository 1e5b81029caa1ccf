"""Public registration: a storefront contact and its account, in one transaction."""

import pytest

from clientbase.core.errors import Conflict, Invalid
from clientbase.customers.models import Account, Contact, ContactSource, Role
from clientbase.customers.services import accounts as services
from clientbase.customers.services.accounts import register

PASSWORD = "Correct-horse-battery-9"


def test_registration_creates_a_storefront_contact_and_its_account(db):
    # when
    _, account = register(" Ana.Silva@Example.com ", PASSWORD, "Ana", "Silva")
    # then
    account = Account.objects.get(pk=account.pk)
    assert account.email == "ana.silva@example.com"
    assert set(account.groups.values_list("name", flat=True)) == {Role.EVERYONE, Role.REGISTERED}
    contact = account.contact
    assert (contact.first_name, contact.last_name, contact.email, contact.source) == (
        "Ana", "Silva", "ana.silva@example.com", ContactSource.STOREFRONT)


def test_the_password_is_hashed_with_argon2(db):
    _, account = register("argon@example.com", PASSWORD)
    account = Account.objects.get(pk=account.pk)
    assert account.password.startswith("argon2")
    assert PASSWORD not in account.password
    assert account.check_password(PASSWORD)


@pytest.mark.parametrize("existing", ["account", "contact"])
@pytest.mark.parametrize("typed", ["taken@example.com", "TAKEN@example.COM"])
def test_an_e_mail_already_known_is_a_conflict_on_email(db, existing, typed):
    if existing == "account":
        Account.objects.create_user("taken@example.com", PASSWORD)
    else:
        Contact.objects.create(email="taken@example.com")
    before = (Account.objects.count(), Contact.objects.count())
    with pytest.raises(Conflict) as caught:
        register(typed, PASSWORD, "Tom", "Taken")
    assert caught.value.code == "duplicate_email"
    assert [e.field for e in caught.value.errors] == ["email"]
    assert (Account.objects.count(), Contact.objects.count()) == before


@pytest.mark.parametrize("password", ["short", "12345678901", "password123", "ana.silva@example.com"])
def test_a_password_the_validators_refuse_is_invalid_on_password(db, password):
    with pytest.raises(Invalid) as caught:
        register("ana.silva@example.com", password, "Ana", "Silva")
    assert caught.value.errors and {e.field for e in caught.value.errors} == {"password"}
    assert all(e.message for e in caught.value.errors)
    assert not Account.objects.exists() and not Contact.objects.exists()


@pytest.mark.parametrize("email", ["", "no-at-sign", "a@b", "two@@example.com", "a" * 250 + "@example.com"])
def test_an_invalid_e_mail_is_invalid_on_email(db, email):
    with pytest.raises(Invalid) as caught:
        register(email, PASSWORD)
    assert [e.field for e in caught.value.errors] == ["email"]


@pytest.mark.parametrize("field", ["first_name", "last_name"])
def test_a_name_too_long_is_invalid_on_that_field(db, field):
    names = {"first_name": "Ana", "last_name": "Silva", field: "x" * 101}
    with pytest.raises(Invalid) as caught:
        register("long@example.com", PASSWORD, **names)
    assert [e.field for e in caught.value.errors] == [field]
    assert not Contact.objects.exists()


def test_a_failure_after_the_contact_is_saved_leaves_nothing(db, monkeypatch):
    # given the roles step fails, after contact and account were written
    def broken_roles(names):
        assert Contact.objects.filter(email="half@example.com").exists()
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "_roles", broken_roles)
    # when
    with pytest.raises(RuntimeError):
        register("half@example.com", PASSWORD, "Half", "Done")
    # then
    assert not Contact.objects.filter(email="half@example.com").exists()
    assert not Account.objects.filter(email="half@example.com").exists()


def test_registration_is_recorded_in_the_account_history_with_its_roles(db):
    _, account = register("hist@example.com", PASSWORD)
    latest = account.history.order_by("-history_date", "-history_id").first()
    assert {g.group.name for g in latest.groups.all()} == {Role.EVERYONE, Role.REGISTERED}
