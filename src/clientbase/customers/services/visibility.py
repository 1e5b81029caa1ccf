"""Who sees what, decided in one place.

An account sees an organization when one of its grants (given to the account,
or to one of its roles) covers it: the granted organization itself and, with
`include_descendants`, its whole subtree. It sees a contact when it sees one of
the contact's organizations, or holds `view_all_contacts`. Administrators see
everything. Every read path starts from these scopes; an object outside them
answers 404 as if it did not exist.
"""

from dataclasses import dataclass, field
from uuid import UUID

from django.db.models import Exists, OuterRef, Q, QuerySet

from clientbase.core.models import subtree_q
from clientbase.customers.models import Grant, GrantLevel


@dataclass(frozen=True)
class OrganizationScope:
    everything: bool = False
    subtree_paths: tuple[str, ...] = ()
    single_ids: tuple[UUID, ...] = ()

    @property
    def nothing(self) -> bool:
        return not (self.everything or self.subtree_paths or self.single_ids)

    def q(self, prefix: str = "") -> Q:
        """A filter on organizations (or, with prefix "organization__", on a
        relation to them) that keeps exactly the scope."""
        if self.everything:
            return Q()
        q = Q(pk__in=[]) if not prefix else Q(**{f"{prefix}pk__in": []})
        for path in self.subtree_paths:
            q |= subtree_q(path, f"{prefix}path")
        if self.single_ids:
            q |= Q(**{f"{prefix}pk__in": self.single_ids})
        return q


@dataclass(frozen=True)
class ContactScope:
    everything: bool = False
    organizations: OrganizationScope = field(default_factory=OrganizationScope)

    def apply(self, contacts: QuerySet) -> QuerySet:
        if self.everything:
            return contacts
        if self.organizations.nothing:
            return contacts.none()
        # EXISTS rather than a join: a contact in two visible organizations must
        # not come back twice, and EXISTS lets the database stop at the first.
        through = contacts.model.organizations.through
        member_of_visible = through.objects.filter(
            contact_id=OuterRef("pk")
        ).filter(self.organizations.q("organization__"))
        return contacts.filter(Exists(member_of_visible))


_LEVELS = {GrantLevel.VIEW: (GrantLevel.VIEW, GrantLevel.MANAGE), GrantLevel.MANAGE: (GrantLevel.MANAGE,)}


def organization_scope(account, level: str = GrantLevel.VIEW) -> OrganizationScope:
    """The organizations `account` may see (or manage), as a scope. Costs one
    query for a scoped account, none for an administrator or anonymous."""
    if account is None or not account.is_authenticated or not account.is_active:
        return OrganizationScope()
    if account.sees_everything:
        return OrganizationScope(everything=True)
    cache = account.__dict__.setdefault("_organization_scopes", {})
    if level in cache:
        return cache[level]
    grants = (
        Grant.objects.filter(Q(account=account) | Q(role__in=account.groups.all()))
        .filter(level__in=_LEVELS[GrantLevel(level)])
        .values_list("organization_id", "organization__path", "include_descendants")
    )
    subtrees, singles = [], []
    for org_id, path, include_descendants in grants:
        (subtrees if include_descendants else singles).append(path if include_descendants else org_id)
    # A subtree inside another granted subtree adds nothing; dropping it keeps
    # the OR short.
    subtrees.sort()
    kept: list[str] = []
    for path in subtrees:
        if not kept or not path.startswith(kept[-1]):
            kept.append(path)
    scope = OrganizationScope(subtree_paths=tuple(kept), single_ids=tuple(singles))
    cache[level] = scope
    return scope


def contact_scope(account, level: str = GrantLevel.VIEW) -> ContactScope:
    if account is None or not account.is_authenticated or not account.is_active:
        return ContactScope()
    global_perm = ("customers.view_all_contacts" if level == GrantLevel.VIEW
                   else "customers.manage_all_contacts")
    if account.sees_everything or account.has_perm(global_perm):
        return ContactScope(everything=True)
    return ContactScope(organizations=organization_scope(account, level))


def forget_scopes(account) -> None:
    """Drop the scopes cached on an account object (after its grants change)."""
    account.__dict__.pop("_organization_scopes", None)
    account.__dict__.pop("_role_names", None)
