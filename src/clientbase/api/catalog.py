"""/api/v1/markets, /products and /variants."""

from datetime import datetime
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict

from clientbase.api.common import (
    IdOrKey, Page, by_id_or_key, if_match, require_perm, resolve_ref, set_etag,
)
from clientbase.catalog import services
from clientbase.catalog.models import Market, Product, Variant
from clientbase.core.pagination import Keyset
from clientbase.pricing import services as pricing

KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$"

markets = Router(tags=["markets"])
products = Router(tags=["products"])
variants = Router(tags=["variants"])


class ListParams(Schema):
    q: str | None = Field(None, max_length=200, description="Prefix of the key or name.")
    limit: int = Field(50, ge=1, le=500)
    cursor: str | None = Field(None, max_length=2000)


# --- Markets ----------------------------------------------------------------


class MarketOut(Schema):
    id: UUID
    key: str
    name: str
    countries: list[str]
    currencies: list[str]
    default_currency: str
    is_active: bool
    version: int
    created_at: datetime
    updated_at: datetime


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


@markets.get("", response=MarketPage, summary="List markets")
def list_markets(request: HttpRequest, params: Query[ListParams]):
    require_perm(request, "catalog.view_market")
    qs = Market.objects.all()
    if params.q:
        qs = qs.filter(key__istartswith=params.q) | qs.filter(name__istartswith=params.q)
    return Keyset("key", "id").page(qs, limit=params.limit, cursor=params.cursor)


@markets.post("", response={201: MarketOut}, summary="Create a market")
def create_market(request: HttpRequest, response: HttpResponse, payload: MarketIn):
    market = services.create_market(Market(**payload.model_dump()), actor=request.user)
    set_etag(response, market)
    return 201, market


@markets.get("/{ident}", response=MarketOut, summary="Get a market by id or key")
def get_market(request: HttpRequest, response: HttpResponse, ident: IdOrKey):
    require_perm(request, "catalog.view_market")
    market = by_id_or_key(Market.objects.all(), ident)
    set_etag(response, market)
    return market


@markets.patch("/{ident}", response=MarketOut, summary="Change a market")
def update_market(request: HttpRequest, response: HttpResponse, ident: IdOrKey, payload: MarketPatch):
    market = services.update_market(
        by_id_or_key(Market.objects.all(), ident),
        changes={k: v for k, v in payload.model_dump(exclude_unset=True).items() if v is not None},
        actor=request.user, expected_version=if_match(request))
    set_etag(response, market)
    return market


@markets.delete("/{ident}", response={204: None}, summary="Delete a market")
def delete_market(request: HttpRequest, ident: IdOrKey,
                  delete_prices: bool = Query(False, description="Also delete the market's price rows.")):
    pricing.delete_market(by_id_or_key(Market.objects.all(), ident), actor=request.user,
                          expected_version=if_match(request), delete_prices=delete_prices)
    return 204, None


# --- Products ---------------------------------------------------------------


class ProductOut(Schema):
    id: UUID
    key: str | None
    name: str
    description: str
    version: int
    created_at: datetime
    updated_at: datetime


class ProductIn(Schema):
    model_config = ConfigDict(extra="forbid")
    key: str | None = Field(None, min_length=1, max_length=100, pattern=KEY_PATTERN)
    name: str = Field(..., min_length=1, max_length=200)
    description: str = Field("", max_length=10_000)


class ProductPatch(Schema):
    model_config = ConfigDict(extra="forbid")
    key: str | None = Field(None, min_length=1, max_length=100, pattern=KEY_PATTERN)
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=10_000)


class ProductPage(Page):
    items: list[ProductOut]


@products.get("", response=ProductPage, summary="List products")
def list_products(request: HttpRequest, params: Query[ListParams]):
    require_perm(request, "catalog.view_product")
    qs = Product.objects.all()
    if params.q:
        qs = qs.filter(key__istartswith=params.q) | qs.filter(name__istartswith=params.q)
    return Keyset("name", "id").page(qs, limit=params.limit, cursor=params.cursor)


@products.post("", response={201: ProductOut}, summary="Create a product")
def create_product(request: HttpRequest, response: HttpResponse, payload: ProductIn):
    product = services.create_product(Product(**payload.model_dump()), actor=request.user)
    set_etag(response, product)
    return 201, product


@products.get("/{ident}", response=ProductOut, summary="Get a product by id or key")
def get_product(request: HttpRequest, response: HttpResponse, ident: IdOrKey):
    require_perm(request, "catalog.view_product")
    product = by_id_or_key(Product.objects.all(), ident)
    set_etag(response, product)
    return product


@products.patch("/{ident}", response=ProductOut, summary="Change a product")
def update_product(request: HttpRequest, response: HttpResponse, ident: IdOrKey, payload: ProductPatch):
    data = payload.model_dump(exclude_unset=True)
    product = services.update_product(
        by_id_or_key(Product.objects.all(), ident),
        changes={k: v for k, v in data.items() if v is not None or k == "key"},
        actor=request.user, expected_version=if_match(request))
    set_etag(response, product)
    return product


@products.delete("/{ident}", response={204: None}, summary="Delete a product, its variants and prices")
def delete_product(request: HttpRequest, ident: IdOrKey):
    services.delete_product(by_id_or_key(Product.objects.all(), ident), actor=request.user,
                            expected_version=if_match(request))
    return 204, None


# --- Variants ---------------------------------------------------------------

OptionValue = str | int | float | bool


class VariantOut(Schema):
    id: UUID
    sku: str
    product: UUID = Field(..., alias="product_id")
    name: str
    options: dict[str, OptionValue]
    version: int
    created_at: datetime
    updated_at: datetime


class VariantIn(Schema):
    model_config = ConfigDict(extra="forbid")
    sku: str = Field(..., min_length=1, max_length=100, pattern=KEY_PATTERN)
    product: IdOrKey = Field(..., description="Id or key of the product.")
    name: str = Field("", max_length=200)
    options: dict[str, OptionValue] = Field(default_factory=dict)


class VariantPatch(Schema):
    model_config = ConfigDict(extra="forbid")
    sku: str | None = Field(None, min_length=1, max_length=100, pattern=KEY_PATTERN)
    product: IdOrKey | None = Field(None, description="Id or key of the product.")
    name: str | None = Field(None, max_length=200)
    options: dict[str, OptionValue] | None = None


class VariantFilters(ListParams):
    product: IdOrKey | None = Field(None, description="Only variants of this product (id or key).")


class VariantPage(Page):
    items: list[VariantOut]


@variants.get("", response=VariantPage, summary="List variants")
def list_variants(request: HttpRequest, params: Query[VariantFilters]):
    require_perm(request, "catalog.view_variant")
    qs = Variant.objects.all()
    if params.q:
        qs = qs.filter(sku__istartswith=params.q) | qs.filter(name__istartswith=params.q)
    if params.product:
        qs = qs.filter(product=by_id_or_key(Product.objects.all(), params.product))
    return Keyset("sku", "id").page(qs, limit=params.limit, cursor=params.cursor)


@variants.post("", response={201: VariantOut}, summary="Create a variant")
def create_variant(request: HttpRequest, response: HttpResponse, payload: VariantIn):
    # The service checks the permission too; asking first keeps a caller
    # without it from learning which references exist (403 before 422).
    require_perm(request, "catalog.add_variant")
    data = payload.model_dump()
    data["product"] = resolve_ref(Product.objects.all(), data["product"], "product")
    variant = services.create_variant(Variant(**data), actor=request.user)
    set_etag(response, variant)
    return 201, variant


@variants.get("/{ident}", response=VariantOut, summary="Get a variant by id or SKU")
def get_variant(request: HttpRequest, response: HttpResponse, ident: IdOrKey):
    require_perm(request, "catalog.view_variant")
    variant = by_id_or_key(Variant.objects.all(), ident, key_field="sku")
    set_etag(response, variant)
    return variant


@variants.patch("/{ident}", response=VariantOut, summary="Change a variant")
def update_variant(request: HttpRequest, response: HttpResponse, ident: IdOrKey, payload: VariantPatch):
    data = {k: v for k, v in payload.model_dump(exclude_unset=True).items() if v is not None}
    if "product" in data:
        data["product"] = resolve_ref(Product.objects.all(), data["product"], "product")
    variant = services.update_variant(
        by_id_or_key(Variant.objects.all(), ident, key_field="sku"), changes=data,
        actor=request.user, expected_version=if_match(request))
    set_etag(response, variant)
    return variant


@variants.delete("/{ident}", response={204: None}, summary="Delete a variant and its prices")
def delete_variant(request: HttpRequest, ident: IdOrKey):
    services.delete_variant(by_id_or_key(Variant.objects.all(), ident, key_field="sku"),
                            actor=request.user, expected_version=if_match(request))
    return 204, None
