"""/api/v1/grants: which organizations a role, or one account, may see or manage.

A grant names its holder as `role` (name or id) or `account` (id or e-mail),
and its `organization` (id or key). A caller sees the grants on the
organizations it sees, and may create, change or delete grants only on the
organizations it manages.
"""

from uuid import UUID

from django.contrib.auth.models import Group
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict

from clientbase.api.common import (
    AccountIdOrEmail, Id, IdOrKey, Moment, Page, RoleIdOrName, by_id_or_key, if_match,
    require_perm, resolve_ref, set_etag,
)
from clientbase.core.pagination import Keyset
from clientbase.core.errors import Invalid, NotFound
from clientbase.core.models import looks_like_uuid
from clientbase.customers.models import Account, Grant, GrantLevel, Organization
from clientbase.customers.services import grants as services

router = Router(tags=["grants"])


class GrantOut(Schema):
    id: UUID
    role: str | None = Field(None, description="The role's name, when the grant is a role's.")
    role_id: int | None
    account: UUID | None = Field(None, alias="account_id")
    account_email: str | None
    organization: UUID = Field(..., alias="organization_id")
    organization_key: str | None
    include_descendants: bool
    level: GrantLevel
    version: int
    created_at: Moment
    updated_at: Moment

    @staticmethod
    def resolve_role(obj: Grant) -> str | None:
        return obj.role.name if obj.role_id else None

    @staticmethod
    def resolve_account_email(obj: Grant) -> str | None:
        return obj.account.email if obj.account_id else None

    @staticmethod
    def resolve_organization_key(obj: Grant) -> str | None:
        return obj.organization.key


class GrantIn(Schema):
    model_config = ConfigDict(extra="forbid")
    role: RoleIdOrName | None = Field(None, max_length=150, description="Name or id of the role; or give `account`.")
    account: AccountIdOrEmail | None = Field(None, max_length=254,
                                             description="Id or e-mail of the account; or give `role`.")
    organization: IdOrKey = Field(..., min_length=1, max_length=100, description="Id or key.")
    include_descendants: bool = True
    level: GrantLevel = GrantLevel.VIEW


class GrantPatch(Schema):
    model_config = ConfigDict(extra="forbid")
    role: RoleIdOrName | None = Field(None, max_length=150, description="Name or id of the role.")
    account: AccountIdOrEmail | None = Field(None, max_length=254, description="Id or e-mail of the account.")
    organization: IdOrKey | None = Field(None, min_length=1, max_length=100, description="Id or key.")
    include_descendants: bool | None = None
    level: GrantLevel | None = None


class GrantPage(Page):
    items: list[GrantOut]


class GrantFilters(Schema):
    role: RoleIdOrName | None = Field(None, max_length=150, description="Role name or id.")
    account: AccountIdOrEmail | None = Field(None, max_length=254, description="Account id or e-mail.")
    organization: IdOrKey | None = Field(None, max_length=100, description="Organization id or key.")
    limit: int = Field(50, ge=1, le=500)
    cursor: str | None = Field(None, max_length=2000)


def _visible(request: HttpRequest):
    return Grant.objects.visible_to(request.user).select_related("role", "account", "organization")


def _role(ident: str | int | None, field: str = "role") -> Group | None:
    """The role with this id or name; 422 on `field` when there is none."""
    if ident is None or ident == "":
        return None
    ident = str(ident).strip()
    qs = Group.objects.filter(pk=int(ident)) if ident.isdigit() and len(ident) < 19 else Group.objects.filter(name=ident)
    role = qs.first()
    if role is None:
        raise Invalid.on(field, f"No role '{ident}'.", code="unknown_reference")
    return role


def _account(request: HttpRequest, ident: str | None, field: str = "account") -> Account | None:
    """The account with this id or e-mail, among those the caller sees; 422 on
    `field` otherwise."""
    if ident is None or ident == "":
        return None
    ident = str(ident).strip()
    visible = Account.objects.visible_to(request.user)
    lookup = {"pk": ident} if looks_like_uuid(ident) else {"email__iexact": ident}
    account = visible.filter(**lookup).first()
    if account is None:
        raise Invalid.on(field, f"No account '{ident}'.", code="unknown_reference")
    return account


def _organization(request: HttpRequest, ident: str, field: str = "organization") -> Organization:
    # An organization the caller cannot see is unknown to it (422, not 403):
    # the answer must not reveal that it exists.
    return resolve_ref(Organization.objects.visible_to(request.user), ident, field)


def _get(request: HttpRequest, ident: str) -> Grant:
    require_perm(request, "customers.view_grant")
    grant = _visible(request).filter(pk=ident).first() if looks_like_uuid(ident) else None
    if grant is None:
        raise NotFound(detail=f"No grant '{ident}'.", code="not_found")
    return grant


@router.get("", response=GrantPage, summary="List grants")
def list_grants(request: HttpRequest, filters: Query[GrantFilters]):
    require_perm(request, "customers.view_grant")
    qs = _visible(request)
    if filters.role:
        qs = qs.filter(role=_role(filters.role))
    if filters.account:
        qs = qs.filter(account=_account(request, filters.account))
    if filters.organization:
        qs = qs.filter(organization=by_id_or_key(Organization.objects.visible_to(request.user),
                                                 filters.organization, label="organization"))
    return Keyset("id").page(qs, limit=filters.limit, cursor=filters.cursor)


@router.post("", response={201: GrantOut}, summary="Grant a role or an account access to an organization")
def create_grant(request: HttpRequest, response: HttpResponse, payload: GrantIn):
    require_perm(request, "customers.add_grant")
    with transaction.atomic():
        grant = services.create_grant(
            organization=_organization(request, payload.organization),
            role=_role(payload.role), account=_account(request, payload.account),
            include_descendants=payload.include_descendants, level=payload.level,
            actor=request.user,
        )
    grant = _visible(request).get(pk=grant.pk)
    set_etag(response, grant)
    return 201, grant


@router.get("/{ident}", response=GrantOut, summary="Get a grant")
def get_grant(request: HttpRequest, response: HttpResponse, ident: Id):
    grant = _get(request, ident)
    set_etag(response, grant)
    return grant


@router.patch("/{ident}", response=GrantOut, summary="Change a grant")
def update_grant(request: HttpRequest, response: HttpResponse, ident: Id, payload: GrantPatch):
    data = payload.model_dump(exclude_unset=True)
    grant = _get(request, ident)
    require_perm(request, "customers.change_grant")  # the service asks too; 403 before 422
    with transaction.atomic():
        changes: dict = {}
        if "role" in data:
            changes["role"] = _role(data["role"])
        if "account" in data:
            changes["account"] = _account(request, data["account"])
        if data.get("organization") is not None:
            changes["organization"] = _organization(request, data["organization"])
        for name in ("include_descendants", "level"):
            if data.get(name) is not None:
                changes[name] = data[name]
        grant = services.update_grant(grant, actor=request.user, changes=changes,
                                      expected_version=if_match(request))
    grant = Grant.objects.select_related("role", "account", "organization").get(pk=grant.pk)
    set_etag(response, grant)
    return grant


@router.delete("/{ident}", response={204: None}, summary="Delete a grant")
def delete_grant(request: HttpRequest, ident: Id):
    with transaction.atomic():
        services.delete_grant(_get(request, ident), actor=request.user,
                              expected_version=if_match(request))
    return 204, None
