"""Customer groups in batches (imports): upsert by key, parents named by key,
each row through `create_customer_group` or `update_customer_group` (the
tree's lock and cycle check), with the lookups done once per batch. Group
files are small: a shop has tens or hundreds of groups."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from clientbase.core.batches import RowOutcome, RowStatus, by_refs
from clientbase.core.errors import DomainError, FieldError
from clientbase.customers.models import CustomerGroup
from clientbase.customers.services.groups import create_customer_group, update_customer_group
from clientbase.customers.services.organization_batches import UNKNOWN_PARENT
from clientbase.customers.services.trees import parents_first


@dataclass
class CustomerGroupRow:
    """One group to create or change, by `key`; `fields` holds any of name
    and description; `parent` (an id or key, None: a root) moves it only
    with `parent_given`."""

    key: str | None
    fields: Mapping[str, Any] = field(default_factory=dict)
    parent: str | None = None
    parent_given: bool = False


@transaction.atomic
def upsert_customer_groups(rows: Sequence[CustomerGroupRow], *, actor) -> list[RowOutcome]:
    """As `upsert_organizations`, for customer groups (shop-wide: no scope,
    only the permissions add_customergroup and change_customergroup)."""
    outcomes: list[RowOutcome | None] = [None] * len(rows)
    existing = by_refs(CustomerGroup.objects.all(), {row.key for row in rows if row.key})
    known = by_refs(CustomerGroup.objects.all(), {row.parent for row in rows if row.parent_given and row.parent})
    for i in parents_first([(row.key, row.parent if row.parent_given else None) for row in rows]):
        outcomes[i] = _upsert(rows[i], actor, existing, known)
    return outcomes


def _upsert(row: CustomerGroupRow, actor, existing: dict, known: dict) -> RowOutcome:
    errors: list[FieldError] = []
    if not row.key:
        errors.append(FieldError("key", "A key is required: rows are matched by key.", "required"))
    parent = None
    if row.parent_given and row.parent:
        parent = known.get(row.parent)
        if parent is None:
            errors.append(FieldError("parent", f"No customer group with key '{row.parent}'.", UNKNOWN_PARENT))
    group = existing.get(row.key)
    if group is None and not (row.fields.get("name") or "").strip():
        errors.append(FieldError("name", "A name is required for a new customer group.", "required"))
    if errors:
        return RowOutcome.failed(errors)
    try:
        with transaction.atomic():
            if group is None:
                group = create_customer_group(actor=actor, key=row.key, parent=parent, **row.fields)
                status = RowStatus.CREATED
            else:
                changes = {name: value for name, value in row.fields.items() if getattr(group, name) != value}
                moving = row.parent_given and (parent.pk if parent else None) != group.parent_id
                if not (changes or moving):
                    return RowOutcome(RowStatus.UNCHANGED)
                group = update_customer_group(group, actor=actor, changes=changes, parent=parent,
                                              parent_given=moving)
                status = RowStatus.UPDATED
    except DomainError as exc:
        return RowOutcome.from_error(exc, "key")
    known[row.key] = group
    existing[row.key] = group
    return RowOutcome(status)
