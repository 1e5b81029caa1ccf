"""Who a session is logged in as (customers.authentication.AccountBackend),
without a shared cache: the same answers as a fresh ORM read, in one
statement and one more for its roles, permissions and grants when first
asked for, and the session still checked against the password."""

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clientbase.customers.authentication import BACKEND, AccountBackend
from clientbase.customers.models import Account, Contact, GrantLevel, Role
from clientbase.customers.models.visibility import contact_scope, organization_scope
from clientbase.customers.services.accounts import change_own_password
from tests.conftest import ApiClient, make_account
from tests.customers.test_principals import callers, scope_of  # noqa: F401  (fixture)

PASSWORD = "Secret-pass-123"


@pytest.fixture
def invited(db):
    """An account without a usable password (an invitation not yet taken)."""
    account = make_account("invited@example.com", Role.CUSTOMER_SERVICE)
    account.set_unusable_password()
    account.save()
    return account


def session_of(account: Account) -> Client:
    client = Client()
    client.force_login(account)
    return client


@pytest.mark.parametrize("who", ["admin", "csr", "csr_nogrant", "registered", "wide", "superuser", "invited"])
def test_a_session_answers_what_the_orm_answers(callers, invited, who):
    # given
    known = {**callers, "invited": invited}[who]
    # when
    account = AccountBackend().get_user(known.pk)
    # then
    reread = Account.objects.get(pk=known.pk)
    assert account.pk == reread.pk and account.email == reread.email and account.is_active
    assert account.get_all_permissions() == reread.get_all_permissions()
    assert account.get_group_permissions() == reread.get_group_permissions()
    assert account.get_user_permissions() == reread.get_user_permissions()
    assert account.role_names == reread.role_names
    assert account.sees_everything == reread.sees_everything and account.is_staff == reread.is_staff
    assert account.get_session_auth_hash() == reread.get_session_auth_hash()
    assert account.has_usable_password() == reread.has_usable_password() == (who != "invited")
    for level in GrantLevel:
        assert scope_of(account, level) == scope_of(reread, level)


# Whichever part of a session's access a request asks for first.
ASKED_FIRST = {"permissions": lambda account: account.get_all_permissions(),
               "role names": lambda account: account.role_names,
               "scope": lambda account: organization_scope(account, GrantLevel.VIEW)}


@pytest.mark.parametrize("first", ASKED_FIRST)
def test_a_sessions_account_costs_one_statement_its_access_one_more_and_its_checks_none(
        callers, first, django_assert_num_queries):
    with django_assert_num_queries(1):
        account = AccountBackend().get_user(callers["wide"].pk)
        account.get_session_auth_hash()
        assert account.has_usable_password()
    # its roles, permissions and grants: read together when one of them is first asked for
    with django_assert_num_queries(1):
        ASKED_FIRST[first](account)
    with django_assert_num_queries(0):
        assert account.has_perm("customers.view_contact") and account.has_perm("customers.view_apitoken")
        assert not account.has_perm("customers.delete_account") and account.is_staff
        assert Role.CUSTOMER_SERVICE in account.role_names and not account.sees_everything
        assert not organization_scope(account, GrantLevel.MANAGE).nothing
        assert not contact_scope(account).organizations.nothing


def test_an_inactive_or_missing_account_is_nobody(callers):
    Account.objects.filter(pk=callers["csr"].pk).update(is_active=False)
    assert AccountBackend().get_user(callers["csr"].pk) is None
    assert AccountBackend().get_user(Contact().pk) is None  # an id no account has


def test_a_password_set_on_the_account_answers_for_itself(callers):
    # given a session's account, read without its password hash
    account = AccountBackend().get_user(callers["csr"].pk)
    before = account.get_session_auth_hash()
    # when its password changes on that object
    account.set_password("Another-pass-456")
    # then the hash follows the new password, as Django's does
    assert account.get_session_auth_hash() != before
    account.set_unusable_password()
    assert not account.has_usable_password()


def test_saving_a_sessions_account_keeps_its_password(callers):
    account = AccountBackend().get_user(callers["csr"].pk)
    account.save()
    assert Account.objects.get(pk=account.pk).check_password(PASSWORD)


# --- Through requests ----------------------------------------------------------------


def queries_of(client: Client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return [q["sql"] for q in captured.captured_queries]


FORMER_BACKEND = "django.contrib.auth.backends.ModelBackend"


def former_session_of(account: Account) -> Client:
    """A session logged in before AccountBackend: it names ModelBackend."""
    client = Client()
    client.force_login(account, backend=FORMER_BACKEND)
    return client


# A back office page and an API list for the CSR, a shopper's API call and
# the shop's account page; what AccountBackend saves on each, without a
# shared cache (with one, the account costs no statement: tests/cache).
PAGES = {
    "back office contacts": ("csr", lambda: reverse("admin:customers_contact_changelist"), 3),
    "API contacts": ("csr", lambda: "/api/v1/contacts", 3),
    "API me": ("registered", lambda: "/api/v1/me", 0),
    # The shop's page asks for none of the account's access: none is read.
    "shop account": ("registered", lambda: reverse("storefront:account"), 0),
}


@pytest.mark.parametrize("page", PAGES)
def test_a_session_reads_its_account_in_at_most_two_statements(callers, settings, page):
    """What the account costs a request: Django's ModelBackend read the account
    (1), its permissions (2), its role names (1) and its grants (1) apart,
    each when asked; AccountBackend reads them all in at most two (the
    account, and its access when asked for)."""
    who, url, saved = PAGES[page]
    account = callers[who]
    # given the same request, under Django's ModelBackend, then under AccountBackend
    settings.AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", FORMER_BACKEND]
    before = queries_of(former_session_of(account), url())
    settings.AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", BACKEND]
    after = queries_of(session_of(account), url())
    # then
    assert len(after) == len(before) - saved, (before, after)
    # and none of the ORM's reads of the account, its permissions, roles or grants is left
    assert not [sql for sql in after if sql.startswith('SELECT "customers_account"')
                or '"auth_' in sql or '"customers_grant"' in sql]


def test_a_session_from_before_stays_logged_in(callers):
    # given a session logged in through ModelBackend
    client = former_session_of(callers["csr"])
    # when it comes back
    response = ApiClient(client).get("/me")
    # then it is the same account, and its session now names AccountBackend
    assert response.status_code == 200 and response.json()["email"] == "csr@example.com"
    assert client.session[BACKEND_SESSION_KEY] == BACKEND


def test_changing_the_password_ends_the_other_sessions(callers):
    # given two sessions of the same shopper
    shopper = callers["registered"]
    here, elsewhere = session_of(shopper), session_of(shopper)
    assert ApiClient(elsewhere).get("/me").json()["authenticated"]
    # when one changes the password on the shop's page
    response = here.post(reverse("storefront:password_change"), {
        "old_password": PASSWORD, "password": "Another-pass-456"})
    assert response.status_code == 302, response.content[:500]
    # then this session stays logged in, the other is logged out
    assert ApiClient(here).get("/me").json()["authenticated"]
    assert not ApiClient(elsewhere).get("/me").json()["authenticated"]


def test_a_password_changed_elsewhere_ends_a_back_office_session(callers):
    csr = callers["csr"]
    client = session_of(csr)
    page = reverse("admin:customers_contact_changelist")
    assert client.get(page).status_code == 200
    change_own_password(csr, old_password=PASSWORD, new_password="Another-pass-456")
    assert client.get(page).status_code == 302  # to the login page


def test_a_deactivated_account_is_logged_out(callers):
    csr = callers["csr"]
    client = session_of(csr)
    assert ApiClient(client).get("/contacts").status_code == 200
    csr.is_active = False
    csr.save()
    assert ApiClient(client).get("/contacts").status_code == 401
