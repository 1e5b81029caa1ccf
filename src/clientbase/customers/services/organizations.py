"""Operations on the organization tree. Each takes the acting account (None:
the system) and enforces permission, scope, invariants and the version."""

from django.db import transaction

from django.core.exceptions import ValidationError

from clientbase.core.errors import Conflict, FieldError, Forbidden, Invalid
from clientbase.core.models import validate_key
from clientbase.core.permissions import require
from clientbase.core.trees import lock_tree
from clientbase.core.text import plain_text_error
from clientbase.core.unique import check_unique, save_unique
from clientbase.core.writes import record_actor
from clientbase.customers.models import CustomerGroup, GrantLevel, Organization, OrganizationKind
from clientbase.customers.services.access import is_unrestricted, lock_for_change
from clientbase.customers.services.trees import check_parent, move_node


def _check_parent_allowed(actor, parent: Organization | None, *, making_root: bool) -> None:
    """Only administrators make roots: a staff member limited to part of the
    tree would otherwise put an organization where it can no longer see it.
    Below a parent, the actor must manage the parent (it changes its children)."""
    if is_unrestricted(actor):
        return
    if parent is None:
        if making_root:
            raise Forbidden(detail="Only administrators create top-level organizations or move "
                                   "organizations to the top.", code="forbidden")
        return
    if not Organization.objects.visible_to(actor, GrantLevel.MANAGE).filter(pk=parent.pk).exists():
        raise Forbidden(detail=f"You may view {parent.name} but not manage it, so you cannot put "
                               "organizations under it.", code="forbidden")


def clean_organization_fields(fields: dict) -> None:
    """Invalid (422) naming every bad one of `fields` (name, key, kind): a
    name of 1 to 200 plain characters, a key as core.models.validate_key
    has it, a kind among OrganizationKind. Changes `fields` in place to the
    stored spelling (trimmed name, None for no key)."""
    errors: list[FieldError] = []
    if "name" in fields:
        name = fields["name"] = (fields["name"] or "").strip()
        limit = Organization._meta.get_field("name").max_length
        if not name:
            errors.append(FieldError("name", "A name is required.", "required"))
        elif len(name) > limit:
            errors.append(FieldError("name", f"At most {limit} characters.", "too_long"))
        elif error := plain_text_error(name, "name"):
            errors.append(error)
        elif "\x00" in name:
            errors.append(FieldError("name", "NUL characters are not allowed.", "invalid"))
    if "key" in fields:
        key = fields["key"] = (fields["key"] or "").strip() or None
        if key is not None:
            try:
                validate_key(key)
            except ValidationError as exc:
                errors.append(FieldError("key", " ".join(exc.messages), "invalid_key"))
    if "kind" in fields and fields["kind"] not in OrganizationKind.values:
        errors.append(FieldError("kind", f"One of {', '.join(OrganizationKind.values)}.", "invalid_choice"))
    if errors:
        raise Invalid(detail=f"Invalid input: {', '.join(e.field for e in errors)}.", code=errors[0].code,
                      errors=errors)


@transaction.atomic
def create_organization(*, actor, name: str, parent: Organization | None = None,
                        key: str | None = None, kind: str = "organization",
                        customer_groups: list[CustomerGroup] | None = None) -> Organization:
    """A new organization under `parent` (None: a root, for administrators only).
    Returns it. 403 without `add_organization` or a manage grant on the parent."""
    require(actor, "customers.add_organization")
    _check_parent_allowed(actor, parent, making_root=True)
    fields = {"name": name, "key": key, "kind": kind}
    clean_organization_fields(fields)
    org = Organization(**fields, parent=parent)
    record_actor(org, actor)  # outside a request (the CLI, imports) too
    check_parent(None, parent)
    check_unique(org, "key")
    save_unique(org, "key")
    if customer_groups:
        org.customer_groups.set(customer_groups)
    return org


@transaction.atomic
def update_organization(org: Organization, *, actor, changes: dict,
                        customer_groups: list[CustomerGroup] | None = None,
                        parent: Organization | None = None, parent_given: bool = False,
                        expected_version=None) -> Organization:
    """Apply field changes (name, key, kind), then groups, then a move (with
    `parent_given`). One version step per save. Returns the organization."""
    if parent_given:
        lock_tree(Organization)  # before any row lock: see core.trees.lock_tree
    org = lock_for_change(org, actor, "customers.change_organization", expected_version)
    record_actor(org, actor)
    moving = parent_given and (parent.pk if parent else None) != org.parent_id
    changes = dict(changes)
    clean_organization_fields(changes)
    if moving:
        _check_parent_allowed(actor, parent, making_root=True)
    for name, value in changes.items():
        setattr(org, name, value)
    if "key" in changes:
        check_unique(org, "key")
    if changes or customer_groups is not None:
        save_unique(org, "key")
    if customer_groups is not None:
        org.customer_groups.set(customer_groups)
    if moving:
        org = move_node(org, parent, locked=True)
    return org


@transaction.atomic
def move_organization(org: Organization, parent: Organization | None, *, actor,
                      expected_version=None) -> Organization:
    """Move `org` with its whole subtree under `parent` (None: to the top, for
    administrators only). A move under itself or one of its descendants raises
    Conflict (409). Returns the organization."""
    lock_tree(Organization)  # before any row lock: see core.trees.lock_tree
    org = lock_for_change(org, actor, "customers.change_organization", expected_version)
    record_actor(org, actor)
    _check_parent_allowed(actor, parent, making_root=True)
    return move_node(org, parent, locked=True)


@transaction.atomic
def delete_organization(org: Organization, *, actor, expected_version=None) -> None:
    """Delete an organization with no children and no contacts; its grants go with it."""
    org = lock_for_change(org, actor, "customers.delete_organization", expected_version)
    children = org.children.count()
    contacts = org.contacts.count()
    if children or contacts:
        raise Conflict.on(
            "id",
            f"{org.name} still has {children} child organization(s) and {contacts} contact(s); "
            "move or remove them first.",
            code="not_empty",
        )
    org.delete()
