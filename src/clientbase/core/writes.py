"""The one order of every single-object write, whichever door it came
through: the actor's permission, the version the caller read (checked on the
locked row, before anything else is judged: a stale write is a 412 whatever
else is wrong with it, as HTTP's preconditions and the customers services
have it), the object's rules, then the save, with the actor in the object's
history.

Domain services call `create`, `update` and `delete` with their own rules
(`check`); the actor is the acting account, or None for the system (the
demo, migrations, data set up by tests), which may do anything.
"""

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from django.db import router, transaction
from django.db.models import Model
from django.db.models.deletion import Collector

from clientbase.core.permissions import require
from clientbase.core.unique import save_unique
from clientbase.core.versions import ExpectedVersion, check_version, locked

M = TypeVar("M", bound=Model)


def permission(model: type[Model], action: str) -> str:
    """Django's permission for `action` (add, change, delete, view) on `model`."""
    return f"{model._meta.app_label}.{action}_{model._meta.model_name}"


def record_actor(obj: Model, actor) -> None:
    """Name `actor` as the author of `obj`'s next history record
    (django-simple-history reads `_history_user`). The system (None) leaves
    it to the request being served, if any."""
    if actor is not None:
        obj._history_user = actor


def _save(obj: Model, actor, unique: str | None) -> None:
    record_actor(obj, actor)
    if unique:
        save_unique(obj, unique)  # a duplicate lost in a race is a 409 too
    else:
        obj.save()


def create(obj: M, *, actor, check: Callable[[M], None], unique: str | None = None) -> M:
    """Save the new `obj`: Forbidden without the model's add permission,
    then `check(obj)` (which raises the rules' errors), then the save
    (`unique`: the field whose duplicate is a 409)."""
    require(actor, permission(type(obj), "add"))
    check(obj)
    _save(obj, actor, unique)
    return obj


@transaction.atomic
def update(obj: M, changes: Mapping[str, Any], *, actor, check: Callable[[M], None],
           expected_version: ExpectedVersion = None, unique: str | None = None) -> M:
    """Apply `changes` (field → value) to `obj`'s row, locked, and save it;
    answers the saved object. Forbidden without the change permission;
    PreconditionFailed when the row is no longer at `expected_version`; the
    errors of `check`."""
    require(actor, permission(type(obj), "change"))
    obj = locked(obj)
    check_version(obj, expected_version)
    for name, value in changes.items():
        setattr(obj, name, value)
    check(obj)
    _save(obj, actor, unique)
    return obj


@transaction.atomic
def delete(obj: Model, *, actor, expected_version: ExpectedVersion = None) -> None:
    """Delete `obj` with what depends on it (Django's cascade): Forbidden
    unless the actor may delete every kind of thing that goes (a product with
    variants and prices needs delete_product, delete_variant and
    delete_pricerow: Django admin's rule, for every door); PreconditionFailed
    when the row is no longer at `expected_version`."""
    require(actor, permission(type(obj), "delete"))
    obj = locked(obj)
    check_version(obj, expected_version)
    collector = Collector(using=router.db_for_write(type(obj), instance=obj))
    collector.collect([obj])  # ProtectedError if a protecting reference forbids it
    kinds = set(collector.data)
    # Fast deletes are unevaluated querysets; a kind counts only if it has rows.
    kinds |= {qs.model for qs in collector.fast_deletes if qs.exists()}
    # Link rows of many-to-many fields are nothing anyone deletes by themselves.
    require(actor, *sorted(permission(m, "delete") for m in kinds if not m._meta.auto_created))
    record_actor(obj, actor)
    collector.delete()
