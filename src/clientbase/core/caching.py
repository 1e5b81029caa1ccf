"""Lookups kept in the shared cache, each entry stamped with the versions
of what it was read from; a write bumps those versions after it commits.

A *version* is a number in the cache under `v:<name>` (`contact:<id>`,
`trees`, `prices:sku:<sku>` …), named by the domain that owns the data. An
*entry* holds `(stamp, value)`: the versions of its names as they were read
BEFORE its value was loaded. An entry whose stamp is not the current
versions is never served, so a bump makes every entry that depends on the
name unreachable at once, in every process, and nothing else.

Why this is safe against the obvious races:
- A bump runs after the writer's transaction commits (`bump`): a rolled-back
  change invalidates nothing, and a reader that sees the new version reads
  the committed data.
- A reader that loaded old data while the writer was committing stored it
  under the old stamp, which the bump has already made stale.
- A version that disappears (eviction, a restarted Redis) comes back as a
  fresh number (the clock's nanoseconds) that no stamp holds.
- Inside a transaction (`in_atomic_block`) nothing is read from or written
  to the cache: that transaction may hold uncommitted changes whose bump is
  still pending, or roll back.

Without a shared cache (no CACHE_URL: Django's per-process memory), entries
are not kept at all: `cached` loads every time. A bump in one gunicorn worker
would never reach the others, and a revoked token or a changed price must
stop at once everywhere. `held` keeps marketing definitions in process
memory (not security-relevant), validated by their version when the cache is
shared, re-read every UNSHARED_TTL seconds otherwise.
"""

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction

from clientbase.core.routing import primary_reads

log = logging.getLogger("clientbase.cache")

T = TypeVar("T")

# How long an entry lives at most. Versions make entries unreachable at once;
# the TTL only bounds memory, and the damage a lost bump (Redis unreachable
# at commit) could do.
TTL = 300
VERSION = "v:"
ENTRY = "c:"
# `held` without a shared cache: how stale marketing definitions may be.
UNSHARED_TTL = 5.0


def shared() -> bool:
    """Whether the cache is shared by every process (CACHE_URL: Redis), as
    opposed to Django's per-process memory."""
    backend = settings.CACHES["default"]["BACKEND"].lower()
    return "locmem" not in backend and "dummy" not in backend


def _fresh() -> int:
    return time.time_ns()


def versions(names: Sequence[str]) -> tuple[int, ...]:
    """The current versions of `names`, in order; a missing one is started at
    a fresh number."""
    keys = [VERSION + n for n in names]
    found = cache.get_many(keys)
    return _complete(keys, found)


def _complete(keys: Sequence[str], found: dict[str, Any]) -> tuple[int, ...]:
    missing = [k for k in keys if found.get(k) is None]
    if missing:
        for key in missing:
            cache.add(key, _fresh(), timeout=None)
        found = {**found, **cache.get_many(missing)}
    return tuple(found[k] for k in keys)


def bump_now(*names: str) -> None:
    """Move each version on, at once. Errors are logged, not raised: the
    write they follow has committed."""
    for name in dict.fromkeys(names):
        key = VERSION + name
        try:
            try:
                cache.incr(key)
            except ValueError:  # never read yet, or evicted: any fresh number will do
                cache.set(key, _fresh(), timeout=None)
        except Exception:  # noqa: BLE001 - the data changed; entries expire within TTL
            log.exception("cache: could not bump %s; entries depending on it expire within %s s", name, TTL)


def bump(*names: str) -> None:
    """Move each version on when the current transaction commits (at once
    outside one); nothing when it rolls back."""
    if names:
        names = tuple(dict.fromkeys(names))
        transaction.on_commit(lambda: bump_now(*names))


def usable() -> bool:
    """Whether entries may be read and written now: a shared cache, and no
    transaction open on the default database (see the module's docstring)."""
    return shared() and not connection.in_atomic_block


def _entry_key(key: str) -> str:
    return ENTRY + key


def cached(key: str, deps: Sequence[str], load: Callable[[], T], timeout: float = TTL) -> T:
    """The value under `key` if its stamp is the current versions of
    `deps`; else `load()`, stored (unless None) under the versions read
    before loading. One round trip to the cache when the entry is good."""
    if not usable():
        return load()
    return cached_many([key], deps, lambda missing: {key: load()}, timeout)[key]


def cached_many(keys: Iterable[str], deps: Sequence[str], load: Callable[[list[str]], dict[str, Any]],
                timeout: float = TTL, *, key_deps: Callable[[str], Sequence[str]] = lambda key: (),
                until: Callable[[Any], float | None] = lambda value: None) -> dict[str, Any]:
    """Several entries at once, in one round trip when all are good: each
    key's entry depends on `deps` and on `key_deps(key)`; `load(missing
    keys)` answers the values of the others (by key), which are stored.
    `until(value)`: a moment (time.time()) after which the value is no longer
    true whatever the versions (a price row's validity ending), or None."""
    keys = list(dict.fromkeys(keys))
    if not usable():
        return load(keys)
    per_key = {k: [VERSION + d for d in (*deps, *key_deps(k))] for k in keys}
    version_keys = list(dict.fromkeys(v for vs in per_key.values() for v in vs))
    try:
        found = cache.get_many([*(_entry_key(k) for k in keys), *version_keys])
    except Exception:  # noqa: BLE001 - without the cache the database answers
        log.exception("cache: read failed; loading from the database")
        return load(keys)
    now = time.time()
    result, missing = {}, []
    for k in keys:
        entry = found.get(_entry_key(k))
        stamp = tuple(found.get(v) for v in per_key[k])
        if entry is not None and None not in stamp and entry[0] == stamp and (entry[2] is None or now < entry[2]):
            result[k] = entry[1]
        else:
            missing.append(k)
    if not missing:
        return result
    # The versions as they were BEFORE loading: a write committing while we
    # load bumps past them, so what we store is stale at once, never served.
    try:
        current = dict(zip(version_keys, _complete(version_keys, found)))
    except Exception:  # noqa: BLE001
        log.exception("cache: read failed; loading from the database")
        return {**result, **load(missing)}
    # What is stored must be read on the primary: a lagging replica would
    # hand back a row older than the versions it is stored under.
    with primary_reads():
        loaded = load(missing)
    entries = {}
    for k in missing:
        value = loaded[k]
        result[k] = value
        if value is None:  # nothing found is not kept: nobody fills the cache with misses
            continue
        ends = until(value)
        life = timeout if ends is None else min(timeout, ends - now)
        if life > 0:
            entries[_entry_key(k)] = (tuple(current[v] for v in per_key[k]), value, ends)
    if entries:
        try:
            cache.set_many(entries, timeout=timeout)
        except Exception:  # noqa: BLE001
            log.exception("cache: write failed")
    return result


# What this process last read, by key: (versions, when, value). A shared
# cache (Redis) hands back a copy to unpickle on every get, which for large
# definitions (50 visitor groups) costs more than using them.
_HELD: dict[str, tuple[tuple[int, ...], float, object]] = {}


def held(key: str, deps: Sequence[str], load: Callable[[], T]) -> T:
    """The value under `key` for the current versions of `deps`: this
    process's copy, else the shared cache's, else `load()`. Without a shared
    cache the versions are this process's own, so a copy is read again after
    UNSHARED_TTL seconds (a write in another process cannot bump them):
    for data that may be a few seconds stale, never for who may do what."""
    current, now, is_shared = versions(deps), time.monotonic(), shared()
    copy = _HELD.get(key)
    if copy is not None and copy[0] == current and (is_shared or now - copy[1] < UNSHARED_TTL):
        return copy[2]
    if is_shared:
        entry_key = _entry_key(f"{key}:{':'.join(map(str, current))}")
        value = cache.get(entry_key)
        if value is None:
            with primary_reads():
                value = load()
            cache.set(entry_key, value, timeout=3600)
    else:
        value = load()
    _HELD[key] = (current, now, value)
    return value
