"""Organization grants: which organizations a role, or one account, may see or manage.

A grant has exactly one holder (a role or an account). One holder has at most
one grant per organization; to widen or narrow it, change that grant. A actor
without global visibility may only grant on organizations it manages itself,
so nobody can hand out more than they hold.
"""

from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction

from clientbase.core.errors import Conflict, Forbidden, Invalid
from clientbase.customers.models import Account, Grant, GrantLevel, Organization
from clientbase.core.permissions import require
from clientbase.customers.models.visibility import forget_scopes, organization_scope
from clientbase.customers.services.access import is_unrestricted, lock_for_change

_EDITABLE = ("role", "account", "organization", "include_descendants", "level")


def _check_holder(grant: Grant) -> None:
    """422 unless the grant has exactly one holder, naming the field to fix."""
    if grant.role_id is None and grant.account_id is None:
        raise Invalid.on("role", "Give the grant to a role or to an account.", code="one_holder")
    if grant.role_id is not None and grant.account_id is not None:
        raise Invalid.on("account", "Give the grant to a role or to an account, not both.",
                         code="one_holder")


def _check_actor_manages(actor: Account | None, organization: Organization) -> None:
    """403 unless `actor` (None: a trusted actor such as the CLI) manages
    `organization`."""
    if is_unrestricted(actor):
        return
    managed = Organization.objects.visible_to(actor, GrantLevel.MANAGE)
    if not managed.filter(pk=organization.pk).exists():
        raise Forbidden(detail=f"You may only grant on organizations you manage; "
                               f"you do not manage {organization.name}.", code="forbidden")


def _check_within_own(actor: Account | None, grant: Grant) -> None:
    """403 unless what `grant` gives lies within what `actor` manages itself:
    a grant with descendants needs the actor's own manage grant to cover the
    organization's whole subtree, so that nobody widens a grant (their own,
    or their role's) beyond their reach. (The organization itself is
    `_check_actor_manages`; the level is covered by managing it.)"""
    if is_unrestricted(actor) or not grant.include_descendants:
        return
    if not organization_scope(actor, GrantLevel.MANAGE).covers_subtree(grant.organization.path):
        raise Forbidden(detail=f"You manage {grant.organization.name} but not everything below it, "
                               "so you may not grant it with its descendants.", code="forbidden")


def _check_unique(grant: Grant) -> None:
    holder = {"role_id": grant.role_id} if grant.role_id else {"account_id": grant.account_id}
    if Grant.objects.filter(organization_id=grant.organization_id, **holder).exclude(pk=grant.pk).exists():
        raise Conflict.on(
            "organization",
            "This role or account already has a grant on the organization; change that grant instead.",
            code="duplicate_grant",
        )


def _save(grant: Grant) -> None:
    try:
        with transaction.atomic():
            grant.save()
    except IntegrityError as exc:
        # A concurrent request created the same grant first.
        raise Conflict.on("organization", "This role or account already has a grant on the organization.",
                          code="duplicate_grant") from exc


def _forget(actor: Account | None, *accounts: Account | None) -> None:
    # Scopes are cached on account objects; drop the actor's and the holder's
    # so that a later read in the same process sees the new grants.
    for account in (actor, *accounts):
        if account is not None:
            forget_scopes(account)


@transaction.atomic
def create_grant(*, actor, organization: Organization, role: Group | None = None,
                 account: Account | None = None, include_descendants: bool = True,
                 level: str = GrantLevel.VIEW) -> Grant:
    """Grant `role` or `account` access to `organization` (and, with
    `include_descendants`, its subtree). Returns the saved grant.

    Raises Invalid (422) unless exactly one holder is given, Conflict (409)
    when the holder already has a grant there, Forbidden (403) when `actor`
    does not manage the organization or lacks `add_grant`.
    """
    require(actor, "customers.add_grant")
    grant = Grant(role=role, account=account, organization=organization,
                  include_descendants=include_descendants, level=GrantLevel(level))
    _check_holder(grant)
    _check_actor_manages(actor, organization)
    _check_within_own(actor, grant)
    _check_unique(grant)
    _save(grant)
    _forget(actor, account)
    return grant


@transaction.atomic
def update_grant(grant: Grant, *, actor, changes: dict, expected_version=None) -> Grant:
    """Apply `changes` (any of role, account, organization,
    include_descendants, level) to a grant. Returns it.

    Same rules as `create_grant`; the actor needs `change_grant` and must
    manage the organization both before and after the change.
    """
    unknown = set(changes) - set(_EDITABLE)
    if unknown:
        raise Invalid.on(sorted(unknown)[0], "Unknown field.", code="extra_forbidden")
    grant = lock_for_change(grant, actor, "customers.change_grant", expected_version)
    previous_account = grant.account
    for name, value in changes.items():
        if name == "level":
            value = GrantLevel(value)
        setattr(grant, name, value)
    _check_holder(grant)
    if "organization" in changes:
        _check_actor_manages(actor, grant.organization)
    _check_within_own(actor, grant)
    _check_unique(grant)
    if changes:
        _save(grant)
    _forget(actor, previous_account, grant.account)
    return grant


@transaction.atomic
def delete_grant(grant: Grant, *, actor, expected_version=None) -> None:
    """Remove a grant; 403 without `delete_grant` or when `actor` does not
    manage its organization."""
    grant = lock_for_change(grant, actor, "customers.delete_grant", expected_version)
    account = grant.account
    grant.delete()
    _forget(actor, account)
