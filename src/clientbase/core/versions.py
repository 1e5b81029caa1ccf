"""Optimistic concurrency: a write names the version it read, and is refused
when the object has moved on since.

The API reads the version from If-Match, the back office from the version its
form was rendered with; both hand it to the service, which compares it with
the row it has locked.
"""

from django.db.models import Model

from clientbase.core.errors import PreconditionFailed


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
