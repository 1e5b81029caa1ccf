"""Moments (datetimes) as the application reads them."""

from datetime import datetime, timezone


def aware(moment: datetime | None) -> datetime | None:
    """`moment` with a zone: one without a zone is read as UTC, the API's
    zone (ISO 8601 lets a client leave the offset out). None stays None.

    Every moment a caller gives (a token's expiry, a price row's validity, the
    moment to price at) goes through here before it is compared with a stored
    one, which always has a zone: Python refuses to compare the two kinds."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment
