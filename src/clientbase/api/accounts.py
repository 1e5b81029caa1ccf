"""/api/v1/accounts: logins, their roles, and their personal API tokens.

An account is addressed by its id or by its e-mail address, in any case (it
has no key: the e-mail plays that part); `me` names the caller's own account. A caller sees every account when it is an administrator, else
the accounts of the contacts it sees, plus its own. Whoever is logged in may
always list, create and revoke its own tokens.
"""

from datetime import datetime
from typing import Annotated
from uuid import UUID

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict, StringConstraints

from clientbase.api.common import (
    AccountIdent, Id, IdOrKey, Moment, Page, if_match, require_perm, resolve_ref, set_etag,
)
from clientbase.core.pagination import Keyset
from clientbase.core.errors import NotFound
from clientbase.core.models import looks_like_uuid
from clientbase.customers.models import Account, ApiToken, Contact, GrantLevel
from clientbase.customers.services import accounts as services

router = Router(tags=["accounts"])

# PostgreSQL text cannot hold NUL characters; refuse them at the edge (422)
# rather than let a query fail with a 500.
Text = Annotated[str, StringConstraints(pattern=r"^[^\x00]*$")]

Email = Field(..., min_length=3, max_length=254)
Password = Field(..., min_length=1, max_length=128, description="Write-only; never returned.")


class AccountOut(Schema):
    id: UUID
    email: str
    contact: UUID | None = Field(None, alias="contact_id")
    roles: list[str]
    is_active: bool
    is_superuser: bool
    date_joined: Moment
    last_login: Moment | None
    version: int
    updated_at: Moment

    @staticmethod
    def resolve_roles(obj: Account) -> list[str]:
        return sorted(g.name for g in obj.groups.all())


class AccountIn(Schema):
    model_config = ConfigDict(extra="forbid")
    email: str = Email
    password: str | None = Field(None, min_length=1, max_length=128,
                                 description="Write-only. Omit to invite: the account cannot log in yet.")
    roles: list[Text] = Field(default_factory=list, max_length=100,
                             description="Role names; Everyone is always added.")
    contact: IdOrKey | None = Field(None, max_length=100, description="Id or key of the contact who logs in with it.")
    is_active: bool = True


class AccountPatch(Schema):
    model_config = ConfigDict(extra="forbid")
    email: str | None = Field(None, min_length=3, max_length=254)
    password: str | None = Field(None, min_length=1, max_length=128, description="Write-only.")
    roles: list[Text] | None = Field(None, max_length=100)
    contact: IdOrKey | None = Field(None, max_length=100, description="Id or key of the contact; null: none.")
    is_active: bool | None = None


class AccountPage(Page):
    items: list[AccountOut]


class AccountFilters(Schema):
    q: Text | None = Field(None, max_length=254, description="Prefix of the e-mail address.")
    role: Text | None = Field(None, max_length=150, description="Only accounts with this role (name).")
    is_active: bool | None = None
    limit: int = Field(50, ge=1, le=500)
    cursor: str | None = Field(None, max_length=2000)


class TokenOut(Schema):
    id: UUID
    name: str
    hint: str = Field(..., description="The first characters of the token, to recognise it.")
    created_at: Moment
    last_used_at: Moment | None
    expires_at: Moment | None
    revoked_at: Moment | None
    is_active: bool


class TokenCreated(TokenOut):
    token: str = Field(..., description="The token itself. Shown only in this answer; keep it safe.")


class TokenIn(Schema):
    model_config = ConfigDict(extra="forbid")
    name: Text = Field("", max_length=100)
    expires_at: datetime | None = None


class TokenList(Schema):
    items: list[TokenOut]
    next_cursor: str | None = None


def _visible(request: HttpRequest, level: str = GrantLevel.VIEW):
    return Account.objects.visible_to(request.user, level).prefetch_related("groups")


def _lookup(ident: str) -> dict:
    """The filter finding the account that `ident` (an id or an e-mail) names."""
    ident = str(ident).strip()
    if looks_like_uuid(ident):
        return {"pk": ident}
    # Addresses are stored in lower case (Account.save), so this is
    # case-insensitive and still uses the unique index on email.
    return {"email": ident.lower()}


def _find(queryset, ident: str) -> Account:
    account = queryset.filter(**_lookup(ident)).first()
    if account is None:
        raise NotFound(detail=f"No account '{ident}'.", code="not_found")
    return account


def _is_self(request: HttpRequest, ident: str) -> bool:
    if ident == "me":
        return True
    lookup = _lookup(ident)
    return UUID(lookup["pk"]) == request.user.pk if "pk" in lookup else lookup["email"] == request.user.email


def _get(request: HttpRequest, ident: str) -> Account:
    require_perm(request, "customers.view_account")
    if ident == "me":
        ident = str(request.user.pk)
    return _find(_visible(request), ident)


def _contact(request: HttpRequest, ident: str | None) -> Contact | None:
    return resolve_ref(Contact.objects.visible_to(request.user, GrantLevel.MANAGE), ident, "contact")


def _reload(account: Account) -> Account:
    # The caller has just written it, so it may read it back even when it
    # falls outside its scope (an account created without a contact).
    return Account.objects.prefetch_related("groups").get(pk=account.pk)


@router.get("", response=AccountPage, summary="List accounts")
def list_accounts(request: HttpRequest, filters: Query[AccountFilters]):
    require_perm(request, "customers.view_account")
    qs = _visible(request)
    if filters.q:
        qs = qs.filter(email__prefix=filters.q.strip().lower())
    if filters.role:
        qs = qs.filter(groups__name=filters.role.strip())
    if filters.is_active is not None:
        qs = qs.filter(is_active=filters.is_active)
    return Keyset("email", "id").page(qs, limit=filters.limit, cursor=filters.cursor)


@router.post("", response={201: AccountOut}, summary="Create an account")
def create_account(request: HttpRequest, response: HttpResponse, payload: AccountIn):
    # The service checks the permission too; asking first keeps a caller
    # without it from learning which references exist (403 before 422).
    require_perm(request, "customers.add_account")
    with transaction.atomic():
        account = services.create_account(
            actor=request.user, email=payload.email, password=payload.password, roles=payload.roles,
            contact=_contact(request, payload.contact), is_active=payload.is_active,
        )
    account = _reload(account)
    set_etag(response, account)
    return 201, account


@router.get("/{ident}", response=AccountOut, summary="Get an account by id or e-mail ('me': your own)")
def get_account(request: HttpRequest, response: HttpResponse, ident: AccountIdent):
    account = _get(request, ident)
    set_etag(response, account)
    return account


@router.patch("/{ident}", response=AccountOut, summary="Change an account")
def update_account(request: HttpRequest, response: HttpResponse, ident: AccountIdent, payload: AccountPatch):
    data = payload.model_dump(exclude_unset=True)
    for name in ("email", "roles", "is_active"):
        if name in data and data[name] is None:
            data.pop(name)
    account = _get(request, ident)
    require_perm(request, "customers.change_account")  # as in create: 403 before 422
    with transaction.atomic():
        if "contact" in data:
            data["contact"] = _contact(request, data["contact"])
        services.update_account(account, actor=request.user, changes=data,
                                expected_version=if_match(request))
    account = _reload(account)
    set_etag(response, account)
    return account


@router.delete("/{ident}", response={204: None}, summary="Delete an account (its contact stays)")
def delete_account(request: HttpRequest, ident: AccountIdent):
    with transaction.atomic():
        services.delete_account(_get(request, ident), actor=request.user,
                                expected_version=if_match(request))
    return 204, None


# Personal API tokens ---------------------------------------------------------

def _token_owner(request: HttpRequest, ident: str, perm: str) -> Account:
    """The account whose tokens are asked for: the caller itself always; any
    other needs `perm` and must be visible (404 otherwise). Who may issue or
    revoke someone else's tokens is the service's rule."""
    if _is_self(request, ident):
        return request.user
    require_perm(request, perm)  # 403 before telling which accounts exist
    return _get(request, ident)


@router.get("/{ident}/tokens", response=TokenList, summary="List an account's API tokens")
def list_tokens(request: HttpRequest, ident: AccountIdent):
    account = _token_owner(request, ident, "customers.view_apitoken")
    tokens = ApiToken.objects.visible_to(request.user).filter(account=account)
    return {"items": list(tokens.order_by("-created_at", "id")),
            "next_cursor": None}


@router.post("/{ident}/tokens", response={201: TokenCreated},
             summary="Create an API token (the answer shows it once)")
def create_token(request: HttpRequest, ident: AccountIdent, payload: TokenIn):
    with transaction.atomic():
        account = _token_owner(request, ident, "customers.add_apitoken")
        token, raw = services.issue_token(account, actor=request.user, name=payload.name,
                                          expires_at=payload.expires_at)
    token.token = raw
    return 201, token


@router.delete("/{ident}/tokens/{token_id}", response={204: None}, summary="Revoke an API token")
def revoke_token(request: HttpRequest, ident: AccountIdent, token_id: Id):
    with transaction.atomic():
        account = _token_owner(request, ident, "customers.delete_apitoken")
        token = (ApiToken.objects.select_for_update().filter(account=account, pk=token_id).first()
                 if looks_like_uuid(token_id) else None)
        if token is None:
            raise NotFound(detail=f"No token '{token_id}' on this account.", code="not_found")
        services.revoke_token(token, actor=request.user)
    return 204, None
