"""The visit counter a storefront keeps in a signed cookie: how many visits
this browser made and the last pages it saw. No database row per visitor:
a visit is counted when the browser comes back after VISIT_GAP without a
request. The cookie is signed (a visitor cannot make itself "returning" by
editing it without the secret key) and holds no personal data.
"""

import time
from dataclasses import dataclass

from django.core import signing

VISITOR_COOKIE = "cb_visitor"
SALT = "clientbase.marketing.visits"
VISIT_GAP = 30 * 60  # seconds
MAX_PAGES = 10
MAX_PATH = 200
COOKIE_AGE = 365 * 24 * 3600


@dataclass(frozen=True)
class Visits:
    """visits: this visit included (1 on a first visit); pages: the paths
    seen before this request, most recent first; seen: the epoch seconds of
    the last request."""

    visits: int = 1
    pages: tuple[str, ...] = ()
    seen: int = 0


def read(value: str | None, now: float | None = None) -> Visits:
    """The visits as of this request: a missing, forged or expired cookie is
    a first visit; a request after VISIT_GAP starts the next visit."""
    now = int(now if now is not None else time.time())
    try:
        data = signing.loads(value, salt=SALT, max_age=COOKIE_AGE) if value else None
    except signing.BadSignature:
        data = None
    if not isinstance(data, dict):
        return Visits(1, (), now)
    try:
        visits = max(1, min(int(data.get("v", 1)), 1_000_000))
        seen = int(data.get("t", 0))
        pages = tuple(str(p)[:MAX_PATH] for p in data.get("p", [])[:MAX_PAGES])
    except (TypeError, ValueError):
        return Visits(1, (), now)
    if now - seen > VISIT_GAP:
        visits += 1
    return Visits(visits, pages, now)


def written(visits: Visits, path: str) -> str:
    """The cookie's next value, after a request for `path`."""
    pages = (path[:MAX_PATH], *[p for p in visits.pages if p != path[:MAX_PATH]])[:MAX_PAGES]
    return signing.dumps({"v": visits.visits, "t": visits.seen, "p": list(pages)}, salt=SALT, compress=True)
