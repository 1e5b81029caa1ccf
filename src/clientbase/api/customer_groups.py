"""/api/v1/customer-groups: the customer group tree (Customers > Gold, Silver, Bronze).

Customer groups are shop-wide: every caller with `view_customergroup` sees them all.
"""

from typing import Annotated
from uuid import UUID

from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict, StringConstraints

# The API layer may call any domain's services; customers' own services know
# nothing of prices (pricing refuses, by signal, to lose a group it uses).
from clientbase.pricing.services import delete_customer_group_with_prices

from clientbase.api.common import (
    IdOrKey, KeyStr, Moment, Page, by_id_or_key, if_match, require_perm, resolve_ref, set_etag,
)
from clientbase.core.pagination import Keyset
from clientbase.core.trees import nest
from clientbase.core.errors import NotFound
from clientbase.core.models import subtree_q
from clientbase.customers.models import CustomerGroup
from clientbase.customers.services import groups as services

router = Router(tags=["customer-groups"])

# PostgreSQL text cannot hold NUL characters: refuse them at the edge (422)
# rather than let a query fail with a 500.
Text = Annotated[str, StringConstraints(pattern=r"^[^\x00]*$")]


class CustomerGroupOut(Schema):
    id: UUID
    key: str
    name: str
    description: str
    parent: UUID | None = Field(None, alias="parent_id")
    depth: int
    version: int
    created_at: Moment
    updated_at: Moment


class CustomerGroupIn(Schema):
    model_config = ConfigDict(extra="forbid")
    key: KeyStr = Field(..., description="The group's code, used by prices and segments.")
    name: Text = Field(..., min_length=1, max_length=200)
    description: Text = Field("", max_length=10_000)
    parent: IdOrKey | None = Field(None, description="Id or key of the parent; null for a root.")


class CustomerGroupPatch(Schema):
    model_config = ConfigDict(extra="forbid")
    key: KeyStr | None = None
    name: Text | None = Field(None, min_length=1, max_length=200)
    description: Text | None = Field(None, max_length=10_000)
    parent: IdOrKey | None = Field(None, description=(
        "Id or key of the new parent: moves the group with its subtree; null: to the top."))


class CustomerGroupPage(Page):
    items: list[CustomerGroupOut]


class CustomerGroupFilters(Schema):
    q: Text | None = Field(None, max_length=200, description="Prefix of the name or of the key, any case.")
    parent: IdOrKey | None = Field(None, description="Only the children of this group (id or key).")
    limit: int = Field(50, ge=1, le=500)
    cursor: Text | None = Field(None, max_length=2000)


class GroupTreeOut(Schema):
    id: UUID
    key: str
    name: str
    children: list["GroupTreeOut"]


def _get(request: HttpRequest, ident: str) -> CustomerGroup:
    require_perm(request, "customers.view_customergroup")
    if "\x00" in ident:  # no key holds one; and PostgreSQL would refuse the query
        raise NotFound(detail="No such customer group.", code="not_found")
    return by_id_or_key(CustomerGroup.objects.visible_to(request.user), ident, label="customer group")


def _parent(ident: str | None) -> CustomerGroup | None:
    return resolve_ref(CustomerGroup.objects.all(), ident, "parent")


@router.get("", response=CustomerGroupPage, summary="List customer groups")
def list_customer_groups(request: HttpRequest, filters: Query[CustomerGroupFilters]):
    require_perm(request, "customers.view_customergroup")
    qs = CustomerGroup.objects.visible_to(request.user)
    if filters.q and (term := filters.q.strip()):
        # Groups are few (tens, not millions): an unindexed istartswith is fine.
        qs = qs.filter(Q(name__istartswith=term) | Q(key__istartswith=term))
    if filters.parent:
        qs = qs.filter(parent=resolve_ref(CustomerGroup.objects.all(), filters.parent, "parent"))
    return Keyset("path", "id").page(qs, limit=filters.limit, cursor=filters.cursor)


@router.post("", response={201: CustomerGroupOut}, summary="Create a customer group")
def create_customer_group(request: HttpRequest, response: HttpResponse, payload: CustomerGroupIn):
    require_perm(request, "customers.add_customergroup")
    with transaction.atomic():
        group = services.create_customer_group(
            actor=request.user, key=payload.key.strip(), name=payload.name.strip(), description=payload.description,
            parent=_parent(payload.parent),
        )
    set_etag(response, group)
    return 201, group


@router.get("/{ident}", response=CustomerGroupOut, summary="Get a customer group by id or key")
def get_customer_group(request: HttpRequest, response: HttpResponse, ident: IdOrKey):
    group = _get(request, ident)
    set_etag(response, group)
    return group


@router.patch("/{ident}", response=CustomerGroupOut, summary="Change or move a customer group")
def update_customer_group(request: HttpRequest, response: HttpResponse, ident: IdOrKey,
                          payload: CustomerGroupPatch):
    data = payload.model_dump(exclude_unset=True)
    group = _get(request, ident)
    require_perm(request, "customers.change_customergroup")  # the service asks too; 403 before 422
    with transaction.atomic():
        # key and name are required: a null leaves them as they are.
        changes = {k: data[k] for k in ("key", "name", "description")
                   if k in data and data[k] is not None}
        group = services.update_customer_group(
            group, actor=request.user, changes=changes, expected_version=if_match(request),
            parent=_parent(data.get("parent")), parent_given="parent" in data,
        )
    group = _get(request, str(group.pk))
    set_etag(response, group)
    return group


@router.delete("/{ident}", response={204: None}, summary="Delete a customer group without children")
def delete_customer_group(request: HttpRequest, ident: IdOrKey,
                          delete_prices: bool = Query(False, description=(
                              "Also delete the price rows for this group; without it, a group "
                              "that prices use is refused (409, with the count)."))):
    group = _get(request, ident)
    delete = delete_customer_group_with_prices if delete_prices else services.delete_customer_group
    delete(group, actor=request.user, expected_version=if_match(request))
    return 204, None


@router.get("/{ident}/tree", response=GroupTreeOut, summary="The subtree below a customer group")
def customer_group_tree(request: HttpRequest, ident: IdOrKey):
    root = _get(request, ident)
    # One query for the whole subtree; children are linked in memory.
    rows = list(
        CustomerGroup.objects.visible_to(request.user).filter(subtree_q(root.path))
        .order_by("depth", "name", "id").values("id", "key", "name", "parent_id")
    )
    return nest(rows, root.pk)
