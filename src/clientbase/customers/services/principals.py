"""Who a personal API token or a session acts as: its account, with its
role names, its permissions and its grants, read in one statement (a
session's in two), or from the shared cache when there is one (core.caching).
A session's account (customers.authentication.AccountBackend) also comes
with what Django checks the session against on every request, its session
auth hash (an HMAC of the password hash under SECRET_KEY): the password
hash itself is neither kept on the account nor cached. Without a shared
cache, a session's role names, permissions and grants are read (in one
statement, the second) only when the request first asks for one of them
(Account.load_access): many of the shop's pages never do.

The statements are written out once, below, rather than built by the ORM:
building and compiling a query cost more CPU than these small queries
themselves, and the path runs on every request. They read the primary, as
the router would (customers' accounts, tokens, roles and grants are read
there: core.routing), and as anything cached must be.

- The token with its account, by the token's hash. A revoked or expired
  token, or an inactive account, ends here. So does a superuser: it holds
  every permission and sees everything without its roles or grants being
  read (PermissionsMixin.has_perm, Account.sees_everything); and so does a
  caller of the shop's doors, which seldom ask. What is then asked for is
  read on demand, the ORM's way.
- The account's details: its role names, its permissions (its own and its
  roles', as Django's ModelBackend names them) and its grants and its
  roles' grants, filling what ModelBackend, `Account.role_names` and
  `organization_scope` would otherwise each read with a query of their own.
  A token at a staff door reads them in the token's own statement ("token
  with details": one round trip on every request rather than two; a round
  trip cost this process more CPU than reading its rows); a session's
  account in a statement of their own when first asked for (`_read_access`),
  and an account read for the cache right after the account's row
  (`_account_values`).

With a shared cache two entries answer a token: `token:<hash>` (which
account, until when), stamped with the token's version, which its
revocation (or any save) bumps; and `principal:<id>:<secret tag>` (what
`_account_values` reads; the tag names the SECRET_KEY its session hash
was made with), which alone answers a session; stamped with the account's
version (its row, its password, its roles, its grants), the roles'
generation and the trees' (a grant covers the paths of the organizations
below it). A revoked token, a deactivated account or a
role taken away stops working at once, in every process. Without a shared
cache every request reads the database.
"""

from functools import lru_cache

from django.conf import settings
from django.contrib.auth.hashers import is_password_usable
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import connections, router
from django.utils import timezone
from django.utils.crypto import salted_hmac

from clientbase.core import caching
from clientbase.core.routing import bookkeeping_writes
from clientbase.core.rows import bound_id, converter, fetch, model_converter
from clientbase.customers.cache_names import ROLES, TREES, account_version, token_version
from clientbase.customers.models import Account, ApiToken, Grant, Organization
from clientbase.customers.models.accounts import hash_token
from clientbase.customers.models.visibility import remember_grants

# Record a token's use at most once a minute, to keep reads from writing.
USE_RECORDED_EVERY = 60
# An account as read here: every column but the password hash, which nothing
# reading a request needs; a save of such an account leaves it as it is
# (Django saves only the loaded fields of an instance with deferred ones).
_FIELDS = [f.attname for f in Account._meta.concrete_fields if f.attname != "password"]
# What decides whether a token may act, and whether its use is due to be recorded.
_TOKEN_FIELDS = [f.attname for f in ApiToken._meta.concrete_fields
                 if f.attname in ("id", "account_id", "last_used_at", "expires_at", "revoked_at")]


def _statements() -> dict[str, str]:
    """The statements of this module, by name. Plain SQL that SQLite and
    PostgreSQL both run; the ids are bound as each database stores them
    (`core.rows.bound_id`)."""
    account = Account._meta.db_table
    account_roles = Account.groups.through._meta.db_table
    account_permissions = Account.user_permissions.through._meta.db_table
    role_permissions = Group.permissions.through._meta.db_table
    role, permission, content_type = Group._meta.db_table, Permission._meta.db_table, ContentType._meta.db_table
    grant, organization = Grant._meta.db_table, Organization._meta.db_table
    account_columns = ", ".join(f"a.{Account._meta.get_field(name).column}" for name in _FIELDS)
    token_columns = ", ".join(f"t.{ApiToken._meta.get_field(name).column}" for name in _TOKEN_FIELDS)
    # Each row of the account's details is (kind, name, detail, organization
    # id, include descendants): a role's name; a permission's app label and
    # codename; a grant's level, the organization's path and id, and whether
    # the grant covers the organizations below it.
    def roles(account_id: str) -> str:
        return f"""
        SELECT 'role', r.name, NULL, NULL, NULL
          FROM {account_roles} ar JOIN {role} r ON r.id = ar.group_id
         WHERE ar.account_id = {account_id}"""

    # The grants come first: PostgreSQL takes a column's type from the first
    # rows that give it one (an organization id, a boolean), not from NULL.
    # Its own and its roles' permissions are named by one join (fewer tables
    # for PostgreSQL to plan, which costs more than running the statement).
    def details(account_id: str) -> str:
        return f"""
        SELECT 'grant', g.level, o.path, g.organization_id, g.include_descendants
          FROM {grant} g JOIN {organization} o ON o.id = g.organization_id
         WHERE g.account_id = {account_id}
            OR g.role_id IN (SELECT ar.group_id FROM {account_roles} ar WHERE ar.account_id = {account_id})
        UNION ALL{roles(account_id)}
        UNION ALL
        SELECT held.kind, ct.app_label, p.codename, NULL, NULL
          FROM (SELECT 'user' AS kind, ap.permission_id FROM {account_permissions} ap
                 WHERE ap.account_id = {account_id}
                UNION ALL
                SELECT 'group', rp.permission_id
                  FROM {account_roles} ar JOIN {role_permissions} rp ON rp.group_id = ar.group_id
                 WHERE ar.account_id = {account_id}) held
          JOIN {permission} p ON p.id = held.permission_id JOIN {content_type} ct ON ct.id = p.content_type_id"""

    token_and_account = f"""
              FROM {ApiToken._meta.db_table} t JOIN {account} a ON a.id = t.account_id
             WHERE t.token_hash = %s"""
    no_token = ", ".join(["NULL"] * (len(_TOKEN_FIELDS) + len(_FIELDS)))
    return {
        "token": f"SELECT {token_columns}, {account_columns}{token_and_account}",
        # The token's row (with NULL details), then its account's details
        # (after NULLs for the token's columns), the kind of a detail telling
        # the rows apart. The details are read only when they are used: for
        # an active token of an active account that is no superuser (the
        # expiry is judged by the caller). Bound to the token's hash twice.
        "token with details": f"""
        WITH holder AS (
            SELECT t.account_id AS id{token_and_account}
               AND t.revoked_at IS NULL AND a.is_active AND NOT a.is_superuser)
        SELECT {token_columns}, {account_columns}, NULL, NULL, NULL, NULL, NULL{token_and_account}
        UNION ALL
        SELECT {no_token}, d.* FROM ({details("(SELECT h.id FROM holder h)")}) d""",
        # The password hash last: what the session is checked against is made
        # of it (`_session_check`), and it is kept nowhere.
        "account": f"SELECT {account_columns}, a.password FROM {account} a WHERE a.id = %s",
        # An account's details, bound to its id five times.
        "details": details("%s"),
        # A superuser's details (ModelBackend's rule: it holds every
        # permission; it sees everything, so its grants do not matter),
        # bound to its id once.
        "superuser details": f"""{roles("%s")}
        UNION ALL
        SELECT 'every', ct.app_label, p.codename, NULL, NULL
          FROM {permission} p JOIN {content_type} ct ON ct.id = p.content_type_id""",
    }


_SQL = _statements()
# Where a row of "token with details" has its details' kind: after the token's columns.
_DETAILS = len(_TOKEN_FIELDS) + len(_FIELDS)


def account_for_token(raw: str, *, with_access: bool = True) -> Account | None:
    """The active account a token acts as; None for an unknown, revoked or
    expired token, or an inactive account. `with_access`: read its role
    names, permissions and grants now, in one statement (without, they are
    read when asked for, each the ORM's way); the shared cache holds them
    all either way."""
    token_hash = hash_token(raw)
    if not caching.usable():
        return _from_database(token_hash, with_access)
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
        _record_use(token_id, timezone.now())
    return account


def account_for_session(account_id, *, with_access: bool = False) -> Account | None:
    """The active account a session is logged in as, with its session auth
    hash; None when it no longer exists or is inactive. With a shared cache
    its role names, permissions and grants come with it, from one entry;
    without, one statement reads them when the request first asks for one
    (Account.load_access), as many of the shop's pages never do, or now
    (`with_access`)."""
    if caching.usable() or with_access:
        account = cached_account(account_id)
    else:
        account = _session_account(account_id)
    return account if account is not None and account.is_active else None


def _session_account(account_id) -> Account | None:
    """The account with its session check, its access to be read when asked
    for (`_read_access`); None when it does not exist."""
    found = _account_row(account_id)
    if found is None:
        return None
    fields, session = found
    account = Account.from_db(router.db_for_read(Account), _FIELDS, fields)
    account.remember_session_check(*session)
    account.read_access_later(_read_access)
    return account


def _read_access(account: Account) -> None:
    # The account's own columns decide, as ModelBackend's rules read them.
    _remember_access(account, *_access_values(account.pk, account.is_superuser, account.is_active))


def _record_use(token_id, now) -> None:
    # Bookkeeping nobody reads back at once: it does not pin the caller to
    # the primary as its own change would (core.routing).
    with bookkeeping_writes():
        ApiToken.objects.filter(pk=token_id).update(last_used_at=now)


def _from_database(token_hash: str, with_access: bool) -> Account | None:
    connection = _primary()
    if with_access:
        rows, details = [], []
        for row in fetch(connection, _SQL["token with details"], [token_hash, token_hash]):
            (rows if row[_DETAILS] is None else details).append(row)
    else:
        rows = fetch(connection, _SQL["token"], [token_hash])
    if not rows:
        return None
    split = len(_TOKEN_FIELDS)
    token = ApiToken.from_db(connection.alias, _TOKEN_FIELDS,
                             model_converter(ApiToken, _TOKEN_FIELDS, connection)(rows[0][:split]))
    fields = model_converter(Account, _FIELDS, connection)(rows[0][split:])
    record = dict(zip(_FIELDS, fields))
    if not token.is_active or not record["is_active"]:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > USE_RECORDED_EVERY:
        _record_use(token.pk, now)
    if not with_access or record["is_superuser"]:
        return Account.from_db(router.db_for_read(Account), _FIELDS, fields)
    access = _access_from_rows(connection, [row[_DETAILS:] for row in details], False, True)
    return _account((tuple(fields), *access, None))


def _primary():
    # Who a caller is is never decided on a replica's stale row (as the router
    # sends these tables' reads: core.routing.PRIMARY_MODELS), and what is
    # cached must not come from a lagging replica: read after a bump, it
    # would be stored under the new versions.
    return connections[router.db_for_write(Account)]


def _token(token_hash: str):
    """(token id, account id, expiry) of an active token; None otherwise."""
    return (ApiToken._default_manager.db_manager(_primary().alias).active().filter(token_hash=token_hash)
            .values_list("pk", "account_id", "expires_at").first())


def cached_account(account_id) -> Account | None:
    """The account with its role names, permissions, scopes and session
    check filled in, from the cache (stamped with its version, the roles'
    and the trees') or two statements; None when it no longer exists."""
    values = caching.cached(f"principal:{account_id}:{_secret_tag()}", [account_version(account_id), ROLES, TREES],
                            lambda: _account_values(account_id))
    return None if values is None else _account(values)


_secret_tags: dict[str, str] = {}


def _secret_tag() -> str:
    """A short name of SECRET_KEY (not the key): an entry's session hash is
    only good under the key it was made with, and processes of two
    deployments may share the cache while the key is rotated."""
    key = settings.SECRET_KEY
    if key not in _secret_tags:
        _secret_tags[key] = salted_hmac("clientbase.customers.services.principals", "tag").hexdigest()[:12]
    return _secret_tags[key]


def _session_check(password: str) -> tuple[str, bool]:
    """(the session auth hash, whether the password is usable) of a password
    hash, as Account.get_session_auth_hash and has_usable_password answer
    them (the hash under the current SECRET_KEY)."""
    return Account(password=password)._get_session_auth_hash(), is_password_usable(password)


def _account(values) -> Account:
    """The account of `_account_values`, with what Django's ModelBackend,
    `Account.role_names` and `organization_scope` read before asking the
    database."""
    fields, roles, user_perms, group_perms, grants, session = values
    account = Account.from_db(router.db_for_read(Account), _FIELDS, fields)
    if session is not None:
        account.remember_session_check(*session)
    _remember_access(account, roles, user_perms, group_perms, grants)
    return account


def _remember_access(account: Account, roles, user_perms, group_perms, grants) -> None:
    """Give the account what ModelBackend, `Account.role_names` and
    `organization_scope` would otherwise read."""
    account._role_names = set(roles)
    account._user_perm_cache = set(user_perms)
    account._group_perm_cache = set(group_perms)
    account._perm_cache = set(user_perms) | set(group_perms)
    remember_grants(account, grants)


def _account_values(account_id, fields: list | None = None):
    """(the account's columns, its role names, its own permissions, its
    roles' permissions, its and its roles' grants as (level, organization
    id, path, include descendants), its session check (`_session_check`)
    or None): what is cached under `principal:<id>:<tag>`. `fields`: the
    columns when they were read already (with the token; then no session
    check); else a statement reads them first. None when the account does
    not exist."""
    session = None
    if fields is None:
        found = _account_row(account_id)
        if found is None:
            return None
        fields, session = found
    record = dict(zip(_FIELDS, fields))
    access = _access_values(account_id, record["is_superuser"], record["is_active"])
    return (tuple(fields), *access, session)


def _account_row(account_id):
    """(the account's columns, its session check); None when it does not exist."""
    connection = _primary()
    rows = fetch(connection, _SQL["account"], [bound_id(account_id, connection)])
    if not rows:
        return None
    *fields, password = rows[0]
    return model_converter(Account, _FIELDS, connection)(fields), _session_check(password)


def _access_values(account_id, is_superuser: bool, is_active: bool):
    """(its role names, its own permissions, its roles' permissions, its and
    its roles' grants as (level, organization id, path, include
    descendants)) of an account, in one statement."""
    connection = _primary()
    account_id = bound_id(account_id, connection)
    if is_superuser:
        rows = fetch(connection, _SQL["superuser details"], [account_id])
    else:
        rows = fetch(connection, _SQL["details"], [account_id] * 5)
    return _access_from_rows(connection, rows, is_superuser, is_active)


def _access_from_rows(connection, rows, is_superuser: bool, is_active: bool):
    """What `_access_values` answers, from the rows of an account's details
    (kind, name, detail, organization id, include descendants), read on
    their own or with its token ("token with details")."""
    found: dict[str, list] = {"role": [], "user": [], "group": [], "every": [], "grant": []}
    for kind, *row in rows:
        found[kind].append(row)
    roles = frozenset(name for name, *_ in found["role"])
    if not is_active:  # ModelBackend's rule: an inactive account holds nothing
        return (roles, frozenset(), frozenset(), ())
    if is_superuser:
        every = _permissions(found["every"])
        return (roles, every, every, ())
    grant = _grant_converter(connection.alias)
    grants = []
    for row in found["grant"]:
        level, path, organization_id, include_descendants = grant(row)
        grants.append((level, organization_id, path, include_descendants))
    return (roles, _permissions(found["user"]), _permissions(found["group"]), tuple(grants))


@lru_cache(maxsize=8)
def _grant_converter(alias: str):
    """`converter` for a grant's details (level, path, organization id,
    include descendants), built once per connection alias: building it
    cost more than converting the rows."""
    return converter([Grant._meta.get_field("level"), Organization._meta.get_field("path"), Organization._meta.pk,
                      Grant._meta.get_field("include_descendants")], connections[alias])


def _permissions(rows) -> frozenset[str]:
    # As Django's ModelBackend names them.
    return frozenset(f"{app}.{codename}" for app, codename, *_ in rows)
