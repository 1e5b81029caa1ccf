"""Who a token acts as, without a shared cache: the same answers as the ORM's
own reads (Django's ModelBackend, Account.role_names, organization_scope),
in one statement (the token with its account and what it may do and see;
two when the use of the token is due to be recorded)."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from clientbase.customers.models import Account, ApiToken, Grant, GrantLevel, Role
from clientbase.customers.models.visibility import contact_scope, organization_scope
from clientbase.customers.services.accounts import issue_token
from clientbase.customers.services.principals import USE_RECORDED_EVERY, account_for_token
from tests.conftest import make_account, role


def used_token(account: Account) -> str:
    """A token of `account` whose use was recorded just now, so that its
    next use within the minute reads and writes nothing more."""
    token, raw = issue_token(account, actor=None)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return raw


def scope_of(account: Account, level: str) -> tuple:
    scope = organization_scope(account, level)
    return scope.everything, set(scope.subtree_paths), set(scope.single_ids)


@pytest.fixture
def callers(accounts, world):
    """The conftest's accounts, a superuser, and a CSR whose access comes from
    everywhere at once: its own grant and permission, and its role's grant."""
    wide = make_account("wide@example.com", Role.CUSTOMER_SERVICE)
    Grant.objects.create(account=wide, organization=world["EU-MGMT"], include_descendants=False)
    Grant.objects.create(role=role(Role.CUSTOMER_SERVICE), organization=world["US-HQ"], include_descendants=True,
                         level=GrantLevel.MANAGE)
    wide.user_permissions.add(Permission.objects.get(codename="view_apitoken"))
    superuser = Account.objects.create_superuser("root@example.com", "Secret-pass-123")
    return {**accounts, "wide": wide, "superuser": superuser}


@pytest.mark.parametrize("who", ["admin", "csr", "csr_nogrant", "registered", "wide", "superuser"])
def test_a_token_answers_what_the_orm_answers(callers, who):
    # given
    raw = used_token(callers[who])
    # when
    account = account_for_token(raw)
    # then
    reread = Account.objects.get(pk=callers[who].pk)
    assert account.pk == reread.pk and account.email == reread.email
    assert account.get_all_permissions() == reread.get_all_permissions()
    assert account.get_group_permissions() == reread.get_group_permissions()
    assert account.get_user_permissions() == reread.get_user_permissions()
    assert account.role_names == reread.role_names
    assert account.sees_everything == reread.sees_everything
    for level in GrantLevel:
        assert scope_of(account, level) == scope_of(reread, level)


def test_a_scoped_accounts_token_costs_one_statement_and_its_checks_none(callers, django_assert_num_queries):
    # given
    raw = used_token(callers["wide"])
    # when: who the token is, with what it may do and see
    with django_assert_num_queries(1):
        account = account_for_token(raw)
    with django_assert_num_queries(0):
        assert account.has_perm("customers.view_contact") and account.has_perm("customers.view_apitoken")
        assert not account.has_perm("customers.delete_account")
        assert Role.CUSTOMER_SERVICE in account.role_names and not account.sees_everything
        assert not organization_scope(account, GrantLevel.MANAGE).nothing
        assert not contact_scope(account).organizations.nothing


def test_a_superusers_token_costs_one_statement(callers, django_assert_num_queries):
    raw = used_token(callers["superuser"])
    with django_assert_num_queries(1):
        account = account_for_token(raw)
        assert account.has_perm("customers.delete_account") and account.sees_everything


def test_a_token_at_the_shops_doors_reads_its_access_only_when_asked(callers, django_assert_num_queries):
    raw = used_token(callers["csr"])
    with django_assert_num_queries(1):
        account = account_for_token(raw, with_access=False)
    assert account.role_names == {Role.EVERYONE, Role.CUSTOMER_SERVICE}
    assert account.has_perm("customers.view_contact")


def test_a_tokens_use_is_recorded_at_most_once_a_minute(callers, django_assert_num_queries):
    # given a token never used
    token, raw = issue_token(callers["csr"], actor=None)
    # when it is used twice in a row
    with django_assert_num_queries(2):  # the second statement: the use recorded
        account_for_token(raw)
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    with django_assert_num_queries(1):
        account_for_token(raw)
    # then the first use is recorded, the second not
    assert first is not None and ApiToken.objects.get(pk=token.pk).last_used_at == first
    # and a use more than a minute later is recorded again
    earlier = first - timedelta(seconds=USE_RECORDED_EVERY + 1)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=earlier)
    account_for_token(raw)
    assert ApiToken.objects.get(pk=token.pk).last_used_at > first


# What makes a token unusable, done to it.
SPOILED = {
    "revoked": lambda token: ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now()),
    "expired": lambda token: ApiToken.objects.filter(pk=token.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)),
    "its account inactive": lambda token: Account.objects.filter(pk=token.account_id).update(is_active=False),
}


@pytest.mark.parametrize("spoil", SPOILED)
def test_an_unusable_token_acts_as_nobody_after_one_statement(callers, spoil, django_assert_num_queries):
    # given
    token, raw = issue_token(callers["csr"], actor=None)
    SPOILED[spoil](token)
    # then
    with django_assert_num_queries(1):
        assert account_for_token(raw) is None
    assert ApiToken.objects.get(pk=token.pk).last_used_at is None
