"""/api/v1/variants: the SKUs of products."""

from uuid import UUID

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict

from clientbase.api.common import (
    IdOrKey, ListParams, Moment, Page, by_id_or_key, if_match, require_perm, resolve_ref, set_etag,
)
from clientbase.catalog import services
from clientbase.catalog.models import Product, Variant
from clientbase.core.models import KEY_PATTERN
from clientbase.core.pagination import Keyset

router = Router(tags=["variants"])

OptionValue = str | int | float | bool


class VariantOut(Schema):
    id: UUID
    sku: str
    product: UUID = Field(..., alias="product_id")
    name: str
    options: dict[str, OptionValue]
    is_active: bool
    version: int
    created_at: Moment
    updated_at: Moment


class VariantIn(Schema):
    model_config = ConfigDict(extra="forbid")
    sku: str = Field(..., min_length=1, max_length=100, pattern=KEY_PATTERN)
    product: IdOrKey = Field(..., description="Id or key of the product.")
    name: str = Field("", max_length=200)
    options: dict[str, OptionValue] = Field(default_factory=dict)
    is_active: bool = True


class VariantPatch(Schema):
    model_config = ConfigDict(extra="forbid")
    sku: str | None = Field(None, min_length=1, max_length=100, pattern=KEY_PATTERN)
    product: IdOrKey | None = Field(None, description="Id or key of the product.")
    name: str | None = Field(None, max_length=200)
    options: dict[str, OptionValue] | None = None
    is_active: bool | None = None


class VariantFilters(ListParams):
    product: IdOrKey | None = Field(None, description="Only variants of this product (id or key).")


class VariantPage(Page):
    items: list[VariantOut]


def _get(request: HttpRequest, ident: str) -> Variant:
    # The permission before the lookup: 403 for any ident, not 404 for a missing one.
    require_perm(request, "catalog.view_variant")
    return by_id_or_key(Variant.objects.visible_to(request.user), ident, key_field="sku")


@router.get("", response=VariantPage, summary="List variants")
def list_variants(request: HttpRequest, params: Query[VariantFilters]):
    require_perm(request, "catalog.view_variant")
    qs = Variant.objects.visible_to(request.user)
    if params.q:
        qs = qs.filter(sku__istartswith=params.q) | qs.filter(name__istartswith=params.q)
    if params.product:
        qs = qs.filter(product=by_id_or_key(Product.objects.visible_to(request.user), params.product))
    return Keyset("sku", "id").page(qs, limit=params.limit, cursor=params.cursor)


@router.post("", response={201: VariantOut}, summary="Create a variant")
def create_variant(request: HttpRequest, response: HttpResponse, payload: VariantIn):
    # The service checks the permission too; asking first keeps a caller
    # without it from learning which references exist (403 before 422).
    require_perm(request, "catalog.add_variant")
    data = payload.model_dump()
    data["product"] = resolve_ref(Product.objects.visible_to(request.user), data["product"], "product")
    variant = services.create_variant(Variant(**data), actor=request.user)
    set_etag(response, variant)
    return 201, variant


@router.get("/{ident}", response=VariantOut, summary="Get a variant by id or SKU")
def get_variant(request: HttpRequest, response: HttpResponse, ident: IdOrKey):
    variant = _get(request, ident)
    set_etag(response, variant)
    return variant


@router.patch("/{ident}", response=VariantOut, summary="Change a variant")
def update_variant(request: HttpRequest, response: HttpResponse, ident: IdOrKey, payload: VariantPatch):
    variant = _get(request, ident)
    require_perm(request, "catalog.change_variant")  # the service asks too; 403 before 422
    data = {k: v for k, v in payload.model_dump(exclude_unset=True).items() if v is not None}
    if "product" in data:
        data["product"] = resolve_ref(Product.objects.visible_to(request.user), data["product"], "product")
    variant = services.update_variant(variant, changes=data, actor=request.user,
                                      expected_version=if_match(request))
    set_etag(response, variant)
    return variant


@router.delete("/{ident}", response={204: None}, summary="Delete a variant and its prices")
def delete_variant(request: HttpRequest, ident: IdOrKey):
    services.delete_variant(_get(request, ident), actor=request.user, expected_version=if_match(request))
    return 204, None
