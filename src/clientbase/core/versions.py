"""Optimistic concurrency: a write that was prepared from an old version of an
object is refused (412) and changes nothing."""

from collections.abc import Collection

from clientbase.core.errors import PreconditionFailed


def check_version(obj, expected_version: int | Collection[int] | None) -> None:
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
