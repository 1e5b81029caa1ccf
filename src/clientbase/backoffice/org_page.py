"""What the organization page shows below its form: its children, its
members (a page at a time), its customer groups and the grants that cover it.

Each panel reads through `visible_to` and appears only for a staff member
with the permission to view what it lists; a child, a grant or a grant's
account the staff member may not see is not shown. A panel costs a fixed
number of queries, however many children, members or grants there are.
"""

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.core.exceptions import PermissionDenied
from django.db.models import BooleanField, Q, Value
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse

from clientbase.backoffice.org_tree import parse_uuid, tree_url, visible_or_404, with_counts
from clientbase.core.errors import Invalid
from clientbase.core.models import ids_in_path
from clientbase.core.pagination import Keyset, KeysetPage
from clientbase.customers.models import Account, Contact, CustomerGroup, Grant, Organization

CHILDREN_SHOWN = 50
MEMBERS_PER_PAGE = 20
MEMBER_ORDER = Keyset("search_last_name", "search_first_name", "id")


@dataclass
class MembersPanel:
    page: KeysetPage
    next_url: str | None
    first_url: str | None  # None on the first page


def members_panel(request: HttpRequest, org: Organization, cursor: str | None = None) -> MembersPanel:
    """A page of the contacts in `org` that the caller sees, by name; no
    count (an organization may hold a million contacts)."""
    contacts = Contact.objects.visible_to(request.user).filter(organizations=org)
    try:
        page = MEMBER_ORDER.page(contacts, limit=MEMBERS_PER_PAGE, cursor=cursor)
    except Invalid:  # a cursor we did not give out: the first page
        cursor = None
        page = MEMBER_ORDER.page(contacts, limit=MEMBERS_PER_PAGE)
    url = reverse("admin:customers_organization_members", args=[org.pk])
    return MembersPanel(page, f"{url}?cursor={page.next_cursor}" if page.next_cursor else None,
                        url if cursor else None)


def organization_panels(request: HttpRequest, org: Organization) -> dict[str, Any]:
    """The panels of `org`'s page, for the template: each None when the
    caller may not view what it lists."""
    user = request.user
    panels: dict[str, Any] = {"tree_url": tree_url(open=org.pk)}
    children = list(with_counts(Organization.objects.visible_to(user).filter(parent=org), user)
                    .order_by("search_name", "id")[: CHILDREN_SHOWN + 1])
    panels["children"] = children[:CHILDREN_SHOWN]
    panels["more_children"] = len(children) > CHILDREN_SHOWN
    panels["members"] = members_panel(request, org) if user.has_perm("customers.view_contact") else None
    panels["groups"] = (list(CustomerGroup.objects.visible_to(user).filter(organizations=org)
                             .order_by("path"))
                        if user.has_perm("customers.view_customergroup") else None)
    panels["grants"] = covering_grants(user, org) if user.has_perm("customers.view_grant") else None
    return panels


def covering_grants(user, org: Organization) -> list[Grant]:
    """The grants the caller sees that cover `org`: those on it, and those
    with descendants on one of its ancestors. Each has `on_ancestor` and
    `account_seen` (False for a grant to an account the caller does not see,
    shown without its name)."""
    ancestors = ids_in_path(org.path)[:-1]
    if user.sees_everything:
        account_seen = Value(True, output_field=BooleanField())
    else:
        account_seen = Q(account__isnull=True) | Q(account__in=Account.objects.visible_to(user).values("pk"))
    grants = (Grant.objects.visible_to(user)
              .filter(Q(organization=org) | Q(organization__in=ancestors, include_descendants=True))
              .select_related("role", "account", "organization")
              .annotate(account_seen=account_seen)
              .order_by("organization__depth", "created_at", "id"))
    rows = list(grants)
    for grant in rows:
        grant.on_ancestor = grant.organization_id != org.pk
    return rows


class OrganizationPanelsMixin:
    """OrganizationAdmin's page with its panels, and the members' pages."""

    change_form_outer_after_template = "backoffice/org_tree/panels.html"

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<uuid:org_id>/members/", wrap(self.members_view), name="customers_organization_members"),
            *super().get_urls(),
        ]

    def change_view(self, request: HttpRequest, object_id: str, form_url="", extra_context=None):
        org = None
        uid = parse_uuid(object_id)
        if uid is not None:
            org = Organization.objects.visible_to(request.user).filter(pk=uid).first()
        if org is not None and request.method == "GET":
            extra_context = {**(extra_context or {}), "org_panels": organization_panels(request, org)}
        return super().change_view(request, object_id, form_url, extra_context)

    def members_view(self, request: HttpRequest, org_id: UUID) -> HttpResponse:
        """A page of the members panel (htmx swaps it in place)."""
        if not (self.has_view_permission(request) and request.user.has_perm("customers.view_contact")):
            raise PermissionDenied
        org = visible_or_404(request, org_id)
        members = members_panel(request, org, request.GET.get("cursor"))
        return TemplateResponse(request, "backoffice/org_tree/_members.html",
                                {"members": members, "original": org})
