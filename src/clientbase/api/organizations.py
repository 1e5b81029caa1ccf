"""/api/v1/organizations: the organization tree."""

from uuid import UUID

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict

from clientbase.api.common import (
    IdOrKey, KeyStr, Moment, Page, by_id_or_key, if_match, require_perm, resolve_ref, resolve_refs,
    set_etag,
)
from clientbase.core.pagination import Keyset
from clientbase.core.trees import nest
from clientbase.core.errors import Invalid, NotFound
from clientbase.core.models import subtree_q
from clientbase.customers.models import CustomerGroup, GrantLevel, Organization, OrganizationKind
from clientbase.customers.services import organizations as services

router = Router(tags=["organizations"])


class OrganizationOut(Schema):
    id: UUID
    key: str | None
    name: str
    kind: OrganizationKind
    parent: UUID | None = Field(None, alias="parent_id")
    customer_groups: list[UUID]
    depth: int
    version: int
    created_at: Moment
    updated_at: Moment

    @staticmethod
    def resolve_customer_groups(obj: Organization) -> list[UUID]:
        return [g.pk for g in obj.customer_groups.all()]


class OrganizationIn(Schema):
    model_config = ConfigDict(extra="forbid")
    key: KeyStr | None = None
    name: str = Field(..., min_length=1, max_length=200)
    kind: OrganizationKind = OrganizationKind.ORGANIZATION
    parent: IdOrKey | None = Field(None, description="Id or key of the parent; null for a root.")
    customer_groups: list[IdOrKey] = Field(default_factory=list, max_length=1000, description="Ids or keys.")


class OrganizationPatch(Schema):
    model_config = ConfigDict(extra="forbid")
    key: KeyStr | None = None
    name: str | None = Field(None, min_length=1, max_length=200)
    kind: OrganizationKind | None = None
    parent: IdOrKey | None = Field(None, description="Id or key of the new parent; null: to the top.")
    customer_groups: list[IdOrKey] | None = Field(None, max_length=1000, description="Ids or keys; replaces all.")


class OrganizationPage(Page):
    items: list[OrganizationOut]


class OrganizationFilters(Schema):
    q: str | None = Field(None, max_length=200, description="Prefix of the name, or the key.")
    parent: IdOrKey | None = Field(None, description="Only the children of this organization (id or key).")
    under: IdOrKey | None = Field(None, description="Only this organization's subtree (id or key).")
    kind: OrganizationKind | None = None
    customer_group: IdOrKey | None = Field(None, description="Only organizations with this group (id or key).")
    limit: int = Field(50, ge=1, le=500)
    cursor: str | None = Field(None, max_length=2000)


class MoveIn(Schema):
    model_config = ConfigDict(extra="forbid")
    parent: IdOrKey | None = Field(..., description="Id or key of the new parent; null for a root.")


class TreeNodeOut(Schema):
    id: UUID
    key: str | None
    name: str
    kind: OrganizationKind
    children: list["TreeNodeOut"]


def _visible(request: HttpRequest, level: str = GrantLevel.VIEW):
    return Organization.objects.visible_to(request.user, level).prefetch_related("customer_groups")


def _get(request: HttpRequest, ident: str) -> Organization:
    require_perm(request, "customers.view_organization")
    return by_id_or_key(_visible(request), ident, label="organization")


def _parent(request: HttpRequest, ident: str | None, field: str = "parent") -> Organization | None:
    # An organization the caller cannot see is unknown to it: 422, as if missing.
    return resolve_ref(Organization.objects.visible_to(request.user), ident, field)


def _groups(idents: list[str]) -> list[CustomerGroup]:
    return resolve_refs(CustomerGroup.objects.all(), idents, "customer_groups")


@router.get("", response=OrganizationPage, summary="List organizations")
def list_organizations(request: HttpRequest, filters: Query[OrganizationFilters]):
    require_perm(request, "customers.view_organization")
    qs = _visible(request)
    if filters.q:
        term = filters.q.strip()
        qs = qs.filter(search_name__prefix=term.casefold()) | qs.filter(key=term)
    if filters.parent:
        qs = qs.filter(parent=by_id_or_key(_visible(request), filters.parent, label="organization"))
    if filters.under:
        root = by_id_or_key(_visible(request), filters.under, label="organization")
        qs = qs.filter(subtree_q(root.path))
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.customer_group:
        group = by_id_or_key(CustomerGroup.objects.all(), filters.customer_group, label="customer group")
        qs = qs.filter(customer_groups=group)
    return Keyset("search_name", "id").page(qs, limit=filters.limit, cursor=filters.cursor)


@router.post("", response={201: OrganizationOut}, summary="Create an organization")
def create_organization(request: HttpRequest, response: HttpResponse, payload: OrganizationIn):
    # The service checks the permission too; asking first keeps a caller
    # without it from learning which references exist (403 before 422).
    require_perm(request, "customers.add_organization")
    with transaction.atomic():
        org = services.create_organization(
            actor=request.user, name=payload.name, key=payload.key, kind=payload.kind,
            parent=_parent(request, payload.parent),
            customer_groups=_groups(payload.customer_groups),
        )
    set_etag(response, org)
    return 201, org


@router.get("/{ident}", response=OrganizationOut, summary="Get an organization by id or key")
def get_organization(request: HttpRequest, response: HttpResponse, ident: IdOrKey):
    org = _get(request, ident)
    set_etag(response, org)
    return org


@router.patch("/{ident}", response=OrganizationOut, summary="Change an organization")
def update_organization(request: HttpRequest, response: HttpResponse, ident: IdOrKey,
                        payload: OrganizationPatch):
    data = payload.model_dump(exclude_unset=True)
    for field in ("name", "kind", "customer_groups"):
        # Only `key` and `parent` may be cleared; null elsewhere is a mistake,
        # not "leave it as it is" (that is what leaving the field out means).
        if field in data and data[field] is None:
            raise Invalid.on(field, "This field may not be null.", code="null")
    with transaction.atomic():
        org = services.update_organization(
            _get(request, ident), actor=request.user, expected_version=if_match(request),
            changes={k: data[k] for k in ("key", "name", "kind") if k in data},
            customer_groups=_groups(data["customer_groups"]) if "customer_groups" in data else None,
            parent=_parent(request, data.get("parent")), parent_given="parent" in data,
        )
    set_etag(response, org)
    return org


@router.delete("/{ident}", response={204: None}, summary="Delete an empty organization")
def delete_organization(request: HttpRequest, ident: IdOrKey):
    with transaction.atomic():
        services.delete_organization(_get(request, ident), actor=request.user,
                                     expected_version=if_match(request))
    return 204, None


@router.post("/{ident}/move", response=OrganizationOut, summary="Move an organization and its subtree")
def move_organization(request: HttpRequest, response: HttpResponse, ident: IdOrKey, payload: MoveIn):
    with transaction.atomic():
        org = services.move_organization(
            _get(request, ident), _parent(request, payload.parent), actor=request.user,
            expected_version=if_match(request))
    set_etag(response, org)
    return org


@router.get("/{ident}/tree", response=TreeNodeOut, summary="The subtree below an organization")
def organization_tree(request: HttpRequest, ident: IdOrKey,
                      depth: int = Query(50, ge=1, le=50, description="Levels below the root to include.")):
    root = _get(request, ident)
    # One query for the whole visible subtree; children are linked in memory.
    rows = list(
        _visible(request).filter(subtree_q(root.path), depth__lte=root.depth + depth)
        .order_by("depth", "search_name", "id").values("id", "key", "name", "kind", "parent_id")
    )
    tree = nest(rows, root.pk)
    if tree is None:
        raise NotFound(detail=f"No organization '{ident}'.", code="not_found")
    return tree
