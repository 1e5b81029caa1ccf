"""Batch writes (imports): the outcome of each row, and the history of rows
written with bulk_create/bulk_update, which skip save() and its signals.

A batch service judges every row by the same rules as the single-object
service (permission, scope, invariants), writes the good rows with a few
bulk queries, and answers one `RowOutcome` per input row, in order.
"""

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import models
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


def record_history(model: type[models.Model], objs: Sequence[models.Model], *, actor, update: bool,
                   memberships: Mapping[str, Mapping[Any, Sequence[tuple[Any, Any]]]] = {}) -> None:
    """One history record per object of `objs` (just written in bulk), by
    `actor`, as save() would have recorded it; `memberships` gives, per
    many-to-many field kept in the history, each object's rows after the
    write as (through-row id, target id): the snapshot simple-history takes
    of them. Three inserts whatever the number of objects."""
    if not objs:
        return
    history = model.history.bulk_history_create(list(objs), update=update, default_user=actor,
                                                default_change_reason="import")
    m2m_fields = {f.name: f for f in model.history.model._history_m2m_fields}
    for name, by_object in memberships.items():
        m2m_field = m2m_fields[name]
        snapshot_model = HistoricalRecords.m2m_models[m2m_field]
        source = m2m_field.m2m_field_name() + "_id"
        target = m2m_field.m2m_reverse_field_name() + "_id"
        snapshot_model.objects.bulk_create(
            snapshot_model(**{"id": through_id, "history": record, source: record.id, target: target_id})
            for record in history for through_id, target_id in by_object.get(record.id, ())
        )


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
