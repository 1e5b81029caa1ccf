"""Operations on the organization tree."""

from django.db import transaction

from clientbase.core.errors import Conflict
from clientbase.core.unique import check_unique, save_unique
from clientbase.customers.models import CustomerGroup, Organization
from clientbase.customers.services.trees import check_parent, move_node


@transaction.atomic
def create_organization(*, name: str, parent: Organization | None = None, key: str | None = None,
                        kind: str = "organization",
                        customer_groups: list[CustomerGroup] | None = None) -> Organization:
    org = Organization(name=name, key=key or None, kind=kind, parent=parent)
    check_parent(None, parent)
    check_unique(org, "key")
    save_unique(org, "key")
    if customer_groups:
        org.customer_groups.set(customer_groups)
    return org


@transaction.atomic
def update_organization(org: Organization, *, changes: dict,
                        customer_groups: list[CustomerGroup] | None = None,
                        parent: Organization | None = None, parent_given: bool = False) -> Organization:
    """Apply field changes (name, key, kind), then groups, then a move.

    `org` must have been loaded with select_for_update by the caller.
    """
    for name, value in changes.items():
        setattr(org, name, value)
    if "key" in changes:
        org.key = org.key or None
        check_unique(org, "key")
    if changes or customer_groups is not None:
        save_unique(org, "key")
    if customer_groups is not None:
        org.customer_groups.set(customer_groups)
    if parent_given and (parent.pk if parent else None) != org.parent_id:
        org = move_node(org, parent)
    return org


def move_organization(org: Organization, parent: Organization | None) -> Organization:
    """Move `org` with its whole subtree under `parent` (None: to the top).
    A move under itself or one of its descendants raises Conflict (409)."""
    return move_node(org, parent)


@transaction.atomic
def delete_organization(org: Organization) -> None:
    """Delete an organization with no children and no contacts; its grants go with it."""
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
