"""Optimistic concurrency: a write that was prepared from an old version of an
object is refused (412) and changes nothing."""

from collections.abc import Collection
from typing import TypeVar

from django.db.models import Model

from clientbase.core.errors import NotFound, PreconditionFailed

M = TypeVar("M", bound=Model)

# What a write may expect: one version, any of several (If-Match may list
# more than one), or None (no check).
ExpectedVersion = int | Collection[int] | None


def check_version(obj, expected_version: ExpectedVersion) -> None:
    """412 when `expected_version` is given and is not `obj`'s version (an
    If-Match header may name several versions: any of them will do).

    `obj` should be the row locked for the write, so that no other writer can
    slip in between the check and the save.
    """
    if expected_version is None:
        return
    accepted = {expected_version} if isinstance(expected_version, int) else set(expected_version)
    if obj.version in accepted:
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
