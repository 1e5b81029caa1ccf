"""Inviting a contact to make its account, (de)activating it and sending a
password reset (customers.services.invitations), through the storefront's
pages where the invited person acts."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from clientbase.core.errors import Conflict, Forbidden, Invalid
from clientbase.customers.models import Account, Contact, Grant, Role
from clientbase.customers.services.accounts import issue_token
from clientbase.customers.services.invitations import (
    accept_invitation, invite_contact, send_password_reset, set_account_active,
)
from tests.conftest import make_account

NEW_PASSWORD = "Brand-new-pass-77"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def link(url_name):
    return lambda uidb64, token: f"http://testserver{reverse(url_name, args=[uidb64, token])}"


INVITE_LINK = link("storefront:accept_invitation")
RESET_LINK = link("storefront:password_reset_confirm")


@pytest.fixture
def ann(world):
    contact = Contact.objects.create(first_name="Ann", last_name="Smith", email="ann@example.com")
    contact.organizations.add(world["EU-MGMT"])
    return contact


def sent_link() -> str:
    return re.search(r"http://testserver(/account/\S+/)", mail.outbox[-1].body)[1]


def parts(path: str) -> tuple[str, str]:
    uidb64, token = path.rstrip("/").split("/")[-2:]
    return uidb64, token


def storefront_login(email: str, password: str) -> int:
    return Client().post("/account/login/", {"username": email, "password": password}).status_code


def test_an_invitation_makes_an_inactive_account_and_mails_a_link(accounts, ann):
    account = invite_contact(ann, actor=accounts["admin"], link=INVITE_LINK)
    assert account.contact_id == ann.pk and account.email == "ann@example.com"
    assert not account.is_active and not account.has_usable_password()
    assert set(account.groups.values_list("name", flat=True)) == {Role.EVERYONE, Role.REGISTERED}
    assert mail.outbox[-1].to == ["ann@example.com"] and "Hello Ann" in mail.outbox[-1].body
    assert sent_link().startswith("/account/invitation/")


def test_accepting_sets_the_password_and_the_link_works_once(accounts, ann):
    invite_contact(ann, actor=accounts["admin"], link=INVITE_LINK)
    uidb64, token = parts(sent_link())
    # when the invited person chooses a password
    account = accept_invitation(uidb64, token, password=NEW_PASSWORD)
    # then the account is active, its e-mail proven, and the storefront lets it in
    assert account.is_active and account.email_verified_at is not None
    assert storefront_login("ann@example.com", NEW_PASSWORD) == 302
    # and the same link does nothing any more
    with pytest.raises(Invalid) as refused:
        accept_invitation(uidb64, token, password="Another-pass-99")
    assert refused.value.code == "invalid_token"
    assert Account.objects.get(pk=account.pk).check_password(NEW_PASSWORD)


def test_a_weak_password_is_refused_and_the_link_still_works(accounts, ann):
    invite_contact(ann, actor=accounts["admin"], link=INVITE_LINK)
    uidb64, token = parts(sent_link())
    with pytest.raises(Invalid) as refused:
        accept_invitation(uidb64, token, password="short")
    assert refused.value.errors[0].field == "password"
    assert accept_invitation(uidb64, token, password=NEW_PASSWORD).is_active


@pytest.mark.parametrize("uidb64,token", [("", ""), ("bm9wZQ", "x-y"), ("!!", "garbage")])
def test_a_link_that_is_not_one_is_invalid(accounts, ann, uidb64, token):
    invite_contact(ann, actor=accounts["admin"], link=INVITE_LINK)
    with pytest.raises(Invalid):
        accept_invitation(uidb64, token, password=NEW_PASSWORD)


def test_inviting_again_sends_a_new_link_for_the_same_account(accounts, ann):
    first = invite_contact(ann, actor=accounts["admin"], link=INVITE_LINK)
    again = invite_contact(ann, actor=accounts["admin"], link=INVITE_LINK)
    assert first.pk == again.pk and len(mail.outbox) == 2


def test_a_contact_with_an_account_or_without_an_email_is_not_invited(accounts, ann, world):
    make_account("ann@example.com", contact=ann)
    with pytest.raises(Conflict) as refused:
        invite_contact(ann, actor=accounts["admin"], link=INVITE_LINK)
    assert "already has an account" in refused.value.detail
    nomail = Contact.objects.create(first_name="No", last_name="Mail")
    with pytest.raises(Invalid) as refused:
        invite_contact(nomail, actor=accounts["admin"], link=INVITE_LINK)
    assert "no e-mail" in refused.value.detail
    assert mail.outbox == []


def test_inviting_needs_the_permission_and_the_contact_in_scope(accounts, ann, world):
    # customer service may not make accounts
    with pytest.raises(Forbidden):
        invite_contact(ann, actor=accounts["csr"], link=INVITE_LINK)
    # an account manager whose grant covers the US only does not manage Ann
    manager = make_account("manager@example.com", Role.CUSTOMER_SERVICE)
    manager.user_permissions.add(*_permissions("add_account", "change_account"))
    Grant.objects.create(account=manager, organization=world["US-HQ"], include_descendants=True, level="manage")
    with pytest.raises(Invalid) as refused:
        invite_contact(ann, actor=Account.objects.get(pk=manager.pk), link=INVITE_LINK)
    assert refused.value.code == "outside_scope"
    assert not Account.objects.filter(contact=ann).exists() and mail.outbox == []


def _permissions(*codenames):
    from django.contrib.auth.models import Permission
    return Permission.objects.filter(content_type__app_label="customers", codename__in=codenames)


def test_a_deactivated_account_cannot_log_in_nor_use_its_tokens(accounts, ann):
    shopper = make_account("ann@example.com", Role.REGISTERED, contact=ann)
    _token, secret = issue_token(shopper, actor=None)
    api = Client(headers={"Authorization": f"Bearer {secret}"})
    assert api.get("/api/v1/me").status_code == 200
    session = Client()
    assert session.post("/account/login/", {"username": "ann@example.com",
                                            "password": "Secret-pass-123"}).status_code == 302
    assert session.get("/account/").status_code == 200
    # when an administrator deactivates it
    account = set_account_active(ann, actor=accounts["admin"], active=False)
    # then neither the storefront, nor the back office, nor a token let it in
    assert not account.is_active
    assert storefront_login("ann@example.com", "Secret-pass-123") == 400
    backoffice = Client().post("/admin/login/", {"username": "ann@example.com", "password": "Secret-pass-123"})
    assert backoffice.status_code == 200 and "_auth_user_id" not in backoffice.client.session
    assert api.get("/api/v1/me").status_code == 401
    assert session.get("/account/").status_code == 302  # its open session ends too
    # and reactivated, it logs in again
    set_account_active(ann, actor=accounts["admin"], active=True)
    assert storefront_login("ann@example.com", "Secret-pass-123") == 302
    assert api.get("/api/v1/me").status_code == 200


def test_deactivating_says_why_it_is_refused(accounts, ann, world):
    with pytest.raises(Conflict) as refused:
        set_account_active(ann, actor=accounts["admin"], active=False)
    assert refused.value.code == "no_account"
    make_account("ann@example.com", Role.REGISTERED, contact=ann)
    with pytest.raises(Conflict) as refused:
        set_account_active(ann, actor=accounts["admin"], active=True)
    assert refused.value.code == "unchanged"
    with pytest.raises(Forbidden):
        set_account_active(ann, actor=accounts["csr"], active=False)
    admin_contact = Contact.objects.create(first_name="Ad", last_name="Min")
    Account.objects.filter(pk=accounts["admin"].pk).update(contact=admin_contact)
    with pytest.raises(Conflict) as refused:
        set_account_active(admin_contact, actor=Account.objects.get(pk=accounts["admin"].pk), active=False)
    assert refused.value.code == "self"


def test_an_open_invitation_is_sent_again_not_reactivated(accounts, ann):
    invite_contact(ann, actor=accounts["admin"], link=INVITE_LINK)
    with pytest.raises(Conflict) as refused:
        set_account_active(ann, actor=accounts["admin"], active=True)
    assert refused.value.code == "invitation_open"


def test_the_password_reset_is_the_storefronts_mail_and_its_link_works(accounts, ann):
    shopper = make_account("ann@example.com", Role.REGISTERED, contact=ann)
    # the storefront's "forgot password" mail, for comparison
    Client().post("/account/password/reset/", {"email": "ann@example.com"})
    storefront_mail = mail.outbox[-1]
    # when staff sends one
    send_password_reset(ann, actor=accounts["admin"], link=RESET_LINK)
    sent = mail.outbox[-1]
    assert sent.subject == storefront_mail.subject and sent.to == ["ann@example.com"]
    assert re.sub(r"/account/password/reset/\S+", "", sent.body) == \
        re.sub(r"/account/password/reset/\S+", "", storefront_mail.body)
    # then its link sets a new password at the storefront
    client = Client()
    form_page = client.get(sent_link(), follow=True)
    client.post(form_page.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    shopper.refresh_from_db()
    assert shopper.check_password(NEW_PASSWORD)


def test_a_password_reset_needs_an_active_account_and_the_permission(accounts, ann):
    with pytest.raises(Conflict):
        send_password_reset(ann, actor=accounts["admin"], link=RESET_LINK)
    make_account("ann@example.com", Role.REGISTERED, contact=ann, is_active=False)
    with pytest.raises(Conflict) as refused:
        send_password_reset(ann, actor=accounts["admin"], link=RESET_LINK)
    assert "inactive" in refused.value.detail
    set_account_active(ann, actor=accounts["admin"], active=True)
    with pytest.raises(Forbidden):
        send_password_reset(ann, actor=accounts["csr"], link=RESET_LINK)
    assert mail.outbox == []
