""""What can this account see and do": an account's roles and permissions,
its organization grants with what they cover, and a read-only "view as"
preview of the organization tree and the contact list as that account sees
them.

Everything the page lists is read through the models' `visible_to`, the
scopes every door uses, twice: once as the account shown (what it sees) and
once as the staff member looking (what the page may show). The page shows
the intersection, so that nobody learns through it an organization, a
contact or a count they could not see themselves; what is left out is said,
not counted (docs/security.md).
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.db.models import Count, Q

from clientbase.backoffice.counts import ShownCount, shown_count
from clientbase.core.models import subtree_q
from clientbase.customers.models import Account, Contact, Grant, GrantLevel, Organization
from clientbase.customers.models.visibility import contact_scope

# Rows of each "view as" list, and children shown under each grant.
PREVIEW_SIZE = 25
CHILDREN_SHOWN = 10

# The area a permission's model belongs to, as the sidebar groups them.
AREAS = {
    ("customers", "contact"): "Customers", ("customers", "address"): "Customers",
    ("customers", "organization"): "Customers", ("customers", "customergroup"): "Customers",
    ("customers", "account"): "Access", ("customers", "grant"): "Access",
    ("customers", "apitoken"): "Access", ("auth", "group"): "Access", ("auth", "permission"): "Access",
    ("catalog", "market"): "Catalog", ("catalog", "product"): "Catalog", ("catalog", "variant"): "Catalog",
    ("pricing", "pricerow"): "Catalog",
    ("axes", "accessattempt"): "Security", ("axes", "accesslog"): "Security",
    ("axes", "accessfailurelog"): "Security",
}
AREA_ORDER = ["Customers", "Catalog", "Access", "Security"]


def permission_areas(permissions) -> list[tuple[str, list[str]]]:
    """Permissions as (area, [their names]), areas in the sidebar's order."""
    areas: dict[str, list[str]] = defaultdict(list)
    for permission in permissions:
        ct = permission.content_type
        areas[AREAS.get((ct.app_label, ct.model), "Other")].append(permission.name)
    order = {name: i for i, name in enumerate(AREA_ORDER)}
    return [(area, sorted(names)) for area, names in sorted(areas.items(), key=lambda a: order.get(a[0], 99))]


@dataclass
class RoleShown:
    name: str
    areas: list[tuple[str, list[str]]]


@dataclass
class GrantShown:
    grant: Grant
    via: str  # "this account" or "role <name>"
    below: int | None = None  # organizations below the granted one (that the viewer sees)
    children: list[Organization] = field(default_factory=list)
    more_children: int = 0


def roles_of(account: Account) -> tuple[list[RoleShown], list[tuple[str, list[str]]]]:
    """The account's roles with their permissions, and the permissions given
    to the account itself (three queries)."""
    roles = account.groups.order_by("name").prefetch_related("permissions__content_type")
    shown = [RoleShown(role.name, permission_areas(role.permissions.all())) for role in roles]
    direct = Permission.objects.filter(user=account).select_related("content_type")
    return shown, permission_areas(direct)


def grants_of(account: Account, viewer: Account) -> list[GrantShown]:
    """The grants that give `account` its organizations (its own and its
    roles'), on organizations `viewer` sees, each with how many organizations
    below it both see and its first children (three queries at most)."""
    grants = list(
        Grant.objects.visible_to(viewer)
        .filter(Q(account=account) | Q(role__in=account.groups.all()))
        .select_related("organization", "role").order_by("organization__path", "created_at"))
    shown = [GrantShown(g, f"role {g.role.name}" if g.role_id else "this account") for g in grants]
    roots = {g.grant.organization_id: g.grant.organization for g in shown if g.grant.include_descendants}
    if not roots:
        return shown
    # Below each root: what the viewer sees of the subtree (the account sees
    # all of it through the grant), counted in one query.
    seen = Organization.objects.visible_to(viewer)
    sums = {}
    for i, root in enumerate(roots.values()):
        below = subtree_q(root.path) & ~Q(pk=root.pk)
        sums[f"b{i}"] = Count("pk", filter=below)
        sums[f"c{i}"] = Count("pk", filter=Q(parent_id=root.pk))
    counts = seen.aggregate(**sums)
    children = defaultdict(list)
    for child in seen.filter(parent_id__in=roots).order_by("path")[: CHILDREN_SHOWN * len(roots)]:
        children[child.parent_id].append(child)
    index = {pk: i for i, pk in enumerate(roots)}
    for item in shown:
        i = index.get(item.grant.organization_id)
        if i is None or not item.grant.include_descendants:
            continue
        item.below = counts[f"b{i}"]
        item.children = children[item.grant.organization_id][:CHILDREN_SHOWN]
        item.more_children = counts[f"c{i}"] - len(item.children)
    return shown


@dataclass
class Preview:
    """One "view as" list: its first rows, how many there are, or why the
    account does not get the list at all."""

    rows: list
    count: ShownCount | None
    refused: str = ""


def organizations_as(account: Account, viewer: Account) -> Preview:
    """The organization tree as `account` sees it (within what `viewer` sees),
    in tree order: its first rows and their count."""
    if not _may_view(account, "customers.view_organization"):
        return Preview([], None, "This account may not open the organization list "
                                 "(it lacks the permission “Can view organization”).")
    orgs = Organization.objects.visible_to(account).visible_to(viewer)
    rows = list(orgs.order_by("path")[:PREVIEW_SIZE])
    top = min((o.depth for o in rows), default=0)
    for org in rows:
        org.shown_depth = org.depth - top
    return Preview(rows, shown_count(orgs))


def contacts_as(account: Account, viewer: Account) -> Preview:
    """The contact list's first page as `account` sees it (within what
    `viewer` sees), and its count (estimated where both see every contact)."""
    if not _may_view(account, "customers.view_contact"):
        return Preview([], None, "This account may not open the contact list "
                                 "(it lacks the permission “Can view contact”).")
    contacts = Contact.objects.visible_to(account).visible_to(viewer)
    everything = contact_scope(account).everything and contact_scope(viewer).everything
    rows = list(contacts[:PREVIEW_SIZE])
    return Preview(rows, shown_count(contacts, whole_table=everything))


def _may_view(account: Account, perm: str) -> bool:
    """Whether `account` gets the list at all: the back office's own test
    (staff, and the model's view or change permission)."""
    return account.is_staff and (account.has_perm(perm) or account.has_perm(perm.replace(".view_", ".change_")))


def account_scope_view(model_admin, request: HttpRequest, object_id: str) -> HttpResponse:
    """The page, for staff who may view the account (any other: 404 or 403,
    as for the account's own page)."""
    account = model_admin.get_object(request, object_id)
    if not model_admin.has_view_permission(request, account):
        raise PermissionDenied
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"What {account} can see and do",
        "subtitle": None,
        "opts": model_admin.opts,
        "app_label": model_admin.opts.app_label,
        "original": account,
        "has_view_permission": True,
        "preview_size": PREVIEW_SIZE,
        **account_scope_context(account, request.user),
    }
    return TemplateResponse(request, "backoffice/account_scope.html", context)


def account_scope_context(account: Account, viewer: Account) -> dict:
    """Everything the page shows about `account`, as `viewer` may see it."""
    # Grants and role permissions have pages of their own, behind their own
    # view permissions: whoever may not open those does not read them here
    # either (role names it sees on the account's page anyway).
    may_view_grants = viewer.has_perm("customers.view_grant")
    may_view_roles = viewer.has_perm("auth.view_group")
    roles, direct = roles_of(account)
    if not may_view_roles:
        roles, direct = [RoleShown(role.name, []) for role in roles], []
    return {
        "may_view_grants": may_view_grants,
        "may_view_roles": may_view_roles,
        "account": account,
        "sees_everything": account.sees_everything,
        "viewer_sees_everything": viewer.sees_everything,
        "sees_all_contacts": contact_scope(account).everything,
        "roles": roles,
        "direct_permissions": direct,
        "grants": grants_of(account, viewer) if may_view_grants else [],
        "organizations": organizations_as(account, viewer),
        "contacts": contacts_as(account, viewer),
        "manage_level": GrantLevel.MANAGE,
    }
