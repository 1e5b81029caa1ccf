"""Accounts, roles and API tokens in the back office."""

from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from clientbase.customers.models import Account, ApiToken, Role
from clientbase.customers.models.accounts import hash_token

NEW_PASSWORD = "Quite-long-passphrase-42"


def test_an_administrator_creates_an_account_with_an_argon2_password_and_roles(login, settings,
                                                                            people):
    # given the production hasher
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    csr_role = Group.objects.get(name=Role.CUSTOMER_SERVICE)
    # when
    response = login("admin").post(reverse("admin:customers_account_add"), {
        "email": "New.Rep@Example.com", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD,
        "groups": [csr_role.pk], "contact": people["bob"].pk, "is_active": "on",
    })
    # then
    assert response.status_code == 302, response.context["adminform"].form.errors
    account = Account.objects.get(email="new.rep@example.com")
    assert account.password.startswith("argon2$argon2id$")
    assert account.check_password(NEW_PASSWORD)
    assert account.role_names == {Role.EVERYONE, Role.CUSTOMER_SERVICE}
    assert account.contact == people["bob"]
    assert account.history.latest("history_date").history_user.email == "admin@example.com"


def test_a_duplicate_email_in_another_case_is_a_form_error(login, accounts):
    response = login("admin").post(reverse("admin:customers_account_add"), {
        "email": "CSR@example.com", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD,
        "is_active": "on",
    })
    assert response.status_code == 200
    assert "email" in response.context["adminform"].form.errors


def test_the_account_page_never_shows_the_password_hash(login, accounts):
    csr = accounts["csr"]
    response = login("admin").get(reverse("admin:customers_account_change", args=[csr.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert csr.password not in body
    assert csr.password.split("$")[-1] not in body
    assert "Set a new password" in body


def test_an_administrator_sets_a_new_password(login, accounts):
    csr = accounts["csr"]
    url = reverse("admin:auth_user_password_change", args=[csr.pk])
    response = login("admin").post(url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD,
                                         "usable_password": "true"})
    assert response.status_code == 302
    csr.refresh_from_db()
    assert csr.check_password(NEW_PASSWORD)


def test_changing_roles_is_recorded_in_the_history(login, accounts):
    csr = accounts["csr"]
    marketing = Group.objects.get(name=Role.MARKETING_MANAGERS)
    everyone = Group.objects.get(name=Role.EVERYONE)
    client = login("admin")
    response = client.post(reverse("admin:customers_account_change", args=[csr.pk]), {
        "email": csr.email, "groups": [marketing.pk], "is_active": "on",
    })
    assert response.status_code == 302, response.context["adminform"].form.errors
    csr = Account.objects.get(pk=csr.pk)
    assert csr.role_names == {Role.EVERYONE, Role.MARKETING_MANAGERS}
    latest = csr.history.latest("history_date")
    assert {g.group_id for g in latest.groups.all()} == {marketing.pk, everyone.pk}
    history = client.get(reverse("admin:customers_account_history", args=[csr.pk]))
    assert "admin@example.com" in history.content.decode()


def test_a_representative_sees_only_accounts_of_its_contacts_and_itself(login, accounts, people):
    # given Bob (EU) and Carl (US) have accounts
    bob = Account.objects.create_user("bob@example.com", "x-Secret-123", contact=people["bob"])
    carl = Account.objects.create_user("carl@example.com", "x-Secret-123", contact=people["carl"])
    client = login("csr")
    # when
    listed = client.get(reverse("admin:customers_account_changelist"))
    # then
    emails = {a.email for a in listed.context["cl"].result_list}
    assert emails == {"bob@example.com", "csr@example.com"}
    assert client.get(reverse("admin:customers_account_change", args=[carl.pk])).status_code == 404
    assert client.get(reverse("admin:customers_account_change", args=[bob.pk])).status_code == 200


def test_creating_a_token_shows_the_raw_secret_once_and_stores_its_hash(login, accounts):
    client = login("admin")
    # when
    response = client.post(reverse("admin:customers_apitoken_add"),
                           {"account": accounts["csr"].pk, "name": "shop sync"}, follow=True)
    # then the page after saving shows the secret
    assert response.status_code == 200
    token = ApiToken.objects.get(name="shop sync")
    messages = [str(m) for m in response.context["messages"]]
    raw = next(word for m in messages for word in m.split() if word.startswith("cb_"))
    # and the stored hash matches it; no later page shows it again
    assert token.token_hash == hash_token(raw)
    assert token.account == accounts["csr"]
    page = client.get(reverse("admin:customers_apitoken_change", args=[token.pk]))
    assert raw not in page.content.decode()


def test_a_token_cannot_be_created_already_expired(login, accounts):
    response = login("admin").post(reverse("admin:customers_apitoken_add"), {
        "account": accounts["csr"].pk, "name": "old",
        "expires_at_0": "2000-01-01", "expires_at_1": "00:00:00",
    })
    assert response.status_code == 200
    assert "expires_at" in response.context["adminform"].form.errors
    assert not ApiToken.objects.filter(name="old").exists()


def test_the_revoke_action_revokes_the_selected_tokens(login, accounts):
    token, _ = ApiToken.issue(accounts["csr"], name="ci")
    kept, _ = ApiToken.issue(accounts["csr"], name="kept")
    response = login("admin").post(reverse("admin:customers_apitoken_changelist"), {
        "action": "revoke", "_selected_action": [token.pk],
    })
    assert response.status_code == 302
    token.refresh_from_db()
    kept.refresh_from_db()
    assert token.revoked_at is not None
    assert kept.revoked_at is None


def test_only_administrators_see_the_tokens_of_others(login, accounts):
    ApiToken.issue(accounts["admin"], name="admin's")
    ApiToken.issue(accounts["csr"], name="csr's")
    accounts["csr"].user_permissions.add(Permission.objects.get(codename="view_apitoken"))
    listed = login("csr").get(reverse("admin:customers_apitoken_changelist"))
    assert {t.name for t in listed.context["cl"].result_list} == {"csr's"}


def test_a_built_in_role_cannot_be_deleted(login):
    everyone = Group.objects.get(name=Role.EVERYONE)
    response = login("admin").post(reverse("admin:auth_group_delete", args=[everyone.pk]),
                                   {"post": "yes"})
    assert response.status_code == 302
    assert Group.objects.filter(name=Role.EVERYONE).exists()


def test_a_role_manager_cannot_give_a_role_permissions_it_lacks(login, accounts):
    # given the representative may change roles, but not grants
    csr = accounts["csr"]
    csr.user_permissions.add(*Permission.objects.filter(codename__in=["change_group", "view_group"]))
    role = Group.objects.create(name="Helpers")
    change_grant = Permission.objects.get(codename="change_grant")
    # when it tries to give the role "change grant"
    response = login("csr").post(reverse("admin:auth_group_change", args=[role.pk]),
                                 {"name": "Helpers", "permissions": [change_grant.pk]})
    # then
    assert response.status_code == 200
    assert "permissions" in response.context["adminform"].form.errors
    assert not role.permissions.exists()
