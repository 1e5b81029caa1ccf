"""Memberships of many contacts changed at once (the back office's bulk
actions): add a selection to a customer group, remove it from one, add it to
an organization.

Each is one call with the acting account, by the rules of the single-contact
services (`add_to_customer_group`, `remove_from_customer_group`,
`add_to_organization`): the permission `change_contact` is checked once, the
scope per contact — a contact the actor sees but does not manage is refused,
the others change. Every changed contact's version moves on once and its
history records the change, as a single write does. With `preview=True`
nothing is written: the answer says what the call would do, for a
confirmation page.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from clientbase.core.batches import record_history, update_rows
from clientbase.core.errors import Forbidden, NotFound
from clientbase.core.permissions import require
from clientbase.customers.models import Contact, CustomerGroup, GrantLevel, Organization
from clientbase.customers.services.contact_batches import _memberships, _replace_memberships

# How many names a confirmation page shows of the contacts that change.
SAMPLE_SIZE = 10
# Contacts locked and written per round: bounded statements and memory
# whatever the size of the selection.
CHUNK = 1000


@dataclass
class BulkOutcome:
    """What a bulk membership change did (or, previewed, would do) to the
    `selected` contacts: `changed` of them change, `unchanged` already are as
    asked, `refused` are seen but not managed by the actor and stay as they
    are. `sample` and `refused_sample` name the first few of each, in the
    list's order."""

    selected: int
    changed: int
    unchanged: int
    refused: int
    sample: list[Contact] = field(default_factory=list)
    refused_sample: list[Contact] = field(default_factory=list)


@dataclass(frozen=True)
class _Membership:
    """One membership of a contact: the through table, its column naming the
    target, and the many-to-many's name (as write_memberships takes it)."""

    through: type[models.Model]
    column: str
    history_name: str


_GROUPS = _Membership(Contact.customer_groups.through, "customergroup_id", "customer_groups")
_ORGANIZATIONS = _Membership(Contact.organizations.through, "organization_id", "organizations")


def add_contacts_to_customer_group(contacts: models.QuerySet, group: CustomerGroup, *, actor,
                                   preview: bool = False) -> BulkOutcome:
    """Make each of `contacts` (a queryset the caller has already limited to
    what `actor` sees) a direct member of `group`."""
    return _change(contacts, _GROUPS, group, adding=True, actor=actor, preview=preview,
                   reason=f"bulk: added to customer group {group.key}")


def remove_contacts_from_customer_group(contacts: models.QuerySet, group: CustomerGroup, *, actor,
                                        preview: bool = False) -> BulkOutcome:
    """End each of `contacts`' direct membership of `group` (one it has
    through an organization stays: it is the organization's)."""
    return _change(contacts, _GROUPS, group, adding=False, actor=actor, preview=preview,
                   reason=f"bulk: removed from customer group {group.key}")


def add_contacts_to_organization(contacts: models.QuerySet, organization: Organization, *, actor,
                                 preview: bool = False) -> BulkOutcome:
    """Make each of `contacts` a member of `organization`, which `actor` must
    manage: putting someone in an organization changes it (Forbidden when
    the actor only sees it, NotFound when it does not see it)."""
    if actor is not None and not Organization.objects.visible_to(actor, GrantLevel.MANAGE).filter(
            pk=organization.pk).exists():
        require(actor, "customers.change_contact")  # 403 for a missing permission first
        if Organization.objects.visible_to(actor).filter(pk=organization.pk).exists():
            raise Forbidden(detail=f"You may view {organization} but not add contacts to it.",
                            code="forbidden")
        raise NotFound(detail="No such organization.", code="not_found")
    return _change(contacts, _ORGANIZATIONS, organization, adding=True, actor=actor, preview=preview,
                   reason=f"bulk: added to organization {organization.key or organization.pk}")


def _change(contacts: models.QuerySet, membership: _Membership, target: models.Model, *, adding: bool,
            actor, preview: bool, reason: str) -> BulkOutcome:
    require(actor, "customers.change_contact")
    contacts = contacts.order_by(*Contact._meta.ordering)
    managed = contacts if actor is None else contacts.visible_to(actor, GrantLevel.MANAGE)
    member = Exists(membership.through.objects.filter(contact_id=OuterRef("pk"),
                                                      **{membership.column: target.pk}))
    changing = managed.exclude(member) if adding else managed.filter(member)
    selected, managed_count = contacts.count(), managed.count()
    outcome = BulkOutcome(selected=selected, changed=changing.count(), unchanged=0,
                          refused=selected - managed_count)
    outcome.unchanged = managed_count - outcome.changed
    outcome.sample = list(changing[:SAMPLE_SIZE])
    if outcome.refused:
        outcome.refused_sample = list(contacts.exclude(pk__in=managed.values("pk"))[:SAMPLE_SIZE])
    if preview or not outcome.changed:
        return outcome
    with transaction.atomic():
        ids = list(changing.values_list("pk", flat=True))
        outcome.changed = sum(_write(ids[start:start + CHUNK], membership, target.pk, adding, actor, reason)
                              for start in range(0, len(ids), CHUNK))
    return outcome


def _write(ids: Sequence[Any], membership: _Membership, target_id, adding: bool, actor, reason: str) -> int:
    """Change the membership of the contacts `ids`, locked; answers how many
    changed (one changed meanwhile by someone else may already be as asked)."""
    locked = list(Contact.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    current = _memberships(membership.through, membership.column, [c.pk for c in locked])
    changed = [c for c in locked if (target_id in current[c.pk]) != adding]
    pairs = {(c.pk, target_id) for c in changed}
    write_memberships(changed, {membership.history_name: (pairs, set()) if adding else (set(), pairs)},
                      actor=actor, reason=reason)
    return len(changed)


# many-to-many name (as the history keeps it) → the through table and its column naming the target
MEMBERSHIPS = {"organizations": (Contact.organizations.through, "organization_id"),
               "customer_groups": (Contact.customer_groups.through, "customergroup_id")}


def write_memberships(contacts: Sequence[Contact], changes: Mapping[str, tuple[set, set]], *, actor,
                      reason: str = "import") -> None:
    """The one batch writer of contact memberships (bulk actions, imports):
    for each many-to-many of `changes` ("organizations", "customer_groups"),
    insert its added (contact id, target id) pairs and delete its removed
    ones; then each of `contacts` — locked by the caller, the contacts the
    changes touch, already judged by the caller's rules — moves on one
    version and gets one history record (`reason`) with both memberships'
    snapshots. A few statements whatever the number of contacts."""
    if not contacts:
        return
    ids = [c.pk for c in contacts]
    snapshots = {}
    for name, (through, column) in MEMBERSHIPS.items():
        current = _memberships(through, column, ids)
        added, removed = changes.get(name, (set(), set()))
        wanted: dict[Any, set] = {}
        for contact_id, target_id in removed:
            wanted.setdefault(contact_id, set(current[contact_id])).discard(target_id)
        for contact_id, target_id in added:
            wanted.setdefault(contact_id, set(current[contact_id])).add(target_id)
        snapshots[name] = _replace_memberships(through, column, wanted, current, ids)
    now = timezone.now()
    for contact in contacts:
        contact.version += 1
        contact.updated_at = now
    update_rows(contacts, ["version", "updated_at"])
    record_history(Contact, contacts, actor=actor, update=True, reason=reason[:100],  # the column's length
                   memberships=snapshots)
