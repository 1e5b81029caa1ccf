"""Whether the parts clientbase needs answer: each database, the cache and
the job queue. Each check answers None when the part answered, or a short
reason (one line, secrets blanked) when it did not."""

import re
import uuid
from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.db import connections

# How long a check waits for Redis before calling it unreachable.
REDIS_TIMEOUT_SECONDS = 2
MAX_REASON = 200
_URL_PASSWORD = re.compile(r"(\w+://[^/\s:@]*:)[^@\s]*@")


def _secrets() -> set[str]:
    """Passwords the configuration holds: never shown in a reason."""
    found = {db.get("PASSWORD") or "" for db in settings.DATABASES.values()}
    urls = [c.get("LOCATION") for c in settings.CACHES.values()]
    urls += [q.get("URL") for q in getattr(settings, "RQ_QUEUES", {}).values()]
    for url in urls:
        for one in url if isinstance(url, (list, tuple)) else [url]:
            if isinstance(one, str):
                found.add(urlsplit(one).password or "")
    return {s for s in found if s}


def reason(exc: BaseException) -> str:
    """`ExceptionName: first line of its message`, with passwords blanked."""
    lines = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    text = _URL_PASSWORD.sub(r"\1***@", text)
    for secret in _secrets():
        text = text.replace(secret, "***")
    return text[:MAX_REASON]


def _database(alias: str) -> Callable[[], None]:
    def check() -> None:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    return check


def _cache() -> None:
    key = f"readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=10)
    try:
        if cache.get(key) != "1":
            raise RuntimeError("the cache did not give back what was just stored")
    finally:
        cache.delete(key)


def redis_for_queue(queue: str = "default"):
    """A Redis client for an RQ queue, from RQ_QUEUES (as django-rq reads it)."""
    import redis

    return redis.Redis.from_url(settings.RQ_QUEUES[queue]["URL"], socket_timeout=REDIS_TIMEOUT_SECONDS,
                                socket_connect_timeout=REDIS_TIMEOUT_SECONDS)


def _queue() -> None:
    if settings.TASKS_BACKEND == "db":
        from django_tasks_db.models import DBTaskResult

        list(DBTaskResult.objects.values_list("pk", flat=True)[:1])
    elif settings.TASKS_BACKEND == "rq":
        redis_for_queue().ping()
    # "immediate": jobs run in the request; nothing to ask.


def checks() -> dict[str, Callable[[], None]]:
    """Each part by name: `database:<alias>` for every configured database
    (replicas too), `cache`, `queue`."""
    found = {f"database:{alias}": _database(alias) for alias in settings.DATABASES}
    found["cache"] = _cache
    found["queue"] = _queue
    return found


def failures() -> tuple[list[str], dict[str, str]]:
    """(every part checked, {part: reason} for those that did not answer)."""
    parts = checks()
    failed = {}
    for name, check in parts.items():
        try:
            check()
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready", with its reason
            failed[name] = reason(exc)
    return list(parts), failed


def queue_depth() -> dict[str, int]:
    """Jobs waiting to run, by queue: the database queue's READY jobs, or each
    RQ queue's length; empty for the immediate backend."""
    queues = settings.TASKS["default"].get("QUEUES") or ["default"]
    if settings.TASKS_BACKEND == "db":
        from django.db.models import Count
        from django_tasks_db.models import DBTaskResult

        counted = {row["queue_name"]: row["n"] for row in
                   DBTaskResult.objects.ready().order_by().values("queue_name").annotate(n=Count("pk"))}
        return {name: counted.get(name, 0) for name in {*queues, *counted}}
    if settings.TASKS_BACKEND == "rq":
        from rq import Queue

        connection = redis_for_queue()
        return {name: Queue(name, connection=connection).count for name in queues}
    return {}
