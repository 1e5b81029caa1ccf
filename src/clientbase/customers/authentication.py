"""Who a session is logged in as, read as a token's account is
(customers.services.principals): the account and its session auth hash in
one statement, and its role names, permissions and grants in one more when
the request first asks for one of them (or all from the shared cache),
rather than Django's account query, its two permission queries, a role
query and a grant query on every request.

Logging in is Django's ModelBackend's (e-mail and password, an inactive
account refused); `BACKEND` names this backend wherever `login()` is told
which one let the account in. Sessions logged in before it existed name
ModelBackend: `AuthenticationMiddleware` moves them onto it, so that they
stay logged in.
"""

import weakref
from functools import partial

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, middleware as auth_middleware
from django.contrib.auth.backends import ModelBackend
from django.utils.functional import SimpleLazyObject

from clientbase.customers.models import Account
from clientbase.customers.services.principals import account_for_session

# The path AUTHENTICATION_BACKENDS and the sessions name this backend by.
BACKEND = "clientbase.customers.authentication.AccountBackend"
# What sessions logged in before AccountBackend name.
_FORMER_BACKEND = "django.contrib.auth.backends.ModelBackend"


class AccountBackend(ModelBackend):
    """ModelBackend whose session account comes with the session's check
    (get_session_auth_hash) and reads everything else it is asked about per
    request (has_perm, role_names, organization_scope) at once, on the first
    question (Account.load_access)."""

    def get_user(self, user_id):
        return account_for_session(user_id)

    async def aget_user(self, user_id):
        # Read now: the loop's caller could not read them when it asks.
        return await sync_to_async(account_for_session)(user_id, with_access=True)

    def get_user_permissions(self, user_obj, obj=None):
        _load_access(user_obj)
        return super().get_user_permissions(user_obj, obj)

    def get_group_permissions(self, user_obj, obj=None):
        _load_access(user_obj)
        return super().get_group_permissions(user_obj, obj)

    def get_all_permissions(self, user_obj, obj=None):
        # has_perm and has_module_perms ask this.
        _load_access(user_obj)
        return super().get_all_permissions(user_obj, obj)


def _load_access(user_obj) -> None:
    if isinstance(user_obj, Account):
        user_obj.load_access()


def _adopt_former_session(request) -> None:
    # Unless ModelBackend is configured again (then its sessions are its own).
    session = request.session
    if session.get(BACKEND_SESSION_KEY) == _FORMER_BACKEND and _FORMER_BACKEND not in settings.AUTHENTICATION_BACKENDS:
        session[BACKEND_SESSION_KEY] = BACKEND


def _user(request):
    if not hasattr(request, "_cached_user"):
        _adopt_former_session(request)
    return auth_middleware.get_user(request)


async def _auser(request):
    if not hasattr(request, "_acached_user"):
        await sync_to_async(_adopt_former_session)(request)
    return await auth_middleware.auser(request)


def _user_of(request_ref: weakref.ref):
    return _user(request_ref())


async def _auser_of(request_ref: weakref.ref):
    return await _auser(request_ref())


class AuthenticationMiddleware(auth_middleware.AuthenticationMiddleware):
    """Django's (request.user, request.auser, as lazy), which first moves a
    session logged in through ModelBackend onto AccountBackend: it would
    otherwise be anonymous, as ModelBackend is no longer configured.

    Both hold the request weakly (they live on it, and nothing uses them
    after it): Django's hold it strongly, a reference cycle that leaves the
    whole request (its resolver match, session, account) to the cyclic
    garbage collector instead of being freed when the response is."""

    def process_request(self, request):
        super().process_request(request)
        request_ref = weakref.ref(request)
        request.user = SimpleLazyObject(partial(_user_of, request_ref))
        request.auser = partial(_auser_of, request_ref)
