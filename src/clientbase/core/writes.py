"""The one order of every single-object write, whichever door it came
through: the actor's permission, the version the caller read (checked on the
locked row, before anything else is judged: a stale write is a 412 whatever
else is wrong with it, as HTTP's preconditions and the customers services
have it), the object's rules, then the save, with the actor in the object's
history.

Domain services call `create`, `update` and `delete` with their own rules
(`check`); the actor is the acting account, or None for the system (the
demo, migrations, data set up by tests), which may do anything.

`create_many` and `update_many` are the same order for a batch (imports):
the permission once, the rules per object (`check_many`, which may look up
what the batch names in a few queries), then the objects that pass written
with a few statements and one history record each. They answer one error
per object (None: written) instead of raising.
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from django.db import router, transaction
from django.db.models import Model
from django.db.models.deletion import Collector
from django.utils import timezone

from clientbase.core.batches import insert_rows, record_history, update_rows
from clientbase.core.errors import DomainError, Forbidden, NotFound
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


# A batch's rules: one error (None: none) per object, in order.
BatchCheck = Callable[[Sequence[M]], list[DomainError | None]]


def _denied(actor, model: type[Model], action: str, count: int) -> list[DomainError] | None:
    try:
        require(actor, permission(model, action))
    except Forbidden as exc:
        return [exc] * count
    return None


def _stamp(objs: Sequence[Model], now, *, adding: bool) -> None:
    """Set what save() sets: the timestamps, and the next version of a changed object."""
    model = type(objs[0])
    stamped = [f.attname for f in model._meta.concrete_fields
               if getattr(f, "auto_now", False) or (adding and getattr(f, "auto_now_add", False))]
    versioned = not adding and any(f.attname == "version" for f in model._meta.concrete_fields)
    for obj in objs:
        for name in stamped:
            setattr(obj, name, now)
        if versioned:
            obj.version = (obj.version or 0) + 1


@transaction.atomic
def create_many(objs: Sequence[M], *, actor, check_many: BatchCheck) -> list[DomainError | None]:
    """`create` for a batch of new objects (of one model, with their primary
    keys set): Forbidden for every object without the add permission, else
    the errors of `check_many`; the objects without an error are inserted
    in bulk (no save(), no post_save: `rows_written` instead) with a
    history record each, by `actor`."""
    if not objs:
        return []
    model = type(objs[0])
    if denied := _denied(actor, model, "add", len(objs)):
        return denied
    errors = check_many(objs)
    good = [obj for obj, error in zip(objs, errors) if error is None]
    if good:
        _stamp(good, timezone.now(), adding=True)
        insert_rows(good)
        if hasattr(model, "history"):
            record_history(model, good, actor=actor, update=False, reason="import")
    return errors


@transaction.atomic
def update_many(changes: Sequence[tuple[M, Mapping[str, Any]]], *, actor,
                check_many: BatchCheck, related: Sequence[str] = ()) -> list[DomainError | None]:
    """`update` for a batch of (object, changes) pairs (of one model, each
    object once): Forbidden for every pair without the change permission;
    each row is read again, locked (NotFound for one deleted meanwhile,
    `related` selected with it), given its changes and judged by
    `check_many`; those without an error are written in bulk — the changed
    fields, the next version, the time — with a history record each (and
    `rows_written` knows what the changed fields held before)."""
    if not changes:
        return []
    model = type(changes[0][0])
    if denied := _denied(actor, model, "change", len(changes)):
        return denied
    rows = model._default_manager.select_related(*related).select_for_update(
        **({"of": ("self",)} if related else {})).filter(pk__in=[obj.pk for obj, _ in changes])
    current = {row.pk: row for row in rows}
    errors: list[DomainError | None] = [None] * len(changes)
    judged, where, before = [], [], []
    for index, (obj, fields) in enumerate(changes):
        row = current.get(obj.pk)
        if row is None:
            errors[index] = NotFound(detail=f"The {model._meta.verbose_name} was deleted since you read it.",
                                     code="not_found")
            continue
        attnames = (model._meta.get_field(name).attname for name in fields)
        before.append({attname: getattr(row, attname) for attname in attnames})
        for name, value in fields.items():
            setattr(row, name, value)
        judged.append(row)
        where.append(index)
    for index, error in zip(where, check_many(judged)):
        errors[index] = error
    passed = [index for index, i in enumerate(where) if errors[i] is None]
    good = [judged[index] for index in passed]
    if good:
        _stamp(good, timezone.now(), adding=False)
        names = {name for _, fields in changes for name in fields}
        update_rows(good, sorted(names | {f.name for f in model._meta.concrete_fields
                                          if f.attname == "version" or getattr(f, "auto_now", False)}),
                    before=[before[index] for index in passed])
        if hasattr(model, "history"):
            record_history(model, good, actor=actor, update=True, reason="import")
    return errors


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
