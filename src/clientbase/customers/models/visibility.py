"""Who sees what, decided in one place.

An account sees an organization when one of its grants (given to the account,
or to one of its roles) covers it: the granted organization itself and, with
`include_descendants`, its whole subtree. It sees a contact when it sees one of
the contact's organizations, or holds `view_all_contacts`. Administrators see
everything. Every read path starts from these scopes; an object outside them
answers 404 as if it did not exist.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from uuid import UUID

from django.apps import apps
from django.db import router
from django.db.models import BooleanField, Expression, F, Q, QuerySet, TextChoices

from clientbase.core import caching
from clientbase.core.models import subtree_q
from clientbase.customers.cache_names import ROLES, TREES, account_version


class GrantLevel(TextChoices):
    VIEW = "view", "View"
    MANAGE = "manage", "Manage"


def _model(name: str):
    # The models' querysets call into this module, so it names the models
    # through the app registry rather than importing them (no import cycle).
    return apps.get_model("customers", name)


@dataclass(frozen=True)
class OrganizationScope:
    everything: bool = False
    subtree_paths: tuple[str, ...] = ()
    single_ids: tuple[UUID, ...] = ()

    @property
    def nothing(self) -> bool:
        return not (self.everything or self.subtree_paths or self.single_ids)

    def contains(self, org_id: UUID, path: str) -> bool:
        """Whether the organization with this id and path is in the scope,
        decided in memory."""
        return self.everything or org_id in self.single_ids or self.covers_subtree(path)

    def covers_subtree(self, path: str) -> bool:
        """Whether the scope holds the organization at `path` with everything
        below it (a grant with descendants on it or on an ancestor)."""
        return self.everything or any(path.startswith(granted) for granted in self.subtree_paths)

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
        return contacts.filter(MemberOfScope(self.organizations))


class MemberOfScope(Expression):
    """True for a contact that belongs to an organization of `scope`:

        EXISTS (SELECT 1 FROM memberships JOIN organizations
                 WHERE contact = <the row> AND (path in a granted subtree OR id granted))

    EXISTS rather than a join: a contact in two visible organizations must not
    come back twice, and the database stops at the first. Written as one
    expression rather than `Exists(through.objects.filter(...))` because every
    contact read compiles it, and Django's subquery compilation cost more than
    half a millisecond a request — a third of a whole page of contacts at a
    million rows (docs/benchmarks.md). The outer column is compiled by Django,
    so the expression works under any alias, in subqueries too.
    """

    output_field = BooleanField()
    conditional = True

    def __init__(self, scope: OrganizationScope, contact=None):
        super().__init__()
        self.scope = scope
        self.contact = contact if contact is not None else F("pk")

    def get_source_expressions(self):
        return [self.contact]

    def set_source_expressions(self, exprs):
        (self.contact,) = exprs

    def as_sql(self, compiler, connection):
        contact_sql, contact_params = compiler.compile(self.contact)
        sql, params = member_of_scope_sql(self.scope, contact_sql, connection)
        return sql, (*contact_params, *params)


def member_of_scope_sql(scope: OrganizationScope, contact_sql: str, connection) -> tuple[str, list]:
    """MemberOfScope's condition as SQL and its parameters, for the contact
    id in the column `contact_sql`: the same rule for a statement written by
    hand (customers.services.contact_reads) as for the ORM's."""
    Contact, Organization = _model("Contact"), _model("Organization")
    qn = connection.ops.quote_name
    through = qn(Contact.organizations.through._meta.db_table)
    org = qn(Organization._meta.db_table)
    conditions, params = [], []
    for path in scope.subtree_paths:
        conditions.append("(cb_vis_o.path >= %s AND cb_vis_o.path < %s)")
        params += [path, path + "~"]
    if scope.single_ids:
        conditions.append(f"cb_vis_o.id IN ({', '.join(['%s'] * len(scope.single_ids))})")
        params += [Organization._meta.pk.get_db_prep_value(i, connection) for i in scope.single_ids]
    sql = (f"EXISTS (SELECT 1 FROM {through} cb_vis_m "
           f"INNER JOIN {org} cb_vis_o ON cb_vis_o.id = cb_vis_m.organization_id "
           f"WHERE cb_vis_m.contact_id = {contact_sql} AND ({' OR '.join(conditions)}))")
    return sql, params


_LEVELS = {GrantLevel.VIEW: (GrantLevel.VIEW, GrantLevel.MANAGE), GrantLevel.MANAGE: (GrantLevel.MANAGE,)}


def organization_scope(account, level: str = GrantLevel.VIEW) -> OrganizationScope:
    """The organizations `account` may see (or manage), as a scope. Costs one
    query for a scoped account (none when the shared cache holds it, or when
    the account was read with its grants: `remember_grants`), none for an
    administrator or anonymous."""
    if account is None or not account.is_authenticated or not account.is_active:
        return OrganizationScope()
    if account.sees_everything:
        return OrganizationScope(everything=True)
    account.load_access()  # a session's grants, read with its roles and permissions when first asked for
    # Through getattr and setattr, never the account's __dict__: request.user
    # is a lazy object, whose own __dict__ is not the account's.
    cache = getattr(account, "_organization_scopes", None)
    if cache is None:
        cache = account._organization_scopes = {}
    if level in cache:
        return cache[level]
    # Shared by the account's requests (core.caching): its grants, its roles'
    # grants and the granted organizations' paths decide it.
    scope = caching.cached(f"scope:{account.pk}:{level}", [account_version(account.pk), ROLES, TREES],
                           lambda: _load_scope(account, level))
    cache[level] = scope
    return scope


def _load_scope(account, level: str) -> OrganizationScope:
    Grant = _model("Grant")
    grants = (
        # From the primary: what is cached must not come from a lagging replica.
        Grant._default_manager.db_manager(router.db_for_write(Grant))
        .filter(Q(account=account) | Q(role__in=account.groups.all()))
        .filter(level__in=_LEVELS[GrantLevel(level)])
        .values_list("organization_id", "organization__path", "include_descendants")
    )
    return _scope_of(grants)


def remember_grants(account, grants: Iterable[tuple[str, UUID, str, bool]]) -> None:
    """Give `account` the scopes `organization_scope` would load, from its
    grants and its roles' grants read with the account
    (customers.services.principals): (level, organization id, the
    organization's path, include_descendants) each. Its requests then read
    no grant."""
    grants = list(grants)
    account._organization_scopes = {
        level: _scope_of((org_id, path, include_descendants)
                         for granted, org_id, path, include_descendants in grants if granted in levels)
        for level, levels in _LEVELS.items()
    }


def _scope_of(grants: Iterable[tuple[UUID, str, bool]]) -> OrganizationScope:
    """The scope of grants given as (organization id, its path, include_descendants)."""
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
    return OrganizationScope(subtree_paths=tuple(kept), single_ids=tuple(singles))


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
    for name in ("_organization_scopes", "_role_names"):
        try:
            delattr(account, name)
        except AttributeError:
            pass
