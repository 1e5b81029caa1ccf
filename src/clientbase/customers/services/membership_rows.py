"""Memberships row by row, in batches (imports): add or remove many single memberships —
a contact in an organization, a contact in a customer group, an
organization in a customer group — by the rules of the single-membership
services (`add_to_organization`, `remove_from_organization`,
`add_to_customer_group`, `remove_from_customer_group`): `change_contact`,
a manage grant on the contact (the models' `visible_to`), and
`check_stays_managed` for a removal. A contact's changes are written in
bulk by `membership_batches.write_memberships` (the bulk actions' writer
too), with one version step and one history record per contact and batch
(the single services took two records a membership: 35 rows/s). An
organization's groups go through `update_organization` row by row (files
of those are small).

Each membership is one row naming two of contact, organization and
customer group by id or key, among what the actor sees: a contact or an
organization it cannot see is reported like one that does not exist.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from clientbase.core.batches import RowOutcome, RowStatus, by_refs
from clientbase.core.errors import DomainError, FieldError, Forbidden
from clientbase.core.permissions import require
from clientbase.customers.models import Contact, CustomerGroup, GrantLevel, Organization
from clientbase.customers.services.access import is_unrestricted, view_only
from clientbase.customers.services.contacts import check_stays_managed
from clientbase.customers.services.membership_batches import write_memberships
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
    batch = _ContactBatch(actor, contact_ids)
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
        if row.kind == ORGANIZATION_GROUP:
            try:
                with transaction.atomic():
                    _change_organization(left, right, row.remove, actor)
            except DomainError as exc:
                outcomes.append(RowOutcome.from_error(exc, "organization"))
                continue
        elif errors := batch.judge(row.kind, left, right, row.remove):
            outcomes.append(RowOutcome.failed(errors))
            continue
        if row.remove:
            links[row.kind].discard(pair)
            outcomes.append(RowOutcome(RowStatus.UPDATED))
        else:
            links[row.kind].add(pair)
            outcomes.append(RowOutcome(RowStatus.CREATED))
    batch.write()
    return outcomes


def _change_organization(org: Organization, group: CustomerGroup, remove: bool, actor) -> None:
    """Add or end one organization's membership in a group, through update_organization."""
    current = set(org.customer_groups.all())
    wanted = current - {group} if remove else current | {group}
    update_organization(org, actor=actor, changes={}, customer_groups=list(wanted))


# The contact memberships a batch writes, by the many-to-many's name write_memberships takes.
HISTORY_NAMES = {CONTACT_ORGANIZATION: "organizations", CONTACT_GROUP: "customer_groups"}


class _ContactBatch:
    """The contact memberships a batch changes: judged row by row (in file
    order, each seeing the changes of the rows before it), written at the end."""

    def __init__(self, actor, contact_ids: set):
        self.actor = actor
        self.permission: FieldError | None = None
        try:
            require(actor, "customers.change_contact")
        except Forbidden as exc:
            self.permission = FieldError("contact", exc.detail, exc.code)
        # Locked, as lock_for_change locks the contact it changes.
        self.contacts = {c.pk: c for c in Contact.objects.select_for_update().filter(pk__in=contact_ids)}
        self.manageable = set(self.contacts) if is_unrestricted(actor) else set(
            Contact.objects.visible_to(actor, GrantLevel.MANAGE).filter(pk__in=contact_ids)
            .values_list("pk", flat=True))
        # Each contact's organizations now, with their paths (for the scope check of a removal).
        self.organizations: dict[Any, dict[Any, str]] = defaultdict(dict)
        for contact_id, org_id, path in Contact.organizations.through.objects.filter(
                contact_id__in=contact_ids).values_list("contact_id", "organization_id", "organization__path"):
            self.organizations[contact_id][org_id] = path
        self.added: dict[tuple, set] = {kind: set() for kind in HISTORY_NAMES}
        self.removed: dict[tuple, set] = {kind: set() for kind in HISTORY_NAMES}

    def judge(self, kind, contact: Contact, target, remove: bool) -> list[FieldError]:
        """The row's errors; none: its change is taken (and written by `write`)."""
        if self.permission is not None:
            return [self.permission]
        if contact.pk not in self.manageable:
            refused = view_only(contact)
            return [FieldError("contact", refused.detail, refused.code)]
        if kind == CONTACT_ORGANIZATION and remove:
            remaining = [Organization(pk=pk, path=path) for pk, path in self.organizations[contact.pk].items()
                         if pk != target.pk]
            try:
                check_stays_managed(self.actor, remaining)
            except DomainError as exc:
                return exc.errors
        if kind == CONTACT_ORGANIZATION:
            if remove:
                self.organizations[contact.pk].pop(target.pk, None)
            else:
                self.organizations[contact.pk][target.pk] = target.path
        pair = (contact.pk, target.pk)
        (self.removed if remove else self.added)[kind].add(pair)
        (self.added if remove else self.removed)[kind].discard(pair)
        return []

    def write(self) -> None:
        """The memberships, then each changed contact's version and history: a few statements."""
        touched = {pk for pairs in (*self.added.values(), *self.removed.values()) for pk, _ in pairs}
        write_memberships([self.contacts[pk] for pk in touched],
                          {HISTORY_NAMES[kind]: (self.added[kind], self.removed[kind]) for kind in HISTORY_NAMES},
                          actor=self.actor)
