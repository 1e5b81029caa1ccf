"""Organizations in batches (imports): upsert many organizations by key,
parents named by key, each row through `create_organization` or
`update_organization` — every rule of a single write, the tree's lock and
cycle check included — with the lookups done once per batch.

Organization files are small next to contact files (thousands of rows, not
millions), and every new child takes the tree's lock to compute its path:
row by row through the single-object services is the right cost here.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from clientbase.core.batches import RowOutcome, RowStatus, by_refs
from clientbase.core.errors import DomainError, FieldError
from clientbase.customers.models import CustomerGroup, Organization
from clientbase.customers.services.organizations import create_organization, update_organization
from clientbase.customers.services.trees import parents_first

UNKNOWN_PARENT = "unknown_parent"


@dataclass
class OrganizationRow:
    """One organization to create or change, by `key`. `fields` holds any of
    name and kind; `parent` is an id or key (None: a root) and moves the
    organization only with `parent_given`; `customer_groups` are ids or keys and
    replace the organization's groups when given."""

    key: str | None
    fields: Mapping[str, Any] = field(default_factory=dict)
    parent: str | None = None
    parent_given: bool = False
    customer_groups: Sequence[str] | None = None


def _visible(actor):
    return Organization.objects.all() if actor is None else Organization.objects.visible_to(actor)


@transaction.atomic
def upsert_organizations(rows: Sequence[OrganizationRow], *, actor) -> list[RowOutcome]:
    """Create the organizations whose key is new, change (and move) those
    whose key exists; one outcome per row, in order. A row may name as its
    parent another row of the batch, before or after it. A parent key found
    neither among the organizations `actor` sees nor in the batch fails the
    row with the code `unknown_parent` (the caller may offer it again once
    that parent exists); a move under its own descendant fails with `cycle`.
    """
    outcomes: list[RowOutcome | None] = [None] * len(rows)
    keys = {row.key for row in rows if row.key}
    existing = {o.key: o for o in Organization.objects.filter(key__in=keys)} if keys else {}
    visible = {o.key for o in _visible(actor).filter(key__in=list(existing))} if existing else set()
    parent_keys = {row.parent for row in rows if row.parent_given and row.parent}
    known = by_refs(_visible(actor), parent_keys)
    groups = by_refs(CustomerGroup.objects.all(), {k for row in rows for k in row.customer_groups or ()})

    # Parents the actor cannot see: an empty parent in its file leaves them
    # (its export showed none), as a contact keeps memberships it cannot see.
    parent_ids = {o.parent_id for o in existing.values() if o.parent_id}
    hidden_parents = parent_ids - set(_visible(actor).filter(pk__in=parent_ids).values_list("pk", flat=True))
    # A row whose parent is another row of the batch comes after it.
    for i in parents_first([(row.key, row.parent if row.parent_given else None) for row in rows]):
        outcomes[i] = _upsert(rows[i], actor, existing, visible, known, groups, hidden_parents)
    return outcomes


def _upsert(row: OrganizationRow, actor, existing: dict, visible: set, known: dict, groups: dict,
            hidden_parents: set) -> RowOutcome:
    errors: list[FieldError] = []
    if not row.key:
        errors.append(FieldError("key", "A key is required: rows are matched by key.", "required"))
    parent = None
    if row.parent_given and row.parent:
        parent = known.get(row.parent)
        if parent is None:
            errors.append(FieldError("parent", f"No organization with key '{row.parent}'.", UNKNOWN_PARENT))
    missing = [k for k in row.customer_groups or () if k not in groups]
    if missing:
        errors.append(FieldError("customer_groups", f"No customer group with key '{missing[0]}'.",
                                 "unknown_reference"))
    org = existing.get(row.key)
    if org is not None and row.key not in visible:
        errors.append(FieldError("key", f"An organization with key '{row.key}' already exists.", "duplicate_key"))
    if org is None and not row.fields.get("name"):
        errors.append(FieldError("name", "A name is required for a new organization.", "required"))
    if errors:
        return RowOutcome.failed(errors)
    wanted_groups = [groups[k] for k in row.customer_groups] if row.customer_groups is not None else None
    try:
        with transaction.atomic():
            if org is None:
                org = create_organization(actor=actor, key=row.key, parent=parent,
                                          customer_groups=wanted_groups, **row.fields)
                status = RowStatus.CREATED
            else:
                changes = {name: value for name, value in row.fields.items() if getattr(org, name) != value}
                if wanted_groups is not None and {g.pk for g in wanted_groups} == set(
                        org.customer_groups.values_list("pk", flat=True)):
                    wanted_groups = None
                moving = row.parent_given and (parent.pk if parent else None) != org.parent_id and not (
                    parent is None and org.parent_id in hidden_parents)
                if not (changes or wanted_groups is not None or moving):
                    return RowOutcome(RowStatus.UNCHANGED)
                org = update_organization(org, actor=actor, changes=changes, customer_groups=wanted_groups,
                                          parent=parent, parent_given=moving)
                status = RowStatus.UPDATED
    except DomainError as exc:
        return RowOutcome.from_error(exc, "key")
    known[row.key] = org
    return RowOutcome(status)
