"""/api/v1/contacts: the shop's customers, their addresses and memberships."""

import dataclasses
from datetime import date, datetime, timezone as dt_timezone
from typing import Annotated, Literal
from uuid import UUID

from django.db import transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict, StringConstraints

from clientbase.api.common import (
    IdOrKey, KeyStr, Moment, Shaped, ShapedPage, id_or_key_lookup, if_match, not_found, require_perm, resolve_ref, resolve_refs,
    set_etag,
)
from clientbase.core.pagination import Keyset, KeysetPage
from clientbase.core.errors import Invalid, NotFound
from clientbase.core.moments import aware
from clientbase.customers.models import (
    Contact, ContactSource, CustomerGroup, GrantLevel, Organization,
)
from clientbase.customers.services import contacts as services
from clientbase.customers.services.contact_reads import ContactRelations, relations_of, visible_contact
from clientbase.customers.services.groups import effective_groups
from clientbase.customers.models.visibility import OrganizationScope, organization_scope

router = Router(tags=["contacts"])

# PostgreSQL text cannot hold NUL characters: refuse them at the edge (422)
# rather than let a query fail with a 500.
Text = Annotated[str, StringConstraints(pattern=r"^[^\x00]*$")]
ORDERING = ["search_last_name", "search_first_name", "id"]


# --- schemas ----------------------------------------------------------------

class AddressOut(Shaped):
    id: UUID
    name: str
    first_name: str
    last_name: str
    line1: str
    line2: str
    city: str
    postcode: str
    region: str
    country: str
    phone: str
    is_default_shipping: bool
    is_default_billing: bool


class ContactOut(Shaped):
    id: UUID
    key: str | None
    first_name: str
    last_name: str
    email: str | None
    phone: str
    birth_date: date | None
    preferred_language: str
    preferred_currency: str
    source: ContactSource
    organizations: list[UUID] = Field(description="Ids of the organizations you can see it in.")
    customer_groups: list[UUID]
    addresses: list[AddressOut]
    account: UUID | None = Field(None, description="The account that logs in as this contact.")
    version: int
    created_at: Moment
    updated_at: Moment

    @classmethod
    def shape(cls, contact: Contact, viewer=None) -> dict:
        """The answer for one contact read through `for_listing` or
        `visible_contact`, as `viewer` may see it (`shape_all`)."""
        return cls.shape_all([contact], viewer)[0]

    @classmethod
    def shape_all(cls, contacts: list[Contact], viewer=None) -> list[dict]:
        """The answers for contacts read through `for_listing` or
        `visible_contact` (both give the account's id), as `viewer` may see
        them: only the organizations it can see, for the others do not exist
        for it. Their relations come in one query whatever their number
        (customers.services.contact_reads)."""
        if not contacts:
            return []
        relations = relations_of([c.pk for c in contacts], address_fields=_ADDRESS_FIELDS,
                                 using=contacts[0]._state.db)
        scope = organization_scope(viewer)
        return [cls._shape(contact, relations[contact.pk], scope) for contact in contacts]

    @staticmethod
    def _shape(contact: Contact, relations: ContactRelations, scope: OrganizationScope) -> dict:
        shaped = {name: getattr(contact, name) for name in _CONTACT_ATTRIBUTES}
        shaped["organizations"] = [pk for pk, path in relations.organizations if scope.contains(pk, path)]
        shaped["customer_groups"] = relations.customer_groups
        shaped["addresses"] = relations.addresses
        if "account_ref" in contact.__dict__:  # given by for_listing and visible_contact
            shaped["account"] = contact.account_ref
        else:
            account = getattr(contact, "account", None)  # a missing reverse one-to-one raises AttributeError
            shaped["account"] = account.pk if account is not None else None
        return shaped


_CONTACT_ATTRIBUTES = [name for name in ContactOut.model_fields
                       if name not in ("organizations", "customer_groups", "addresses", "account")]
_ADDRESS_FIELDS = tuple(AddressOut.model_fields)


Text100 = Field("", max_length=100)


class AddressIn(Schema):
    model_config = ConfigDict(extra="forbid")
    id: UUID | None = Field(None, description="Keep this existing address (changing it in place).")
    name: Text = Text100
    first_name: Text = Text100
    last_name: Text = Text100
    line1: Text = Field(..., min_length=1, max_length=200)
    line2: Text = Field("", max_length=200)
    city: Text = Field(..., min_length=1, max_length=100)
    postcode: Text = Field("", max_length=20)
    region: Text = Text100
    country: Text = Field(..., min_length=2, max_length=2, description="ISO 3166-1 alpha-2, e.g. DE.")
    phone: Text = Field("", max_length=32, description="E.164, e.g. +4930123456.")
    is_default_shipping: bool = False
    is_default_billing: bool = False


Refs = Field(default_factory=list, max_length=1000, description="Ids or keys.")


class ContactIn(Schema):
    model_config = ConfigDict(extra="forbid")
    key: KeyStr | None = None
    first_name: Text = Text100
    last_name: Text = Text100
    email: Text | None = Field(None, max_length=254)
    phone: Text | None = Field(None, max_length=32, description="E.164, e.g. +4930123456.")
    birth_date: date | None = None
    preferred_language: Text | None = Field(None, max_length=16, description="e.g. en or en-GB.")
    preferred_currency: Text | None = Field(None, max_length=16, description="ISO 4217, e.g. EUR.")
    source: ContactSource = ContactSource.API
    organizations: list[IdOrKey] = Refs
    customer_groups: list[IdOrKey] = Refs
    addresses: list[AddressIn] = Field(default_factory=list, max_length=100)


class ContactPatch(Schema):
    model_config = ConfigDict(extra="forbid")
    key: KeyStr | None = None
    first_name: Text | None = Field(None, max_length=100)
    last_name: Text | None = Field(None, max_length=100)
    email: Text | None = Field(None, max_length=254)
    phone: Text | None = Field(None, max_length=32)
    birth_date: date | None = None
    preferred_language: Text | None = Field(None, max_length=16)
    preferred_currency: Text | None = Field(None, max_length=16)
    source: ContactSource | None = None
    organizations: list[IdOrKey] | None = Field(None, max_length=1000, description="Ids or keys; replaces all.")
    customer_groups: list[IdOrKey] | None = Field(None, max_length=1000, description="Ids or keys; replaces all.")
    addresses: list[AddressIn] | None = Field(None, max_length=100, description="Replaces all addresses.")


class ContactPage(ShapedPage):
    items: list[ContactOut]


class ContactFilters(Schema):
    q: Text | None = Field(None, max_length=200,
                          description="Prefix of first name, last name or e-mail; or the exact key.")
    organization: IdOrKey | None = Field(None, description="Members of this organization (id or key).")
    subtree: bool = Field(False, description="With `organization`: members of it or of any organization "
                                             "below it.")
    include_descendants: bool = Field(False, description="The same as `subtree` (its older name).")
    customer_group: IdOrKey | None = Field(None, description="Direct members of this group (id or key).")
    effective_group: IdOrKey | None = Field(
        None, description="Contacts effectively in this group (id or key): directly, through an "
                          "organization or one of its ancestors, or through a child group — as "
                          "`/contacts/{id}/effective-groups` answers.")
    email: Text | None = Field(None, max_length=254, description="Exact e-mail, any case.")
    source: ContactSource | None = None
    has_account: bool | None = None
    created_after: datetime | None = Field(
        None, description="Created at or after this moment (a date alone: its start; no zone: UTC).")
    created_before: datetime | None = Field(
        None, description="Created before this moment (a date alone: its start; no zone: UTC).")
    limit: int = Field(50, ge=1, le=500)
    cursor: Text | None = Field(None, max_length=2000)


class GroupRef(Schema):
    id: UUID
    key: str
    name: str


class StepOut(Schema):
    kind: Literal["direct", "organization", "ancestor", "parent_group"]
    id: UUID | None
    key: str | None
    name: str
    via: str | None


class EffectiveGroupOut(Schema):
    group: GroupRef
    paths: list[list[StepOut]]
    reasons: list[str]


class EffectiveGroupsOut(Schema):
    items: list[EffectiveGroupOut]


# --- helpers ----------------------------------------------------------------

def for_listing(contacts):
    """Contacts as a list answers them (ContactOut.shape_all, which reads
    their relations). Of the account only its id is shown: join for that
    column alone rather than build an Account object per contact."""
    return contacts.annotate(account_ref=F("account__id"))


def contact_page(page: KeysetPage, viewer) -> dict:
    """A page of contacts (read through `for_listing`) as ContactPage answers it."""
    return {"items": ContactOut.shape_all(page.items, viewer), "next_cursor": page.next_cursor}


def _visible(request: HttpRequest, level: str = GrantLevel.VIEW):
    return for_listing(Contact.objects.visible_to(request.user, level))


def _get(request: HttpRequest, ident: str) -> Contact:
    require_perm(request, "customers.view_contact")
    if "\x00" in ident:  # no key holds one; and PostgreSQL would refuse the query
        raise NotFound(detail="No such contact.", code="not_found")
    # One statement written once (customers.services.contact_reads), not a
    # scoped queryset built and compiled on every request.
    contact = visible_contact(request.user, **id_or_key_lookup(ident))
    if contact is None:
        raise not_found(Contact.objects, ident, label="contact")
    return contact


def _organizations(request: HttpRequest, idents: list[str]) -> list[Organization]:
    # An organization the caller cannot see is unknown to it: 422, as if missing.
    return resolve_refs(Organization.objects.visible_to(request.user), idents, "organizations")


def _groups(idents: list[str]) -> list[CustomerGroup]:
    return resolve_refs(CustomerGroup.objects.all(), idents, "customer_groups")


def _in_utc(moment: datetime | None, field: str) -> datetime | None:
    """A filter's moment in UTC (none without a zone: UTC); 422 for one
    that has no UTC equivalent (year 9999 west of Greenwich)."""
    if moment is None:
        return None
    try:
        return aware(moment).astimezone(dt_timezone.utc)
    except OverflowError:
        raise Invalid.on(field, "A moment between the years 1 and 9999 in UTC.", code="out_of_range") from None


def _created_between(qs, after: datetime | None, before: datetime | None):
    after, before = _in_utc(after, "created_after"), _in_utc(before, "created_before")
    if after is not None and before is not None and after >= before:
        raise Invalid.on("created_before", "created_before must be later than created_after.",
                         code="invalid_range")
    if after is not None:
        qs = qs.filter(created_at__gte=after)
    if before is not None:
        qs = qs.filter(created_at__lt=before)
    return qs


def _reload(request: HttpRequest, contact: Contact) -> Contact:
    return visible_contact(request.user, pk=contact.pk) or contact


# --- endpoints --------------------------------------------------------------

@router.get("", response=ContactPage, summary="List and search contacts")
def list_contacts(request: HttpRequest, filters: Query[ContactFilters]):
    require_perm(request, "customers.view_contact")
    qs = _visible(request).search(filters.q)
    if filters.organization:
        # An organization the caller cannot see is unknown to it: 422, as if missing.
        org = resolve_ref(Organization.objects.visible_to(request.user), filters.organization,
                          "organization")
        qs = qs.in_organization(org, subtree=filters.subtree or filters.include_descendants)
    if filters.customer_group:
        group = resolve_ref(CustomerGroup.objects.visible_to(request.user), filters.customer_group,
                            "customer_group")
        qs = qs.filter(customer_groups=group)
    if filters.effective_group:
        group = resolve_ref(CustomerGroup.objects.visible_to(request.user), filters.effective_group,
                            "effective_group")
        qs = qs.effectively_in(group)
    if filters.email:
        qs = qs.filter(email=filters.email.strip().lower())
    if filters.source:
        qs = qs.filter(source=filters.source)
    if filters.has_account is not None:
        qs = qs.filter(account__isnull=not filters.has_account)
    qs = _created_between(qs, filters.created_after, filters.created_before)
    # A search skips many rows of the list order: find the page's ids in the
    # covering search index first (docs/benchmarks.md, contact search).
    page = Keyset(*ORDERING, late_rows=bool(filters.q)).page(qs, limit=filters.limit, cursor=filters.cursor)
    return contact_page(page, request.user)


@router.post("", response={201: ContactOut}, summary="Create a contact")
def create_contact(request: HttpRequest, response: HttpResponse, payload: ContactIn):
    # The service checks the permission too; asking first keeps a caller
    # without it from learning which references exist (403 before 422).
    require_perm(request, "customers.add_contact")
    data = payload.model_dump()
    with transaction.atomic():
        contact = services.create_contact(
            actor=request.user,
            fields={k: data[k] for k in services.CONTACT_FIELDS},
            organizations=_organizations(request, payload.organizations),
            customer_groups=_groups(payload.customer_groups),
            addresses=data["addresses"],
        )
    contact = _reload(request, contact)
    set_etag(response, contact)
    return 201, ContactOut.shape(contact, request.user)


@router.get("/{ident}", response=ContactOut, summary="Get a contact by id or key")
def get_contact(request: HttpRequest, response: HttpResponse, ident: IdOrKey):
    contact = _get(request, ident)
    set_etag(response, contact)
    return ContactOut.shape(contact, request.user)


@router.patch("/{ident}", response=ContactOut, summary="Change a contact")
def update_contact(request: HttpRequest, response: HttpResponse, ident: IdOrKey, payload: ContactPatch):
    data = payload.model_dump(exclude_unset=True)
    contact = _get(request, ident)
    require_perm(request, "customers.change_contact")  # as in create: 403 before 422
    with transaction.atomic():
        # A null list clears it; an absent one leaves it alone.
        organizations = customer_groups = addresses = None
        if "organizations" in data:
            organizations = _organizations(request, data["organizations"] or [])
        if "customer_groups" in data:
            customer_groups = _groups(data["customer_groups"] or [])
        if "addresses" in data:
            # Each address is replaced as a whole: a field left out takes its default.
            addresses = [a.model_dump() for a in payload.addresses or []]
        contact = services.update_contact(
            contact, actor=request.user, expected_version=if_match(request),
            changes={k: v for k, v in data.items() if k in services.CONTACT_FIELDS},
            organizations=organizations, customer_groups=customer_groups, addresses=addresses,
        )
    contact = _reload(request, contact)
    set_etag(response, contact)
    return ContactOut.shape(contact, request.user)


@router.delete("/{ident}", response={204: None}, summary="Delete a contact")
def delete_contact(request: HttpRequest, ident: IdOrKey):
    with transaction.atomic():
        services.delete_contact(_get(request, ident), actor=request.user,
                                expected_version=if_match(request))
    return 204, None


@router.get("/{ident}/effective-groups", response=EffectiveGroupsOut,
            summary="The contact's effective customer groups, each with the paths that gave it")
def contact_effective_groups(request: HttpRequest, ident: IdOrKey):
    contact = _get(request, ident)
    items = []
    for eg in effective_groups(contact, viewer=request.user):
        items.append({
            "group": eg.group,
            "paths": [[dataclasses.asdict(s) for s in path] for path in eg.paths],
            "reasons": eg.reasons,
        })
    return {"items": items}
