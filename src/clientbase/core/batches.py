"""Batch writes (imports): the outcome of each row, and the history of rows
written with bulk_create/bulk_update, which skip save() and its signals.
`insert_rows` and `update_rows` send `rows_written` instead, where a domain
hangs what must follow any write of its rows (the shared cache's versions:
customers.signals, pricing.signals), as it does on post_save.

A batch service judges every row by the same rules as the single-object
service (permission, scope, invariants), writes the good rows with a few
bulk queries, and answers one `RowOutcome` per input row, in order.
"""

import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from django.db import connections, models, router
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models.fields import AutoFieldMixin
from django.dispatch import Signal
from django.utils import timezone
from simple_history.models import HistoricalRecords

from clientbase.core.errors import DomainError, FieldError
from clientbase.core.models import looks_like_uuid


class RowStatus(models.TextChoices):
    CREATED = "created", "Created"
    UPDATED = "updated", "Updated"
    UNCHANGED = "unchanged", "Unchanged"
    FAILED = "failed", "Failed"


@dataclass
class RowOutcome:
    status: RowStatus
    errors: list[FieldError] = field(default_factory=list)

    @classmethod
    def failed(cls, errors: Iterable[FieldError]) -> "RowOutcome":
        return cls(RowStatus.FAILED, list(errors))

    @classmethod
    def from_error(cls, exc: DomainError, field_name: str = "") -> "RowOutcome":
        """A service's error as a failed row: its field errors, or its detail
        on `field_name` when it names none."""
        return cls.failed(exc.errors or [FieldError(field_name, exc.detail, exc.code)])


# Sent by insert_rows and update_rows once their rows are written, in the
# writer's transaction (a receiver that acts outside the database waits for
# the commit: transaction.on_commit). sender: the model; rows: the objects as
# written; fields: the field names written, None for rows inserted; before:
# for an update, when the writer knows them, each row's values of the fields
# written as they were before (by attname, in the order of `rows`), else None.
rows_written = Signal()


_HISTORY_FIELDS = ("history_id", "history_date", "history_change_reason", "history_type", "history_user_id")


def _connection(model):
    return connections[router.db_for_write(model)]


@models.Field.register_lookup
class AnyOf(models.lookups.In):
    """`field__any_of=values`: what `field__in=values` selects, sent on
    PostgreSQL as one array parameter (`= ANY(%s)`). A batch's thousand keys
    as a thousand placeholders cost the driver (which splits the statement at
    each) and the server (which plans each) more than the rows found."""

    lookup_name = "any_of"

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        _, params = self.process_rhs(compiler, connection)  # the values as the column takes them
        return f"{lhs} = ANY(%s)", [*lhs_params, list(params)]


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """`count` new values of `model`'s auto-increment primary key, for rows
    inserted with their ids given, so that no query reads them back. On
    PostgreSQL drawn from the key's sequence; on SQLite taken by moving the
    table's AUTOINCREMENT counter (`sqlite_sequence`, which SQLite lets one
    write) on by `count`: that write takes the database's write lock until
    the transaction ends, so no other writer is given one of them, and a
    rollback gives them back."""
    if not count:
        return []
    connection = _connection(model)
    table, column = model._meta.db_table, model._meta.pk.column
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                           [table, column, count])
            return [row[0] for row in cursor.fetchall()]
        if connection.vendor != "sqlite":
            raise NotImplementedError(f"reserve_ids on {connection.vendor}")
        # The counter is never below the largest id (SQLite keeps it so); max() makes sure at no cost.
        largest = f"(SELECT coalesce(max({qn(column)}), 0) FROM {qn(table)})"
        cursor.execute(f"UPDATE sqlite_sequence SET seq = max(seq, {largest}) + %s WHERE name = %s", [count, table])
        if not cursor.rowcount:  # no row yet: the table has never had one
            cursor.execute(f"INSERT INTO sqlite_sequence (name, seq) SELECT %s, {largest} + %s", [table, count])
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        last = cursor.fetchone()[0]
    return list(range(last - count + 1, last + 1))


# Fields whose Python values the drivers take as they are (get_db_prep_save
# would only hand them back, at a cost per value).
_AS_IS = (models.CharField, models.TextField, models.BooleanField, models.IntegerField)


def _adapter(field: models.Field, connection) -> Callable[[Any], Any] | None:
    """A function giving what the driver takes for a value of `field` (None:
    the value itself): what `field.get_db_prep_save` gives, without its
    dispatch per value for the common field types."""
    target = field.target_field if field.is_relation else field
    ops = connection.ops
    if type(target).get_db_prep_save is not models.Field.get_db_prep_save:
        pass  # a field of its own making: ask it
    elif isinstance(target, _AS_IS) and type(target).get_db_prep_value in (
            models.Field.get_db_prep_value, models.IntegerField.get_db_prep_value):
        return None
    elif isinstance(target, AutoFieldMixin) and \
            type(connection.ops).validate_autopk_value is BaseDatabaseOperations.validate_autopk_value:
        # An id drawn from the database (reserve_ids, a read) is an int, which the driver takes.
        return lambda value: value if type(value) is int else field.get_db_prep_save(value, connection)
    elif isinstance(target, models.UUIDField):
        if connection.features.has_native_uuid_field:
            return None
        return lambda value: value.hex if isinstance(value, uuid.UUID) else field.get_db_prep_save(value, connection)
    elif isinstance(target, (models.DateTimeField, models.DateField)) and connection.vendor == "postgresql":
        return None  # psycopg takes dates and aware datetimes as they are (as Django's adapters do)
    elif isinstance(target, models.DateTimeField):
        return _same_as_before(lambda value: ops.adapt_datetimefield_value(value) if isinstance(value, datetime)
                               else field.get_db_prep_save(value, connection))
    elif type(target) is models.DateField:
        return lambda value: ops.adapt_datefield_value(value) if isinstance(value, date) \
            else field.get_db_prep_save(value, connection)
    return lambda value: field.get_db_prep_save(value, connection)


def _same_as_before(adapt: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`adapt`, answering at once for the very value it adapted last: a batch's
    rows share their moment (SQLite's datetimes are adapted in Python)."""
    last: list = [object(), None]

    def adapt_once(value):
        if value is not last[0]:
            last[:] = value, adapt(value)
        return last[1]

    return adapt_once


def _prepared(fields: Sequence[models.Field], rows: Iterable[Sequence[Any]], connection) -> Iterator[list[Any]]:
    adapted = [(i, adapt) for i, f in enumerate(fields) if (adapt := _adapter(f, connection)) is not None]
    for row in rows:
        row = list(row)
        for i, adapt in adapted:
            if (value := row[i]) is not None:
                row[i] = adapt(value)
        yield row


def _insert(model: type[models.Model], fields: Sequence[models.Field], rows: Iterable[Sequence[Any]]) -> None:
    """Insert every row of values: with COPY on PostgreSQL, with one INSERT
    statement run for every row (executemany) elsewhere. Django's bulk_create
    compiles every value of every row, which costs more than the database's
    work. A unique value taken fails the whole statement, as an INSERT does."""
    connection = _connection(model)
    qn = connection.ops.quote_name
    table, columns = qn(model._meta.db_table), ", ".join(qn(f.column) for f in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in _prepared(fields, rows, connection):
                    copy.write_row(row)
        else:
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})",
                               list(_prepared(fields, rows, connection)))


def insert_values(model: type[models.Model], field_names: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Insert rows of values for the fields named (attnames such as
    `contact_id` too) in one executemany; for rows whose ids the database
    assigns, and nothing to record in a history (link rows)."""
    rows = list(rows)
    if rows:
        _insert(model, [model._meta.get_field(name) for name in field_names], rows)


def insert_rows(objs: Sequence[models.Model]) -> None:
    """Insert new `objs` (whose primary keys are set, as UUIDs are on
    creation) without save(): their derived fields and timestamps must be
    filled already, and `record_history` be called for a model with history."""
    if not objs:
        return
    model = type(objs[0])
    fields = model._meta.concrete_fields
    _insert(model, fields, map(attrgetter(*(f.attname for f in fields)), objs))
    rows_written.send(sender=model, rows=objs, fields=None, before=None)


def new_objects(model: type[models.Model], count: int) -> Callable[[Mapping[str, Any]], models.Model]:
    """A maker of up to `count` new `model` objects from their fields' values
    (attnames), the others at their defaults, as `model(**values)` makes them
    but cheaper a thousand times over: the defaults looked up once, the object
    built from positional values, and a UUID primary key's values (uuid4) cut
    from one read of the system's randomness rather than one read each."""
    fields = model._meta.concrete_fields
    pk = model._meta.pk
    random_ids = isinstance(pk, models.UUIDField) and pk.default is uuid.uuid4
    randomness = os.urandom(16 * count) if random_ids else b""
    ids = (uuid.UUID(bytes=randomness[i:i + 16], version=4) for i in range(0, len(randomness), 16))
    plan = [(f.attname, f is pk and random_ids, f.get_default if callable(f.default) else None,
             None if callable(f.default) else f.get_default()) for f in fields]

    def make(values: Mapping[str, Any]) -> models.Model:
        return model(*[values[name] if name in values else next(ids) if drawn else call() if call else constant
                       for name, drawn, call, constant in plan])

    return make


def record_history(model: type[models.Model], objs: Sequence[models.Model], *, actor, update: bool,
                   memberships: Mapping[str, Mapping[Any, Sequence[tuple[Any, Any]]]] = {},
                   reason: str = "import") -> None:
    """One history record per object of `objs` (just written in bulk), by
    `actor`, as save() would have recorded it; `memberships` gives, per
    many-to-many field kept in the history, each object's rows after the
    write as (through-row id, target id): the snapshot simple-history takes
    of them; `reason` is the records' change reason. A few statements
    whatever the number of objects."""
    if not objs:
        return
    history_model = model.history.model
    when = timezone.now()
    copied = [f for f in history_model._meta.concrete_fields if f.attname not in _HISTORY_FIELDS]
    own = [history_model._meta.get_field(name) for name in _HISTORY_FIELDS[1:]]
    extra = (when, reason, "~" if update else "+", actor.pk if actor is not None else None)
    values = attrgetter(*(f.attname for f in copied))
    if not memberships:
        _insert(history_model, copied + own, (values(obj) + extra for obj in objs))
        return
    # The records' ids given, for the membership snapshots that point at them.
    reserved = reserve_ids(history_model, len(objs))
    _insert(history_model, [history_model._meta.pk, *copied, *own],
            ((history_id, *values(obj), *extra) for history_id, obj in zip(reserved, objs)))
    records = list(zip(reserved, map(attrgetter(model._meta.pk.attname), objs)))  # (record id, object id)
    m2m_fields = {f.name: f for f in history_model._history_m2m_fields}
    for name, by_object in memberships.items():
        m2m_field = m2m_fields[name]
        snapshot_model = HistoricalRecords.m2m_models[m2m_field]
        fields = [snapshot_model._meta.get_field(f) for f in
                  ("id", "history", m2m_field.m2m_field_name(), m2m_field.m2m_reverse_field_name())]
        _insert(snapshot_model, fields, ((through_id, record_id, pk, target_id) for record_id, pk in records
                                         for through_id, target_id in by_object.get(pk, ())))


def by_refs(queryset: models.QuerySet, refs: Iterable[str]) -> dict[str, Any]:
    """The objects of `queryset` named by `refs` (ids or keys, as the API
    accepts them), by each way they were named; one query. A ref that is not
    in the answer names nothing `queryset` holds."""
    refs = {str(r).strip() for r in refs if r}
    if not refs:
        return {}
    ids = {r: uuid.UUID(r) for r in refs if looks_like_uuid(r)}
    keys = refs - set(ids)
    found: dict[str, Any] = {}
    for obj in queryset.filter(models.Q(key__in=keys) | models.Q(pk__in=list(ids.values()))):
        found[obj.key] = obj
        found[str(obj.pk)] = obj
    return {**{r: found[str(i)] for r, i in ids.items() if str(i) in found},
            **{k: found[k] for k in keys if k in found}}


def update_rows(objs: Sequence[models.Model], fields: Iterable[str],
                before: Sequence[Mapping[str, Any]] | None = None) -> None:
    """Write `fields` of each of `objs` (rows that exist) with one UPDATE
    statement run for every object (executemany): Django's bulk_update builds
    a CASE per field and row, and costs a hundred times more on a batch of a
    thousand. `before`: what the rows held before (rows_written)."""
    if not objs:
        return
    fields = list(fields)
    model = type(objs[0])
    connection = _connection(model)
    columns = [model._meta.get_field(name) for name in fields]
    pk = model._meta.pk
    qn = connection.ops.quote_name
    sql = (f"UPDATE {qn(model._meta.db_table)} SET {', '.join(f'{qn(c.column)} = %s' for c in columns)} "
           f"WHERE {qn(pk.column)} = %s")
    params = _prepared([*columns, pk], ([*(getattr(obj, c.attname) for c in columns), obj.pk] for obj in objs),
                       connection)
    with connection.cursor() as cursor:
        cursor.executemany(sql, list(params))
    rows_written.send(sender=model, rows=objs, fields=fields, before=before)
