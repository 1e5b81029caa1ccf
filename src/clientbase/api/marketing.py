"""/api/v1/visitor-groups, /segments, /campaigns and /content-slots: who
visits, whom a campaign is for, what it offers and what each visitor sees.

Marketing definitions are shop-wide: every caller with the model's view
permission sees them all.
"""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from django.db.models import Q
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict, StringConstraints

from clientbase.api.common import (
    IdOrKey, KeyStr, ListParams, Moment, Page, by_id_or_key, if_match, require_perm, resolve_refs, set_etag,
)
from clientbase.api.contacts import ORDERING as CONTACT_ORDERING, ContactPage, contact_page, for_listing
from clientbase.api.store import OfferVerdictOut, QuoteOut
from clientbase.core.pagination import Keyset
from clientbase.customers.models import Contact, CustomerGroup
from clientbase.marketing import services
from clientbase.marketing.models import Campaign, ContentSlot, Segment, VisitorGroup
from clientbase.marketing.segments import members as segment_members_of
from clientbase.pricing import listing
from clientbase.shopping.services import quotes as shopping_quotes
from clientbase.transfer.exports import CONTENT_TYPES, export_pieces

Text = Annotated[str, StringConstraints(pattern=r"^[^\x00]*$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]


def _changes(payload: Schema, *skip: str) -> dict[str, Any]:
    return {k: v for k, v in payload.model_dump(exclude_unset=True).items() if k not in skip}


# What each kind's answer reads besides its own row, fetched once per page.
PREFETCH = {"segment": ["customer_groups", "visitor_groups"],
            "campaign": ["segments", "promotions"],
            "contentslot": ["variants__visitor_group"]}


def _visible(request: HttpRequest, model):
    return model.objects.visible_to(request.user).prefetch_related(*PREFETCH.get(model._meta.model_name, []))


def _list(request: HttpRequest, model, params: ListParams):
    require_perm(request, f"marketing.view_{model._meta.model_name}")
    qs = _visible(request, model)
    if params.q:
        qs = qs.filter(Q(key__istartswith=params.q) | Q(name__istartswith=params.q))
    return Keyset("key", "id").page(qs, limit=params.limit, cursor=params.cursor)


def _get(request: HttpRequest, model, ident: str):
    # The permission before the lookup: without it, which keys exist is no answer.
    require_perm(request, f"marketing.view_{model._meta.model_name}")
    return by_id_or_key(_visible(request, model), ident)


# --- Visitor groups -------------------------------------------------------------------

visitor_groups = Router(tags=["visitor-groups"])


class CriterionIO(Schema):
    model_config = ConfigDict(extra="forbid")
    type: str = Field(..., max_length=100, description="A registered criterion type, e.g. returning.")
    params: dict[str, Any] = Field(default_factory=dict)
    points: int = Field(1, ge=0, le=1000)


class VisitorGroupOut(Schema):
    id: UUID
    key: str
    name: str
    description: str
    match: str
    threshold: int | None
    criteria: list[CriterionIO]
    version: int
    created_at: Moment
    updated_at: Moment


class VisitorGroupIn(Schema):
    model_config = ConfigDict(extra="forbid")
    key: KeyStr
    name: Name
    description: Text = Field("", max_length=10_000)
    match: Literal["all", "any", "points"] = "all"
    threshold: int | None = Field(None, ge=1, le=100_000)
    criteria: list[CriterionIO] = Field(default_factory=list, max_length=50)


class VisitorGroupPatch(Schema):
    model_config = ConfigDict(extra="forbid")
    key: KeyStr | None = None
    name: Name | None = None
    description: Text | None = Field(None, max_length=10_000)
    match: Literal["all", "any", "points"] | None = None
    threshold: int | None = Field(None, ge=1, le=100_000)
    criteria: list[CriterionIO] | None = Field(None, max_length=50)


class VisitorGroupPage(Page):
    items: list[VisitorGroupOut]


@visitor_groups.get("", response=VisitorGroupPage, summary="List visitor groups")
def list_visitor_groups(request: HttpRequest, params: Query[ListParams]):
    return _list(request, VisitorGroup, params)


@visitor_groups.post("", response={201: VisitorGroupOut}, summary="Create a visitor group")
def create_visitor_group(request: HttpRequest, response: HttpResponse, payload: VisitorGroupIn):
    group = services.create_visitor_group(VisitorGroup(**payload.model_dump()), actor=request.user)
    set_etag(response, group)
    return 201, group


@visitor_groups.get("/{ident}", response=VisitorGroupOut, summary="Get a visitor group by id or key")
def get_visitor_group(request: HttpRequest, response: HttpResponse, ident: IdOrKey):
    group = _get(request, VisitorGroup, ident)
    set_etag(response, group)
    return group


@visitor_groups.patch("/{ident}", response=VisitorGroupOut, summary="Change a visitor group")
def update_visitor_group(request: HttpRequest, response: HttpResponse, ident: IdOrKey,
                         payload: VisitorGroupPatch):
    changes = _changes(payload)
    if changes.get("criteria") is None:
        changes.pop("criteria", None)
    group = services.update_visitor_group(_get(request, VisitorGroup, ident), changes=changes,
                                          actor=request.user, expected_version=if_match(request))
    set_etag(response, group)
    return group


@visitor_groups.delete("/{ident}", response={204: None}, summary="Delete a visitor group")
def delete_visitor_group(request: HttpRequest, ident: IdOrKey):
    services.delete_visitor_group(_get(request, VisitorGroup, ident), actor=request.user,
                                  expected_version=if_match(request))
    return 204, None


# --- Segments ----------------------------------------------------------------------------

segments = Router(tags=["segments"])


class SegmentOut(Schema):
    id: UUID
    key: str
    name: str
    description: str
    customer_groups: list[str]
    visitor_groups: list[str]
    version: int
    created_at: Moment
    updated_at: Moment

    @staticmethod
    def resolve_customer_groups(obj: Segment) -> list[str]:
        return sorted(g.key for g in obj.customer_groups.all())

    @staticmethod
    def resolve_visitor_groups(obj: Segment) -> list[str]:
        return sorted(g.key for g in obj.visitor_groups.all())


class SegmentIn(Schema):
    model_config = ConfigDict(extra="forbid")
    key: KeyStr
    name: Name
    description: Text = Field("", max_length=10_000)
    customer_groups: list[IdOrKey] = Field(default_factory=list, max_length=500)
    visitor_groups: list[IdOrKey] = Field(default_factory=list, max_length=500)


class SegmentPatch(Schema):
    model_config = ConfigDict(extra="forbid")
    key: KeyStr | None = None
    name: Name | None = None
    description: Text | None = Field(None, max_length=10_000)
    customer_groups: list[IdOrKey] | None = Field(None, max_length=500)
    visitor_groups: list[IdOrKey] | None = Field(None, max_length=500)


class SegmentPage(Page):
    items: list[SegmentOut]


def _segment_refs(request: HttpRequest, payload: Schema) -> dict[str, Any]:
    refs: dict[str, Any] = {}
    if payload.customer_groups is not None:
        refs["customer_groups"] = resolve_refs(CustomerGroup.objects.visible_to(request.user),
                                               payload.customer_groups, "customer_groups")
    if payload.visitor_groups is not None:
        refs["visitor_groups"] = resolve_refs(VisitorGroup.objects.visible_to(request.user),
                                              payload.visitor_groups, "visitor_groups")
    return refs


@segments.get("", response=SegmentPage, summary="List segments")
def list_segments(request: HttpRequest, params: Query[ListParams]):
    return _list(request, Segment, params)


@segments.post("", response={201: SegmentOut}, summary="Create a segment")
def create_segment(request: HttpRequest, response: HttpResponse, payload: SegmentIn):
    require_perm(request, "marketing.add_segment")
    segment = services.create_segment(Segment(**_changes(payload, "customer_groups", "visitor_groups")),
                                      actor=request.user, **_segment_refs(request, payload))
    set_etag(response, segment)
    return 201, segment


@segments.get("/{ident}", response=SegmentOut, summary="Get a segment by id or key")
def get_segment(request: HttpRequest, response: HttpResponse, ident: IdOrKey):
    segment = _get(request, Segment, ident)
    set_etag(response, segment)
    return segment


class SegmentMemberParams(Schema):
    limit: int = Field(50, ge=1, le=500)
    cursor: str | None = Field(None, max_length=2000)


@segments.get("/{ident}/members", response=ContactPage,
              summary="The contacts in a segment (effectively in its customer groups)")
def segment_members(request: HttpRequest, ident: IdOrKey, params: Query[SegmentMemberParams]):
    """Every contact effectively in one of the segment's customer groups
    (through parent groups and organizations, as /contacts?effective_group=
    finds them), among those the caller may see. Visitor groups are judged
    per storefront request and add no listed member."""
    segment = _get(request, Segment, ident)
    require_perm(request, "customers.view_contact")
    qs = for_listing(segment_members_of(segment, viewer=request.user))
    return contact_page(Keyset(*CONTACT_ORDERING).page(qs, limit=params.limit, cursor=params.cursor), request.user)


class SegmentExportParams(Schema):
    format: Literal["csv", "xlsx", "jsonl"] = Field("csv", description="csv (the default), xlsx or jsonl.")


@segments.get("/{ident}/members/export", summary="Export a segment's contacts as a file",
              openapi_extra={"responses": {200: {"description": "The contacts as `clientbase export contacts` "
                                                                "writes them (CSV, XLSX or JSON lines).",
                                                 "content": {"text/csv": {"schema": {"type": "string"}}}}}})
def export_segment_members(request: HttpRequest, ident: IdOrKey, params: Query[SegmentExportParams]):
    """The segment's members (as /members lists them) in the contact export's
    columns, streamed, for a campaign's mailing tool."""
    segment = _get(request, Segment, ident)
    require_perm(request, "customers.view_contact")
    pieces = export_pieces("contacts", actor=request.user, file_format=params.format,
                           selection=segment_members_of(segment, viewer=request.user))
    response = StreamingHttpResponse((p.encode() if isinstance(p, str) else p for p in pieces),
                                     content_type=CONTENT_TYPES[params.format])
    response["Content-Disposition"] = f'attachment; filename="segment-{segment.key}.{params.format}"'
    return response


@segments.patch("/{ident}", response=SegmentOut, summary="Change a segment")
def update_segment(request: HttpRequest, response: HttpResponse, ident: IdOrKey, payload: SegmentPatch):
    segment = _get(request, Segment, ident)
    require_perm(request, "marketing.change_segment")
    segment = services.update_segment(segment, changes=_changes(payload, "customer_groups", "visitor_groups"),
                                      actor=request.user, expected_version=if_match(request),
                                      **_segment_refs(request, payload))
    set_etag(response, segment)
    return segment


@segments.delete("/{ident}", response={204: None}, summary="Delete a segment")
def delete_segment(request: HttpRequest, ident: IdOrKey):
    services.delete_segment(_get(request, Segment, ident), actor=request.user,
                            expected_version=if_match(request))
    return 204, None


# --- Campaigns ------------------------------------------------------------------------------

campaigns = Router(tags=["campaigns"])


class PromotionIO(Schema):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["percent_off", "amount_off"]
    target: Literal["variant", "product", "order"]
    target_key: str = Field("", max_length=100, description="The SKU or product key; empty for the order.")
    value: Decimal = Field(..., description="Percent (0-100] or an amount in the cart's currency.")
    coupon: str = Field("", max_length=50)
    coupon_limit: int | None = Field(None, ge=1)
    combinable: bool = False
    priority: int = 0


class CampaignOut(Schema):
    id: UUID
    key: str
    name: str
    description: str
    valid_from: Moment | None
    valid_until: Moment | None
    is_active: bool
    segments: list[str]
    promotions: list[PromotionIO]
    version: int
    created_at: Moment
    updated_at: Moment

    @staticmethod
    def resolve_segments(obj: Campaign) -> list[str]:
        return sorted(s.key for s in obj.segments.all())

    @staticmethod
    def resolve_promotions(obj: Campaign) -> list[dict]:
        return [{"kind": p.kind, "target": p.target, "target_key": p.target_key, "value": p.value,
                 "coupon": p.coupon, "coupon_limit": p.coupon_limit, "combinable": p.combinable,
                 "priority": p.priority} for p in obj.promotions.all()]


class CampaignIn(Schema):
    model_config = ConfigDict(extra="forbid")
    key: KeyStr
    name: Name
    description: Text = Field("", max_length=10_000)
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    is_active: bool = True
    segments: list[IdOrKey] = Field(default_factory=list, max_length=500)
    promotions: list[PromotionIO] = Field(default_factory=list, max_length=50)


class CampaignPatch(Schema):
    model_config = ConfigDict(extra="forbid")
    key: KeyStr | None = None
    name: Name | None = None
    description: Text | None = Field(None, max_length=10_000)
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    is_active: bool | None = None
    segments: list[IdOrKey] | None = Field(None, max_length=500)
    promotions: list[PromotionIO] | None = Field(None, max_length=50)


class CampaignPage(Page):
    items: list[CampaignOut]


def _campaign_parts(request: HttpRequest, payload: Schema) -> dict[str, Any]:
    parts: dict[str, Any] = {}
    if payload.segments is not None:
        parts["segments"] = resolve_refs(Segment.objects.visible_to(request.user), payload.segments, "segments")
    if payload.promotions is not None:
        parts["promotions"] = [p.model_dump() for p in payload.promotions]
    return parts


@campaigns.get("", response=CampaignPage, summary="List campaigns")
def list_campaigns(request: HttpRequest, params: Query[ListParams]):
    return _list(request, Campaign, params)


@campaigns.post("", response={201: CampaignOut}, summary="Create a campaign with its promotions")
def create_campaign(request: HttpRequest, response: HttpResponse, payload: CampaignIn):
    require_perm(request, "marketing.add_campaign")
    campaign = services.create_campaign(Campaign(**_changes(payload, "segments", "promotions")),
                                        actor=request.user, **_campaign_parts(request, payload))
    set_etag(response, campaign)
    return 201, campaign


@campaigns.get("/{ident}", response=CampaignOut, summary="Get a campaign by id or key")
def get_campaign(request: HttpRequest, response: HttpResponse, ident: IdOrKey):
    campaign = _get(request, Campaign, ident)
    set_etag(response, campaign)
    return campaign


@campaigns.patch("/{ident}", response=CampaignOut,
                 summary="Change a campaign (promotions, when given, replace the old ones)")
def update_campaign(request: HttpRequest, response: HttpResponse, ident: IdOrKey, payload: CampaignPatch):
    campaign = _get(request, Campaign, ident)
    require_perm(request, "marketing.change_campaign")
    campaign = services.update_campaign(campaign, changes=_changes(payload, "segments", "promotions"),
                                        actor=request.user, expected_version=if_match(request),
                                        **_campaign_parts(request, payload))
    set_etag(response, campaign)
    return campaign


@campaigns.delete("/{ident}", response={204: None}, summary="Delete a campaign")
def delete_campaign(request: HttpRequest, ident: IdOrKey):
    services.delete_campaign(_get(request, Campaign, ident), actor=request.user,
                             expected_version=if_match(request))
    return 204, None


# --- Content slots ---------------------------------------------------------------------------

content_slots = Router(tags=["content-slots"])


class SlotVariantIO(Schema):
    model_config = ConfigDict(extra="forbid")
    visitor_group: str = Field(..., max_length=100, description="The visitor group's key (or id).")
    html: Text = Field(..., max_length=20_000)


class ContentSlotOut(Schema):
    id: UUID
    key: str
    name: str
    default_html: str
    variants: list[SlotVariantIO]
    version: int
    created_at: Moment
    updated_at: Moment

    @staticmethod
    def resolve_variants(obj: ContentSlot) -> list[dict]:
        return [{"visitor_group": v.visitor_group.key, "html": v.html}
                for v in obj.variants.all()]


class ContentSlotIn(Schema):
    model_config = ConfigDict(extra="forbid")
    key: KeyStr
    name: Name
    default_html: Text = Field("", max_length=20_000)
    variants: list[SlotVariantIO] = Field(default_factory=list, max_length=50)


class ContentSlotPatch(Schema):
    model_config = ConfigDict(extra="forbid")
    key: KeyStr | None = None
    name: Name | None = None
    default_html: Text | None = Field(None, max_length=20_000)
    variants: list[SlotVariantIO] | None = Field(None, max_length=50)


class ContentSlotPage(Page):
    items: list[ContentSlotOut]


def _slot_variants(request: HttpRequest, payload: Schema) -> dict[str, Any]:
    if payload.variants is None:
        return {}
    groups = resolve_refs(VisitorGroup.objects.visible_to(request.user),
                          [v.visitor_group for v in payload.variants], "variants")
    by_ref = {str(g.pk): g for g in groups} | {g.key: g for g in groups}
    return {"variants": [(by_ref[v.visitor_group.strip()], v.html) for v in payload.variants]}


@content_slots.get("", response=ContentSlotPage, summary="List content slots")
def list_content_slots(request: HttpRequest, params: Query[ListParams]):
    return _list(request, ContentSlot, params)


@content_slots.post("", response={201: ContentSlotOut}, summary="Create a content slot")
def create_content_slot(request: HttpRequest, response: HttpResponse, payload: ContentSlotIn):
    require_perm(request, "marketing.add_contentslot")
    slot = services.create_content_slot(ContentSlot(**_changes(payload, "variants")), actor=request.user,
                                        **_slot_variants(request, payload))
    set_etag(response, slot)
    return 201, slot


@content_slots.get("/{ident}", response=ContentSlotOut, summary="Get a content slot by id or key")
def get_content_slot(request: HttpRequest, response: HttpResponse, ident: IdOrKey):
    slot = _get(request, ContentSlot, ident)
    set_etag(response, slot)
    return slot


@content_slots.patch("/{ident}", response=ContentSlotOut,
                     summary="Change a content slot (variants, when given, replace the old ones)")
def update_content_slot(request: HttpRequest, response: HttpResponse, ident: IdOrKey,
                        payload: ContentSlotPatch):
    slot = _get(request, ContentSlot, ident)
    require_perm(request, "marketing.change_contentslot")
    slot = services.update_content_slot(slot, changes=_changes(payload, "variants"), actor=request.user,
                                        expected_version=if_match(request), **_slot_variants(request, payload))
    set_etag(response, slot)
    return slot


@content_slots.delete("/{ident}", response={204: None}, summary="Delete a content slot")
def delete_content_slot(request: HttpRequest, ident: IdOrKey):
    services.delete_content_slot(_get(request, ContentSlot, ident), actor=request.user,
                                 expected_version=if_match(request))
    return 204, None


# --- Quotes explained, for staff ---------------------------------------------------------------

quotes_router = Router(tags=["quotes"])


class ExplainQuoteParams(Schema):
    sku: str = Field(..., max_length=100)
    quantity: int = Field(1)
    contact: IdOrKey | None = Field(None, description="Price for this contact (id or key); default: anonymous.")
    visitor_group: IdOrKey | None = Field(None, description="As a visitor in this visitor group.")
    coupon: str | None = Field(None, max_length=50)
    market: IdOrKey | None = None
    currency: str | None = Field(None, min_length=3, max_length=3)


class ExplainedQuoteOut(QuoteOut):
    offers: list[OfferVerdictOut] = Field(..., description="Every promotion on the SKU or its product, "
                                                           "and why it applied or not.")


@quotes_router.get("/explain", response=ExplainedQuoteOut,
                   summary="Why a contact or a visitor group pays what it pays, promotions included")
def explain_quote(request: HttpRequest, params: Query[ExplainQuoteParams]):
    """The quote the storefront would give `contact` (one the caller may
    see; 404 otherwise) or a visitor in `visitor_group`, with every
    promotion of the SKU and its product judged: applied, not the best
    choice, or not open and why (dates, segments, coupon)."""
    require_perm(request, "pricing.view_pricerow")
    require_perm(request, "marketing.view_campaign")
    contact = by_id_or_key(Contact.objects.visible_to(request.user), params.contact) if params.contact else None
    groups = frozenset()
    if params.visitor_group:
        groups = frozenset({by_id_or_key(VisitorGroup.objects.all(), params.visitor_group).key})
    storefront = listing.storefront_market(params.market, params.currency)
    return shopping_quotes.quote(params.sku, params.quantity, contact=contact, storefront=storefront,
                                 visitor_groups=groups, coupon=params.coupon,
                                 explain=True)
