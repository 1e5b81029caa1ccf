"""/api/v1/roles: roles are Django groups; their permissions say what a role may do.

A role is addressed by its integer id or by its name. The built-in roles
(Everyone, Registered, Administrators, ...) can change permissions but can be
neither renamed nor deleted.
"""

from typing import Annotated

from django.contrib.auth.models import Group
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict, StringConstraints

from clientbase.api.common import Page, RoleIdOrName, if_match, require_perm
from clientbase.core.pagination import Keyset
from clientbase.core.errors import NotFound
from clientbase.customers.services import accounts as services

router = Router(tags=["roles"])

# PostgreSQL text cannot hold NUL characters; refuse them at the edge (422)
# rather than let a query fail with a 500.
Text = Annotated[str, StringConstraints(pattern=r"^[^\x00]*$")]

RoleName = Field(..., min_length=1, max_length=150)


class RoleOut(Schema):
    id: int
    name: str
    permissions: list[str] = Field(..., description='"app_label.codename" strings.')
    built_in: bool
    version: int

    @staticmethod
    def resolve_version(obj: Group) -> int:
        row = getattr(obj, "version_row", None)  # a missing reverse one-to-one raises AttributeError
        return row.version if row is not None else 1

    @staticmethod
    def resolve_permissions(obj: Group) -> list[str]:
        return sorted(services.permission_name(p) for p in obj.permissions.all())

    @staticmethod
    def resolve_built_in(obj: Group) -> bool:
        return obj.name in services.BUILT_IN_ROLES


class RoleIn(Schema):
    model_config = ConfigDict(extra="forbid")
    name: Text = RoleName
    permissions: list[Text] = Field(default_factory=list, max_length=1000)


class RolePatch(Schema):
    model_config = ConfigDict(extra="forbid")
    name: Text | None = Field(None, min_length=1, max_length=150)
    permissions: list[Text] | None = Field(None, max_length=1000)


class RolePage(Page):
    items: list[RoleOut]


class RoleFilters(Schema):
    q: Text | None = Field(None, max_length=150, description="Prefix of the name.")
    limit: int = Field(50, ge=1, le=500)
    cursor: str | None = Field(None, max_length=2000)


def _roles():
    return Group.objects.select_related("version_row").prefetch_related("permissions__content_type")


def _get(request: HttpRequest, ident: str, perm: str = "auth.view_group") -> Group:
    # A write asks for its own permission instead of view (403 before 404).
    require_perm(request, perm)
    ident = str(ident).strip()
    if "\x00" in ident:
        raise NotFound(detail="No such role.", code="not_found")
    qs = _roles()
    role = (qs.filter(pk=int(ident)) if ident.isdigit() and len(ident) < 19 else qs.filter(name=ident)).first()
    if role is None:
        raise NotFound(detail=f"No role '{ident}'.", code="not_found")
    return role


def _with_etag(response: HttpResponse, role: Group) -> Group:
    response["ETag"] = f'"{RoleOut.resolve_version(role)}"'
    return role


@router.get("", response=RolePage, summary="List roles")
def list_roles(request: HttpRequest, filters: Query[RoleFilters]):
    require_perm(request, "auth.view_group")
    qs = _roles()
    if filters.q:
        qs = qs.filter(name__istartswith=filters.q.strip())
    return Keyset("name", "id").page(qs, limit=filters.limit, cursor=filters.cursor)


@router.post("", response={201: RoleOut}, summary="Create a role")
def create_role(request: HttpRequest, response: HttpResponse, payload: RoleIn):
    require_perm(request, "auth.add_group")  # the service asks too; 403 before 422
    with transaction.atomic():
        role = services.create_role(actor=request.user, name=payload.name,
                                    permissions=services.permissions_by_name(payload.permissions))
    return 201, _with_etag(response, _roles().get(pk=role.pk))


@router.get("/{ident}", response=RoleOut, summary="Get a role by id or name")
def get_role(request: HttpRequest, response: HttpResponse, ident: RoleIdOrName):
    return _with_etag(response, _get(request, ident))


@router.patch("/{ident}", response=RoleOut, summary="Rename a role or replace its permissions")
def update_role(request: HttpRequest, response: HttpResponse, ident: RoleIdOrName, payload: RolePatch):
    data = payload.model_dump(exclude_unset=True)
    role = _get(request, ident, "auth.change_group")
    with transaction.atomic():
        permissions = None
        if data.get("permissions") is not None:
            permissions = services.permissions_by_name(data["permissions"])
        role = services.update_role(role, actor=request.user, name=data.get("name"),
                                    permissions=permissions, expected_version=if_match(request))
    return _with_etag(response, _roles().get(pk=role.pk))


@router.delete("/{ident}", response={204: None}, summary="Delete a role that is not built in")
def delete_role(request: HttpRequest, ident: RoleIdOrName):
    with transaction.atomic():
        services.delete_role(_get(request, ident, "auth.delete_group"), actor=request.user,
                             expected_version=if_match(request))
    return 204, None
