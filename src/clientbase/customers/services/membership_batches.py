"""Memberships in batches (imports): add or remove many single memberships —
a contact in an organization, a contact in a customer group, an
organization in a customer group — each through the single-membership
services (`add_to_organization`, `remove_from_organization`,
`add_to_customer_group`, `remove_from_customer_group`, and
`update_organization` for an organization's groups): their permission,
manage scope and "stays managed" rules, with the lookups done once per batch.

Each membership is one row naming two of contact, organization and
customer group by id or key, among what the actor sees: a contact or an
organization it cannot see is reported like one that does not exist.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction

from clientbase.core.batches import RowOutcome, RowStatus, by_refs
from clientbase.core.errors import DomainError, FieldError
from clientbase.customers.models import Contact, CustomerGroup, Organization
from clientbase.customers.services.contacts import (
    add_to_customer_group, add_to_organization, remove_from_customer_group, remove_from_organization,
)
from clientbase.customers.services.organizations import update_organization

CONTACT_ORGANIZATION = ("contact", "organization")
CONTACT_GROUP = ("contact", "customer_group")
ORGANIZATION_GROUP = ("organization", "customer_group")
KINDS = (CONTACT_ORGANIZATION, CONTACT_GROUP, ORGANIZATION_GROUP)


@dataclass
class MembershipRow:
    """One membership, by the ids or keys of exactly two of `contact`,
    `organization` and `customer_group`; `remove` ends it instead of adding it."""

    contact: str | None = None
    organization: str | None = None
    customer_group: str | None = None
    remove: bool = False

    @property
    def kind(self) -> tuple[str, ...]:
        return tuple(name for name in ("contact", "organization", "customer_group") if getattr(self, name))


def visible(model, actor):
    """What `actor` sees of `model` (None: the system, which sees all)."""
    return model.objects.all() if actor is None else model.objects.visible_to(actor)


def _pairs(through, left: str, right: str, lefts, rights) -> set[tuple]:
    """The (left id, right id) links among these objects; one query."""
    if not lefts or not rights:
        return set()
    return set(through.objects.filter(**{f"{left}__in": lefts, f"{right}__in": rights})
               .values_list(left, right))


@transaction.atomic
def change_memberships(rows: Sequence[MembershipRow], *, actor) -> list[RowOutcome]:
    """Add (or, with `remove`, end) one membership per row; one outcome per
    row, in order: `created` for a membership added, `updated` for one
    removed, `unchanged` when it already was as asked (nothing is written,
    so nothing is checked but that the actor sees both sides). A row that
    breaks a rule fails alone and changes nothing.

    `actor` (None: the system) needs what the single services need:
    `change_contact` and a manage grant on the contact (a scoped actor may
    not remove the contact's last organization it manages), or
    `change_organization` and a manage grant on the organization.
    """
    contacts = by_refs(visible(Contact, actor), {r.contact for r in rows if r.contact})
    organizations = by_refs(visible(Organization, actor), {r.organization for r in rows if r.organization})
    groups = by_refs(CustomerGroup.objects.all(), {r.customer_group for r in rows if r.customer_group})
    contact_ids = {c.pk for c in contacts.values()}
    org_ids = {o.pk for o in organizations.values()}
    group_ids = {g.pk for g in groups.values()}
    links = {
        CONTACT_ORGANIZATION: _pairs(Contact.organizations.through, "contact_id", "organization_id",
                                     contact_ids, org_ids),
        CONTACT_GROUP: _pairs(Contact.customer_groups.through, "contact_id", "customergroup_id",
                              contact_ids, group_ids),
        ORGANIZATION_GROUP: _pairs(Organization.customer_groups.through, "organization_id", "customergroup_id",
                                   org_ids, group_ids),
    }
    found = {"contact": contacts, "organization": organizations, "customer_group": groups}
    labels = {"contact": "contact", "organization": "organization", "customer_group": "customer group"}

    outcomes = []
    for row in rows:
        if row.kind not in KINDS:
            outcomes.append(RowOutcome.failed([FieldError(
                "", "Name exactly two of contact, organization and customer_group.", "required")]))
            continue
        errors = [FieldError(name, f"No {labels[name]} with key '{getattr(row, name)}'.", "unknown_reference")
                  for name in row.kind if getattr(row, name) not in found[name]]
        if errors:
            outcomes.append(RowOutcome.failed(errors))
            continue
        left, right = (found[name][getattr(row, name)] for name in row.kind)
        pair = (left.pk, right.pk)
        if (pair in links[row.kind]) != row.remove:
            # Already as asked: nothing to write, nothing to allow (as an
            # unchanged organization row), so a scoped account's own export
            # imports back unchanged.
            outcomes.append(RowOutcome(RowStatus.UNCHANGED))
            continue
        try:
            with transaction.atomic():
                _change(row.kind, left, right, row.remove, actor)
        except DomainError as exc:
            outcomes.append(RowOutcome.from_error(exc, row.kind[0]))
            continue
        if row.remove:
            links[row.kind].discard(pair)
            outcomes.append(RowOutcome(RowStatus.UPDATED))
        else:
            links[row.kind].add(pair)
            outcomes.append(RowOutcome(RowStatus.CREATED))
    return outcomes


def _change(kind, left, right, remove: bool, actor) -> None:
    """Add or end one membership through its service."""
    if kind == CONTACT_ORGANIZATION:
        (remove_from_organization if remove else add_to_organization)(left, right, actor=actor)
    elif kind == CONTACT_GROUP:
        (remove_from_customer_group if remove else add_to_customer_group)(left, right, actor=actor)
    else:
        current = set(left.customer_groups.all())
        wanted = current - {right} if remove else current | {right}
        update_organization(left, actor=actor, changes={}, customer_groups=list(wanted))
