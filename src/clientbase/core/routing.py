"""Reads to read replicas, writes to the primary, and a customer's own
change never read back stale (DATABASE_REPLICA_URLS; docs/scaling.md,
"Read replicas").

Only reads made while serving an HTTP request go to a replica (the
middleware opens a *read scope* per request); the CLI, background jobs,
migrations and anything else outside a request read the primary. Inside a
request a read goes to the primary when:

1. its model is one that decides who the caller is and what they may do, or
   is per-visitor state changed and read back within seconds
   (`PRIMARY_MODELS`: sessions, accounts, roles, grants, tokens, login
   throttles, carts, import jobs);
2. the request already wrote (any statement on the primary other than a
   read: seen by an execute wrapper on the primary's connection);
3. it runs inside a transaction (`atomic`), where a read usually decides a
   write; `select_for_update` is a write to Django and always goes to the
   primary;
4. the client wrote within the last REPLICA_PIN_SECONDS: by a signed
   cookie set on the response of a writing request (browsers, anonymous
   visitors included), and by a key in the shared cache per acting account
   (`replica-pin:<account id>`), which a token client without cookies and
   the same customer on another device both carry;
5. code asked for it (`primary_reads()`, e.g. a cache fill: a row read from
   a replica a moment behind must not be cached as the current one);
6. no replica is usable: each is checked at most every
   REPLICA_CHECK_SECONDS, and one that has not replayed the primary's WAL
   position of REPLICA_PIN_SECONDS ago (or does not answer) is skipped.

Rule 6 is what makes the pin window sufficient: a replica that is read has
every commit older than the window, and a client that wrote stays on the
primary for that window.
"""

import functools
import math
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.signing import BadSignature
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.http import HttpRequest, HttpResponse

# Who the caller is and what they may do is never decided on a stale row; a
# cart or an import's progress is read back by the one who just changed it.
PRIMARY_MODELS = frozenset({
    "sessions.session",
    "customers.account", "customers.account_groups", "customers.account_user_permissions",
    "customers.apitoken", "customers.grant", "customers.roleversion", "customers.attempt",
    "auth.group", "auth.group_permissions", "auth.permission", "contenttypes.contenttype",
    "axes.accessattempt", "axes.accessattemptexpiration", "axes.accessfailurelog", "axes.accesslog",
    "shopping.cart", "shopping.cartline",
    "transfer.importjob", "django_tasks_database.dbtaskresult",
})

PIN_COOKIE = "clientbase_primary"
_PIN_SALT = "clientbase.core.routing"
# Statements that only read; anything else on the primary counts as a write
# (a false alarm only costs primary reads). A WITH query (the resolver's)
# reads unless one of its parts changes rows.
_READ_ONLY_STARTS = ("SELECT", "SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT", "SHOW", "EXPLAIN",
                     "VALUES")
_LOCKING = (" FOR UPDATE", " FOR NO KEY UPDATE", " FOR SHARE", " FOR KEY SHARE")
_CHANGING = re.compile(r"\b(INSERT|UPDATE|DELETE|MERGE)\b", re.IGNORECASE)


def replica_aliases() -> list[str]:
    """The DATABASES aliases of the configured read replicas (may be empty)."""
    return getattr(settings, "DATABASE_REPLICAS", [])


def pin_seconds() -> float:
    return float(getattr(settings, "REPLICA_PIN_SECONDS", 10))


@dataclass
class _ReadScope:
    """What the router knows about the request being served."""

    request: HttpRequest | None
    primary: Any = None  # this thread's connection to the primary (Django keeps one per thread)
    wrote: bool = False
    cookie_pinned: bool = False
    primary_depth: int = 0
    replica: str | None = None
    pinned_accounts: dict = field(default_factory=dict)  # account pk → pinned?


_scope: ContextVar[_ReadScope | None] = ContextVar("clientbase_read_scope", default=None)


def _pin_key(account_pk) -> str:
    return f"replica-pin:{account_pk}"


def _acting_account(scope: _ReadScope):
    """The authenticated account of the request, or None. Evaluating a lazy
    `request.user` reads sessions and accounts, which are primary models:
    the router never recurses into itself here."""
    user = getattr(scope.request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    return user


def _account_pinned(scope: _ReadScope) -> bool:
    account = _acting_account(scope)
    if account is None:
        return False
    if account.pk not in scope.pinned_accounts:
        scope.pinned_accounts[account.pk] = caches["default"].get(_pin_key(account.pk)) is not None
    return scope.pinned_accounts[account.pk]


def is_write(sql: str) -> bool:
    """Whether `sql` may change data or take row locks on the primary."""
    if not isinstance(sql, str):
        return True
    head = sql.lstrip()[:9].upper()
    if head.startswith("WITH"):
        return _CHANGING.search(sql) is not None or any(lock in sql for lock in _LOCKING)
    if not head.startswith(_READ_ONLY_STARTS):
        return True
    # Django writes its locking clauses in capitals, as does the raw SQL here.
    return any(lock in sql for lock in _LOCKING)


def _note_writes(execute, sql, params, many, context):
    scope = _scope.get()
    if scope is not None and not scope.wrote and is_write(sql):
        scope.wrote = True
    return execute(sql, params, many, context)


@contextmanager
def read_scope(request: HttpRequest | None) -> Iterator[_ReadScope]:
    """Serve `request`'s reads by the rules above; answers the scope (whether
    the request wrote). The middleware opens one per request."""
    primary = connections[DEFAULT_DB_ALIAS]
    scope = _ReadScope(request=request, primary=primary, cookie_pinned=_cookie_pinned(request))
    token = _scope.set(scope)
    try:
        with primary.execute_wrapper(_note_writes):
            yield scope
    finally:
        _scope.reset(token)


@contextmanager
def primary_reads() -> Iterator[None]:
    """Every read inside goes to the primary (e.g. filling a cache entry)."""
    scope = _scope.get()
    if scope is None:
        yield
        return
    scope.primary_depth += 1
    try:
        yield
    finally:
        scope.primary_depth -= 1


@contextmanager
def bookkeeping_writes() -> Iterator[None]:
    """Writes inside do not make the request one that wrote (rule 2), nor
    pin its client: bookkeeping nobody reads back within seconds (when a
    token was last used), which would otherwise send every read of the
    request, and the client's next ones, to the primary."""
    scope = _scope.get()
    if scope is None:
        yield
        return
    wrote = scope.wrote
    try:
        yield
    finally:
        scope.wrote = wrote


def _cookie_pinned(request: HttpRequest | None) -> bool:
    if request is None or PIN_COOKIE not in request.COOKIES:
        return False
    try:
        # max_age checks the signed timestamp: a kept or replayed cookie
        # expires with the window whatever the browser does.
        request.get_signed_cookie(PIN_COOKIE, salt=_PIN_SALT, max_age=pin_seconds())
    except (BadSignature, KeyError):
        return False
    return True


def pin_client(request: HttpRequest, response: HttpResponse | None, scope: _ReadScope) -> None:
    """After a writing request: its client and acting account read the
    primary for REPLICA_PIN_SECONDS."""
    window = math.ceil(pin_seconds())
    accounts = set(scope.pinned_accounts)
    if (account := _acting_account(scope)) is not None:
        accounts.add(account.pk)
    if accounts:
        caches["default"].set_many({_pin_key(pk): 1 for pk in accounts}, timeout=window)
    if response is not None:
        response.set_signed_cookie(PIN_COOKIE, "1", salt=_PIN_SALT, max_age=window,
                                   httponly=True, samesite="Lax", secure=settings.SESSION_COOKIE_SECURE)


class ReadReplicaMiddleware:
    """Opens a read scope per request and pins a client that wrote."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not replica_aliases():
            return self.get_response(request)
        response = None
        with read_scope(request) as scope:
            try:
                response = self.get_response(request)
            finally:
                if scope.wrote:
                    pin_client(request, response, scope)
        return response


# --- Which replica -------------------------------------------------------------------


class _ReplicaHealth:
    """Per process: up to when each replica is known to hold every commit.

    Each check reads the primary's WAL position and the replica's replayed
    position; the replica holds every commit made before the latest earlier
    check whose primary position it has replayed. Keeping the samples of the
    last window lets a replica with a steady, small lag stay usable."""

    def __init__(self):
        self._lock = threading.Lock()
        self._samples: deque[tuple[float, int]] = deque()  # (time, primary LSN)
        self._caught_up: dict[str, float] = {}
        self._checked: dict[str, float] = {}

    def reset(self) -> None:
        with self._lock:
            self._samples.clear()
            self._caught_up.clear()
            self._checked.clear()

    def usable(self, alias: str) -> bool:
        if connections[alias].vendor != "postgresql":
            return True  # a test mirror of the embedded database: nothing lags
        now = time.monotonic()
        every = float(getattr(settings, "REPLICA_CHECK_SECONDS", 1))
        if now - self._checked.get(alias, float("-inf")) >= every:
            self._check(alias, now)
        return now - self._caught_up.get(alias, float("-inf")) <= pin_seconds()

    def _check(self, alias: str, now: float) -> None:
        self._checked[alias] = now
        try:
            with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
                cursor.execute("SELECT pg_current_wal_lsn() - '0/0'")
                primary = int(cursor.fetchone()[0])
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT pg_last_wal_replay_lsn() - '0/0'")
                replayed = cursor.fetchone()[0]
        except DatabaseError:
            connections[alias].close()  # reconnect on the next check
            return
        with self._lock:
            self._samples.append((now, primary))
            while self._samples and now - self._samples[0][0] > 2 * pin_seconds():
                self._samples.popleft()
            if replayed is None:  # not a standby (promoted, or a plain copy): never lags
                self._caught_up[alias] = now
                return
            held = [t for t, lsn in self._samples if lsn <= int(replayed)]
            if held:
                self._caught_up[alias] = max(held)


health = _ReplicaHealth()


def _choose_replica(scope: _ReadScope) -> str:
    """The replica serving this request's reads (one per request, so that a
    list and its details agree), or the primary when none is usable."""
    if scope.replica is None:
        usable = [alias for alias in replica_aliases() if health.usable(alias)]
        scope.replica = random.choice(usable) if usable else DEFAULT_DB_ALIAS
    return scope.replica


@functools.cache
def _primary_model(model) -> bool:
    return model._meta.label_lower in PRIMARY_MODELS


class ReadReplicaRouter:
    """Django's database router for DATABASE_REPLICA_URLS (rules above)."""

    def db_for_read(self, model, **hints) -> str:
        scope = _scope.get()
        if (scope is None or scope.wrote or scope.cookie_pinned or scope.primary_depth
                or not replica_aliases() or _primary_model(model)
                or scope.primary.in_atomic_block or _account_pinned(scope)):
            return DEFAULT_DB_ALIAS
        return _choose_replica(scope)

    def db_for_write(self, model, **hints) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool | None:
        # A replica holds the primary's rows: an object read from either may
        # refer to one read from the other.
        same_data = {DEFAULT_DB_ALIAS, *replica_aliases()}
        return True if {obj1._state.db, obj2._state.db} <= same_data else None

    def allow_migrate(self, db: str, app_label: str, model_name=None, **hints) -> bool:
        return db == DEFAULT_DB_ALIAS
