"""/api/v1/products: what the shop sells."""

from uuid import UUID

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict

from clientbase.api.common import IdOrKey, ListParams, Moment, Page, by_id_or_key, if_match, require_perm, set_etag
from clientbase.catalog import services
from clientbase.catalog.models import Product
from clientbase.core.models import KEY_PATTERN
from clientbase.core.pagination import Keyset

router = Router(tags=["products"])


class ProductOut(Schema):
    id: UUID
    key: str | None
    name: str
    description: str
    is_active: bool
    version: int
    created_at: Moment
    updated_at: Moment


class ProductIn(Schema):
    model_config = ConfigDict(extra="forbid")
    key: str | None = Field(None, min_length=1, max_length=100, pattern=KEY_PATTERN)
    name: str = Field(..., min_length=1, max_length=200)
    description: str = Field("", max_length=10_000)
    is_active: bool = True


class ProductPatch(Schema):
    model_config = ConfigDict(extra="forbid")
    key: str | None = Field(None, min_length=1, max_length=100, pattern=KEY_PATTERN)
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=10_000)
    is_active: bool | None = None


class ProductPage(Page):
    items: list[ProductOut]


def _get(request: HttpRequest, ident: str) -> Product:
    # The permission before the lookup: 403 for any ident, not 404 for a missing one.
    require_perm(request, "catalog.view_product")
    return by_id_or_key(Product.objects.visible_to(request.user), ident)


@router.get("", response=ProductPage, summary="List products")
def list_products(request: HttpRequest, params: Query[ListParams]):
    require_perm(request, "catalog.view_product")
    qs = Product.objects.visible_to(request.user)
    if params.q:
        qs = qs.filter(key__istartswith=params.q) | qs.filter(name__istartswith=params.q)
    return Keyset("name", "id").page(qs, limit=params.limit, cursor=params.cursor)


@router.post("", response={201: ProductOut}, summary="Create a product")
def create_product(request: HttpRequest, response: HttpResponse, payload: ProductIn):
    product = services.create_product(Product(**payload.model_dump()), actor=request.user)
    set_etag(response, product)
    return 201, product


@router.get("/{ident}", response=ProductOut, summary="Get a product by id or key")
def get_product(request: HttpRequest, response: HttpResponse, ident: IdOrKey):
    product = _get(request, ident)
    set_etag(response, product)
    return product


@router.patch("/{ident}", response=ProductOut, summary="Change a product")
def update_product(request: HttpRequest, response: HttpResponse, ident: IdOrKey, payload: ProductPatch):
    data = payload.model_dump(exclude_unset=True)
    product = services.update_product(
        _get(request, ident),
        changes={k: v for k, v in data.items() if v is not None or k == "key"},
        actor=request.user, expected_version=if_match(request))
    set_etag(response, product)
    return product


@router.delete("/{ident}", response={204: None}, summary="Delete a product, its variants and prices")
def delete_product(request: HttpRequest, ident: IdOrKey):
    services.delete_product(_get(request, ident), actor=request.user,
                            expected_version=if_match(request))
    return 204, None
