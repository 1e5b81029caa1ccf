"""/api/v1/markets: where the shop sells, in which currencies."""

from uuid import UUID

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict

from clientbase.api.common import IdOrKey, ListParams, Moment, Page, by_id_or_key, if_match, require_perm, set_etag
from clientbase.catalog import services
from clientbase.catalog.models import Market
from clientbase.core.models import KEY_PATTERN
from clientbase.core.pagination import Keyset
from clientbase.pricing import services as pricing

router = Router(tags=["markets"])


class MarketOut(Schema):
    id: UUID
    key: str
    name: str
    countries: list[str]
    currencies: list[str]
    default_currency: str
    is_active: bool
    version: int
    created_at: Moment
    updated_at: Moment


class MarketIn(Schema):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(..., min_length=1, max_length=100, pattern=KEY_PATTERN)
    name: str = Field(..., min_length=1, max_length=200)
    countries: list[str] = Field(default_factory=list, max_length=300)
    currencies: list[str] = Field(..., min_length=1, max_length=50)
    default_currency: str | None = Field(None, max_length=3)
    is_active: bool = True


class MarketPatch(Schema):
    model_config = ConfigDict(extra="forbid")
    key: str | None = Field(None, min_length=1, max_length=100, pattern=KEY_PATTERN)
    name: str | None = Field(None, min_length=1, max_length=200)
    countries: list[str] | None = Field(None, max_length=300)
    currencies: list[str] | None = Field(None, min_length=1, max_length=50)
    default_currency: str | None = Field(None, max_length=3)
    is_active: bool | None = None


class MarketPage(Page):
    items: list[MarketOut]


def _get(request: HttpRequest, ident: str) -> Market:
    # The permission before the lookup: a caller without it learns nothing of
    # which markets exist (403 for any ident, not 404 for a missing one).
    require_perm(request, "catalog.view_market")
    return by_id_or_key(Market.objects.visible_to(request.user), ident)


@router.get("", response=MarketPage, summary="List markets")
def list_markets(request: HttpRequest, params: Query[ListParams]):
    require_perm(request, "catalog.view_market")
    qs = Market.objects.visible_to(request.user)
    if params.q:
        qs = qs.filter(key__istartswith=params.q) | qs.filter(name__istartswith=params.q)
    return Keyset("key", "id").page(qs, limit=params.limit, cursor=params.cursor)


@router.post("", response={201: MarketOut}, summary="Create a market")
def create_market(request: HttpRequest, response: HttpResponse, payload: MarketIn):
    market = services.create_market(Market(**payload.model_dump()), actor=request.user)
    set_etag(response, market)
    return 201, market


@router.get("/{ident}", response=MarketOut, summary="Get a market by id or key")
def get_market(request: HttpRequest, response: HttpResponse, ident: IdOrKey):
    market = _get(request, ident)
    set_etag(response, market)
    return market


@router.patch("/{ident}", response=MarketOut, summary="Change a market")
def update_market(request: HttpRequest, response: HttpResponse, ident: IdOrKey, payload: MarketPatch):
    market = services.update_market(
        _get(request, ident),
        changes={k: v for k, v in payload.model_dump(exclude_unset=True).items() if v is not None},
        actor=request.user, expected_version=if_match(request))
    set_etag(response, market)
    return market


@router.delete("/{ident}", response={204: None}, summary="Delete a market")
def delete_market(request: HttpRequest, ident: IdOrKey,
                  delete_prices: bool = Query(False, description="Also delete the market's price rows.")):
    pricing.delete_market(_get(request, ident), actor=request.user,
                          expected_version=if_match(request), delete_prices=delete_prices)
    return 204, None
