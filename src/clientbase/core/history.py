"""Who made a change, in its history record, whichever door it came through."""

from django.db.models import Model


def record_actor(obj: Model, actor) -> None:
    """Name `actor` as the author of `obj`'s next history record
    (django-simple-history reads `_history_user`). The system (None) leaves
    it to the request being served, if any."""
    if actor is not None:
        obj._history_user = actor
