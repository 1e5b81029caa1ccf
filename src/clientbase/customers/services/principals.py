"""Who a personal API token acts as: its account, with its roles and
permissions, from the shared cache when there is one (core.caching).

Two entries answer a token: `token:<hash>` (which account, until when),
stamped with the token's version, which its revocation (or any save) bumps;
and `account:<id>` (the account's fields but its password hash, its role
names, its permissions), stamped with the account's version (its row, its
roles, its grants) and the roles' generation. A revoked token, a
deactivated account or a role taken away stops working at once, in every
process. Without a shared cache every request reads the database.
"""

from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.db import router
from django.utils import timezone

from clientbase.core import caching
from clientbase.customers.cache_names import ROLES, account_version, token_version
from clientbase.customers.models import Account, ApiToken
from clientbase.customers.models.accounts import hash_token

# Record a token's use at most once a minute, to keep reads from writing.
USE_RECORDED_EVERY = 60
# An account as cached: every column but the password hash, which nothing
# reading a request needs; a save of such an account leaves it as it is
# (Django saves only the loaded fields of an instance with deferred ones).
_FIELDS = [f.attname for f in Account._meta.concrete_fields if f.attname != "password"]


def account_for_token(raw: str) -> Account | None:
    """The active account a token acts as; None for an unknown, revoked or
    expired token, or an inactive account."""
    token_hash = hash_token(raw)
    if not caching.usable():
        return _from_database(token_hash)
    found = caching.cached(f"token:{token_hash}", [token_version(token_hash)], lambda: _token(token_hash))
    if found is None:
        return None
    token_id, account_id, expires_at = found
    if expires_at is not None and expires_at <= timezone.now():
        return None
    account = cached_account(account_id)
    if account is None or not account.is_active:
        return None
    try:
        first_use_this_minute = cache.add(f"token-used:{token_hash}", 1, timeout=USE_RECORDED_EVERY)
    except Exception:  # noqa: BLE001 - recording a use never refuses a caller
        first_use_this_minute = False
    if first_use_this_minute:
        ApiToken.objects.filter(pk=token_id).update(last_used_at=timezone.now())
    return account


def _from_database(token_hash: str) -> Account | None:
    found = (ApiToken.objects.active().select_related("account")
             .filter(token_hash=token_hash).first())
    if found is None or not found.account.is_active:
        return None
    now = timezone.now()
    if found.last_used_at is None or (now - found.last_used_at).total_seconds() > USE_RECORDED_EVERY:
        ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
    return found.account


def _primary(model):
    # What is cached is read from the primary: a lagging replica read after a
    # bump would be stored under the new versions.
    return model._default_manager.db_manager(router.db_for_write(model))


def _token(token_hash: str):
    """(token id, account id, expiry) of an active token; None otherwise."""
    return (_primary(ApiToken).active().filter(token_hash=token_hash)
            .values_list("pk", "account_id", "expires_at").first())


def cached_account(account_id) -> Account | None:
    """The account with its role names and permissions filled in, from the
    cache (stamped with its version and the roles') or three queries; None
    when it no longer exists."""
    values = caching.cached(f"account:{account_id}", [account_version(account_id), ROLES],
                            lambda: _account_values(account_id))
    if values is None:
        return None
    fields, roles, user_perms, group_perms = values
    alias = router.db_for_read(Account)
    account = Account.from_db(alias, _FIELDS, fields)
    account._role_names = set(roles)
    # Django's ModelBackend reads these before asking the database.
    account._user_perm_cache = set(user_perms)
    account._group_perm_cache = set(group_perms)
    account._perm_cache = set(user_perms) | set(group_perms)
    return account


def _permissions(queryset) -> frozenset[str]:
    # As Django's ModelBackend names them.
    return frozenset(f"{app}.{codename}" for app, codename in
                     queryset.values_list("content_type__app_label", "codename"))


def _account_values(account_id):
    fields = _primary(Account).filter(pk=account_id).values_list(*_FIELDS).first()
    if fields is None:
        return None
    record = dict(zip(_FIELDS, fields))
    roles = frozenset(_primary(Group).filter(user=account_id).values_list("name", flat=True))
    if not record["is_active"]:
        return (fields, roles, frozenset(), frozenset())
    permissions = _primary(Permission)
    if record["is_superuser"]:  # ModelBackend's rule: a superuser holds every permission
        every = _permissions(permissions.all())
        return (fields, roles, every, every)
    return (fields, roles, _permissions(permissions.filter(user=account_id)),
            _permissions(permissions.filter(group__user=account_id)))
