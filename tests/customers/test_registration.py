"""Public registration: a storefront contact and its account, in one transaction."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from clientbase.core.errors import Conflict, Invalid
from clientbase.customers.models import Account, Contact, ContactSource, Role
from clientbase.customers.services import accounts as services
from clientbase.customers.services.accounts import register
from tests.conftest import in_parallel

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


def test_registration_returns_the_contact_and_its_account(db):
    contact, account = register("pat@example.com", PASSWORD, " Pat ", "Doe")
    assert account.contact == contact and contact.account == account
    assert (contact.first_name, contact.source) == ("Pat", ContactSource.STOREFRONT)
    assert account.email_verified_at is None


@pytest.mark.parametrize("typed", [
    "ana@exämple.com", " ANA@EXÄMPLE.COM ", "ana@xn--exmple-cua.com", "Ana@Xn--Exmple-Cua.Com",
])
def test_every_spelling_of_a_registered_email_is_a_conflict_pointing_to_log_in_and_reset(db, typed):
    register("ana@exämple.com", PASSWORD)
    with pytest.raises(Conflict) as caught:
        register(typed, PASSWORD, "Ana", "Again")
    assert caught.value.code == "duplicate_email"
    assert "Log in" in caught.value.detail and "reset your password" in caught.value.detail
    assert Contact.objects.count() == 1 and Account.objects.count() == 1


def test_a_race_past_the_check_is_the_same_conflict(db, monkeypatch):
    # given the other registration commits between this one's check and its insert
    register("race@example.com", PASSWORD)
    real_filter = Contact.objects.filter

    class Blind:
        def exists(self):
            return False

    monkeypatch.setattr(Account.objects, "filter", lambda **kw: Blind())
    monkeypatch.setattr(Contact.objects, "filter", lambda **kw: Blind())
    # when
    with pytest.raises(Conflict) as caught:
        register("RACE@example.com", PASSWORD)
    # then
    assert caught.value.code == "duplicate_email" and "reset your password" in caught.value.detail
    monkeypatch.undo()
    assert real_filter(email="race@example.com").count() == 1


@pytest.mark.parametrize("field", ["first_name", "last_name"])
def test_a_name_with_invisible_characters_is_invalid(db, field):
    names = {"first_name": "Ana", "last_name": "Silva", field: "An\u200ba"}
    with pytest.raises(Invalid) as caught:
        register("bidi@example.com", PASSWORD, **names)
    assert [e.field for e in caught.value.errors] == [field]
    assert not Contact.objects.exists()


def test_marking_the_email_verified_records_the_first_moment(db):
    _, account = register("verify@example.com", PASSWORD)
    first = services.mark_email_verified(account, email="Verify@Example.com").email_verified_at
    again = services.mark_email_verified(account, email="verify@example.com").email_verified_at
    assert first is not None and again == first
    assert Account.objects.get(pk=account.pk).email_verified_at == first


def test_a_link_for_an_old_address_does_not_verify_the_new_one(db):
    _, account = register("old@example.com", PASSWORD)
    services.update_account(account, actor=None, changes={"email": "new@example.com"})
    with pytest.raises(Conflict) as caught:
        services.mark_email_verified(account, email="old@example.com")
    assert caught.value.code == "email_changed"
    assert Account.objects.get(pk=account.pk).email_verified_at is None


def test_changing_the_email_makes_it_unverified_again(db):
    _, account = register("first@example.com", PASSWORD)
    services.mark_email_verified(account, email="first@example.com")
    account = services.update_account(Account.objects.get(pk=account.pk), actor=None,
                                      changes={"email": "second@example.com"})
    assert Account.objects.get(pk=account.pk).email_verified_at is None


def test_saving_the_same_email_keeps_it_verified(db):
    _, account = register("same@example.com", PASSWORD)
    services.mark_email_verified(account, email="same@example.com")
    services.update_account(Account.objects.get(pk=account.pk), actor=None, changes={"email": "SAME@example.com"})
    assert Account.objects.get(pk=account.pk).email_verified_at is not None


# --- PostgreSQL: two registrations at once -------------------------------------------

@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers")
@pytest.mark.django_db(transaction=True)
def test_two_registrations_racing_for_one_email_end_with_one_contact_and_one_account():
    for round_ in range(4):
        email = f"race{round_}@example.com"

        def attempt(typed):
            def call():
                try:
                    register(typed, PASSWORD, "Race", str(round_))
                    return "registered"
                except Conflict as exc:
                    return exc.code
            return call

        results = in_parallel(attempt(email), attempt(email.upper()), attempt(f" {email} "))

        assert sorted(results) == ["duplicate_email", "duplicate_email", "registered"]
        assert Contact.objects.filter(email=email).count() == 1
        assert Account.objects.filter(email=email).count() == 1
        assert Account.objects.get(email=email).contact == Contact.objects.get(email=email)


# --- the migration that adds email_verified_at --------------------------------------

@pytest.mark.django_db(transaction=True)
def test_the_verification_migration_applies_over_existing_accounts():
    executor = MigrationExecutor(connection)
    executor.migrate([("customers", "0008_attempts")])
    try:
        # given an account saved before the column existed
        old_account = executor.loader.project_state(
            [("customers", "0008_attempts")]).apps.get_model("customers", "Account")
        old_account.objects.create(email="before@example.com", password="!")
        # when
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
        # then it is there, unverified
        assert Account.objects.get(email="before@example.com").email_verified_at is None
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
