"""The checks every customers write starts with, in DESIGN's order:
permission, scope (through the models' `visible_to`), then the version."""

from django.db.models import Model

from clientbase.core.errors import Forbidden, NotFound
from clientbase.core.permissions import require
from clientbase.core.versions import ExpectedVersion, check_version
from clientbase.core.writes import record_actor
from clientbase.customers.models import GrantLevel


def is_unrestricted(actor) -> bool:
    """The system (None) and administrators: no organization limits their writes."""
    return actor is None or actor.sees_everything


def view_only(obj) -> Forbidden:
    """The refusal of a write to `obj`, which the actor sees but does not
    manage (single writes raise it; batches report its message on a row)."""
    return Forbidden(detail=f"You may view {obj} but not change it.", code="forbidden")


def lock_for_change(obj: Model, actor, perm: str, expected_version: ExpectedVersion = None) -> Model:
    """`obj`'s row, locked for a write by `actor`, which must hold `perm`.

    Raises Forbidden (403) when `actor` may see the object but not manage it
    (the caller has already found it among what `actor` sees: an invisible
    object is the door's 404), and PreconditionFailed (412) when
    `expected_version` is given and stale. Returns the locked row, with
    `actor` as the author of its next history record.
    """
    require(actor, perm)
    model = type(obj)
    rows = (model._default_manager.all() if actor is None
            else model._default_manager.visible_to(actor, GrantLevel.MANAGE))
    locked = rows.select_for_update().filter(pk=obj.pk).first()
    if locked is None:
        if actor is None or not model._default_manager.filter(pk=obj.pk).exists():
            raise NotFound(detail=f"No {model._meta.verbose_name} '{obj}'.", code="not_found")
        raise view_only(obj)
    check_version(locked, expected_version)
    record_actor(locked, actor)  # its history names the actor outside a request too (the CLI, imports)
    return locked

