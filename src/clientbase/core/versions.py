"""Optimistic concurrency: a write names the version it read, and is refused
when the object has moved on since.

The API reads the version from If-Match, the back office from the version its
form was rendered with; both hand it to the service, which compares it with
the row it has locked.
"""

from typing import TypeVar

from django.db.models import Model

from clientbase.core.errors import NotFound, PreconditionFailed

M = TypeVar("M", bound=Model)


def check_version(obj: Model, expected_version: int | None) -> None:
    """Raise PreconditionFailed (412, code "stale_version") when `obj` (the
    locked row) is not at `expected_version`; None expects nothing."""
    if expected_version is None or obj.version == expected_version:
        return
    raise PreconditionFailed(
        detail=f"The {obj._meta.verbose_name} changed since you read it "
               f"(now version {obj.version}); read it again and retry.",
        code="stale_version",
    )


def locked(obj: M) -> M:
    """`obj`'s row read again and locked (SELECT … FOR UPDATE) until the
    transaction ends: what a write checks and saves, so that a concurrent
    writer waits instead of being overwritten. NotFound if it was deleted
    since it was read."""
    row = type(obj)._default_manager.select_for_update().filter(pk=obj.pk).first()
    if row is None:
        raise NotFound(detail=f"The {obj._meta.verbose_name} was deleted since you read it.",
                       code="not_found")
    return row
