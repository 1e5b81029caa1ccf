"""Customer groups and the groups a contact effectively belongs to."""

from dataclasses import dataclass, field
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import transaction

from clientbase.core.errors import Conflict, Invalid
from clientbase.core.models import ids_in_path, validate_key
from clientbase.customers.models import Contact, CustomerGroup, Organization
from clientbase.core.permissions import require
from clientbase.core.trees import lock_tree
from clientbase.core.text import check_plain_text
from clientbase.core.unique import check_unique, save_unique
from clientbase.core.writes import record_actor
from clientbase.customers.models.visibility import organization_scope
from clientbase.customers.services.access import lock_for_change
from clientbase.customers.services.trees import check_parent, move_node


# What an organization the viewer cannot see is called in a step: it is
# referred to by id only (issue 8: never by name, key or count).
HIDDEN_ORGANIZATION = "an organization you cannot see"


@dataclass(frozen=True)
class Step:
    """One link in the chain that puts a contact in a group.

    kind: `direct` (the contact's own group), `organization` (a group of an
    organization the contact belongs to), `ancestor` (a group of an ancestor
    of that organization; `via` names the member organization) or
    `parent_group` (the parent of the group in the step before).
    An organization the viewer cannot see keeps its id only: its name is
    HIDDEN_ORGANIZATION and its key None (as `via`, too).
    """

    kind: str
    id: UUID
    name: str
    key: str | None = None
    via: str | None = None

    def describe(self) -> str:
        if self.kind == "direct":
            return "assigned directly"
        if self.kind == "organization":
            return f"via {_organization(self.name)}"
        if self.kind == "ancestor":
            return f"via {self.name}, an ancestor of {_organization(self.via)}"
        return f"via parent group of {self.name}"


def _organization(name: str | None) -> str:
    return name if name == HIDDEN_ORGANIZATION else f"organization {name}"


@dataclass
class EffectiveGroup:
    group: CustomerGroup
    paths: list[list[Step]] = field(default_factory=list)

    @property
    def reasons(self) -> list[str]:
        return ["; ".join(step.describe() for step in path) for path in self.paths]


def effective_groups(contact: Contact, *, viewer) -> list[EffectiveGroup]:
    """Every group the contact is in, each with the chains that put it there,
    as `viewer` may be told them.

    A contact's groups are its own, those of each of its organizations and of
    their ancestors, each closed upward over the group tree. An organization
    the viewer cannot see still gives its groups (they are the contact's) but
    is named by id only (see Step); `viewer=None` is the system, which sees
    every name. Costs five queries whatever the depth of either tree, plus the
    viewer's scope (cached on the account). Sorted by the group tree's order.
    """
    scope = organization_scope(viewer) if viewer is not None else None
    # Where each starting group came from: group id -> list of first steps.
    origins: dict[UUID, list[Step]] = {}
    for group_id in contact.customer_groups.through.objects.filter(
        contact_id=contact.pk
    ).values_list("customergroup_id", flat=True):
        origins.setdefault(group_id, []).append(Step("direct", contact.pk, str(contact)))

    def named(pk: UUID, name: str, key: str | None, path: str) -> tuple[str, str | None]:
        if scope is None or scope.contains(pk, path):
            return name, key
        return HIDDEN_ORGANIZATION, None

    member_orgs = [(pk, *named(pk, name, key, path), path) for pk, name, key, path
                   in contact.organizations.values_list("id", "name", "key", "path")]
    ancestor_of: dict[UUID, list[tuple]] = {}  # ancestor id -> member orgs below it
    for org in member_orgs:
        for ancestor_id in ids_in_path(org[3])[:-1]:
            ancestor_of.setdefault(ancestor_id, []).append(org)
    org_names = {org[0]: (org[1], org[2]) for org in member_orgs}
    org_names.update(
        {pk: named(pk, name, key, path) for pk, name, key, path in Organization.objects.filter(
            pk__in=ancestor_of.keys()).values_list("id", "name", "key", "path")}
    )
    member_ids = {org[0] for org in member_orgs}
    links = Organization.customer_groups.through.objects.filter(
        organization_id__in=member_ids | ancestor_of.keys()
    ).values_list("organization_id", "customergroup_id")
    for org_id, group_id in links:
        name, key = org_names[org_id]
        if org_id in member_ids:
            origins.setdefault(group_id, []).append(Step("organization", org_id, name, key))
        for member in ancestor_of.get(org_id, []):
            origins.setdefault(group_id, []).append(
                Step("ancestor", org_id, name, key, via=member[1]))

    starting = {g.pk: g for g in CustomerGroup.objects.filter(pk__in=origins.keys())}
    all_ids = {gid for g in starting.values() for gid in ids_in_path(g.path)}
    groups = {g.pk: g for g in CustomerGroup.objects.filter(pk__in=all_ids)}

    result: dict[UUID, EffectiveGroup] = {}
    for group_id, first_steps in origins.items():
        group = groups.get(group_id)
        if group is None:
            continue
        chain = ids_in_path(group.path)  # root ... group
        for step in first_steps:
            path: list[Step] = [step]
            for index in range(len(chain) - 1, -1, -1):
                current = groups[chain[index]]
                result.setdefault(current.pk, EffectiveGroup(current)).paths.append(list(path))
                path = path + [Step("parent_group", current.pk, current.name, current.key)]
    return sorted(result.values(), key=lambda eg: eg.group.path)



@transaction.atomic
def delete_customer_group(group: CustomerGroup, *, actor, expected_version=None) -> None:
    """Delete a group that has no child groups; members simply lose it."""
    group = lock_for_change(group, actor, "customers.delete_customergroup", expected_version)
    children = group.children.count()
    if children:
        raise Conflict.on(
            "id", f"Customer group {group.key} still has {children} child group(s); move or delete them first.",
            code="not_empty",
        )
    group.delete()


def _check_group_key(group: CustomerGroup) -> None:
    """422 for a malformed key, 409 for one another group has."""
    try:
        validate_key(group.key or "")
    except ValidationError as exc:
        raise Invalid.on("key", " ".join(exc.messages), code="invalid_key") from exc
    check_unique(group, "key")


def _check_group_text(group: CustomerGroup) -> None:
    """422 for an empty or overlong name or description (the API's schemas
    say the same; a file must hear it too)."""
    group.name = (group.name or "").strip()
    if not group.name:
        raise Invalid.on("name", "A name is required.", code="required")
    for name, limit in (("name", 200), ("description", 10_000)):
        value = getattr(group, name) or ""
        if len(value) > limit:
            raise Invalid.on(name, f"At most {limit} characters.", code="too_long")
        if "\x00" in value:
            raise Invalid.on(name, "NUL characters are not allowed.", code="invalid")


def _save_group(group: CustomerGroup, actor=None) -> CustomerGroup:
    _check_group_text(group)
    check_plain_text(group.name, "name")
    _check_group_key(group)
    record_actor(group, actor)  # outside a request (the CLI, imports) too
    save_unique(group, "key")
    return group


def create_customer_group(*, actor, key: str, name: str, description: str = "",
                          parent: CustomerGroup | None = None) -> CustomerGroup:
    """Create a group under `parent` (None: a root); 409 on a duplicate key."""
    require(actor, "customers.add_customergroup")
    group = CustomerGroup(key=key, name=name, description=description)
    check_parent(None, parent)
    group.parent = parent
    return _save_group(group, actor)


@transaction.atomic
def update_customer_group(group: CustomerGroup, *, actor, changes: dict,
                          parent: CustomerGroup | None = None,
                          parent_given: bool = False, expected_version=None) -> CustomerGroup:
    """Apply name/key/description changes and, with `parent_given`, move the
    group with its subtree under `parent` (409 on a cycle). Returns the group."""
    if parent_given:
        lock_tree(CustomerGroup)  # before any row lock: see core.trees.lock_tree
    group = lock_for_change(group, actor, "customers.change_customergroup", expected_version)
    for name, value in changes.items():
        setattr(group, name, value)
    if changes:
        group = _save_group(group, actor)
    if parent_given and (parent.pk if parent else None) != group.parent_id:
        record_actor(group, actor)
        # The move saves the group itself: one version step per kind of change.
        group = move_node(group, parent, locked=True)
    return group
