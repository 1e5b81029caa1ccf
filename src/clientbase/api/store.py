"""/api/v1/store: the shop as a visitor sees it, for headless front ends.

Public: an anonymous visitor, a shopper logged in on the storefront's
session, and a token caller alike. The prices are the caller's own contact's
(the anonymous visitor's for a caller without one); there is no parameter
naming a contact, so nobody reads another customer's prices here.
"""

from uuid import UUID

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from clientbase.api.auth import visitor_auth
from clientbase.api.common import IdOrKey, Money, Page, Quantity
from clientbase.pricing import listing

# Token, session, or nobody: the schema says each is fine (`{}`: no credentials).
STORE_SECURITY = {"security": [{"TokenAuth": []}, {"ActiveSessionAuth": []}, {}]}

router = Router(tags=["store"], auth=visitor_auth)

OptionValue = str | int | float | bool


class QuantityBreakOut(Schema):
    min_quantity: Quantity
    unit_price: Money


class StoreVariantOut(Schema):
    sku: str
    name: str
    options: dict[str, OptionValue]
    unit_price: Money | None = Field(
        ..., description="What the caller pays for one; null: not available to the caller.")
    list_price: Money | None = Field(..., description="What anyone pays for one (the all-customers price).")
    currency: str
    quantity_breaks: list[QuantityBreakOut] = Field(
        ..., description="From each minimum quantity on, the caller's lower unit price.")


class StoreProductOut(Schema):
    id: UUID
    key: str | None
    name: str
    description: str
    variants: list[StoreVariantOut]


class StoreProductPage(Page):
    items: list[StoreProductOut]
    market: str
    currency: str


class StoreParams(Schema):
    q: str | None = Field(None, max_length=200, description="Part of a product's name or key, or of a SKU.")
    limit: int = Field(listing.PAGE_SIZE, ge=1, le=500)
    cursor: str | None = Field(None, max_length=2000)
    market: IdOrKey | None = Field(None, description="Key or id of the market; default: the storefront's.")
    currency: str | None = Field(None, min_length=3, max_length=3,
                                 description="One of the market's currencies; default: its default currency.")


class StoreProductParams(Schema):
    market: IdOrKey | None = Field(None, description="Key or id of the market; default: the storefront's.")
    currency: str | None = Field(None, min_length=3, max_length=3,
                                 description="One of the market's currencies; default: its default currency.")


@router.get("/products", response=StoreProductPage, summary="Products on sale, at the caller's prices",
            openapi_extra=STORE_SECURITY)
def list_store_products(request: HttpRequest, params: Query[StoreParams]):
    storefront = listing.storefront_market(params.market, params.currency)
    page = listing.list_products(contact=listing.shopper_contact(request.user), storefront=storefront,
                                 q=params.q, limit=params.limit, cursor=params.cursor)
    return {"items": page.items, "next_cursor": page.next_cursor,
            "market": storefront.market.key, "currency": storefront.currency}


@router.get("/products/{ident}", response=StoreProductOut,
            summary="A product on sale by key or id, at the caller's prices", openapi_extra=STORE_SECURITY)
def get_store_product(request: HttpRequest, ident: IdOrKey, params: Query[StoreProductParams]):
    storefront = listing.storefront_market(params.market, params.currency)
    return listing.get_product(ident, contact=listing.shopper_contact(request.user), storefront=storefront)
