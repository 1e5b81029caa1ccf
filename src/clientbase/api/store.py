"""/api/v1/store: the shop as a visitor sees it, for headless front ends.

Public: an anonymous visitor, a shopper logged in on the storefront's
session, and a token caller alike. The prices are the caller's own contact's
(the anonymous visitor's for a caller without one); there is no parameter
naming a contact, so nobody reads another customer's prices here.
"""

from decimal import Decimal
from uuid import UUID

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from clientbase.api.auth import visitor_auth
from clientbase.api.common import IdOrKey, Money, Quantity, Shaped, ShapedPage
from clientbase.marketing.audience import Request as AudienceRequest, build_audience
from clientbase.pricing import listing
from clientbase.shopping.services import quotes

# Token, session, or nobody: the schema says each is fine (`{}`: no credentials).
STORE_SECURITY = {"security": [{"TokenAuth": []}, {"ActiveSessionAuth": []}, {}]}

router = Router(tags=["store"], auth=visitor_auth)

OptionValue = str | int | float | bool


class QuantityBreakOut(Shaped):
    min_quantity: Quantity
    unit_price: Money


class StoreVariantOut(Shaped):
    sku: str
    name: str
    options: dict[str, OptionValue]
    unit_price: Money | None = Field(
        ..., description="What the caller pays for one; null: not available to the caller.")
    list_price: Money | None = Field(..., description="What anyone pays for one (the all-customers price).")
    currency: str
    quantity_breaks: list[QuantityBreakOut] = Field(
        ..., description="From each minimum quantity on, the caller's lower unit price.")

    @classmethod
    def shape(cls, variant: listing.ListedVariant) -> dict:
        return {"sku": variant.sku, "name": variant.name, "options": variant.options,
                "unit_price": variant.unit_price, "list_price": variant.list_price,
                "currency": variant.currency,
                "quantity_breaks": [QuantityBreakOut.shape(b) for b in variant.quantity_breaks]}


class StoreProductOut(Shaped):
    id: UUID
    key: str | None
    name: str
    description: str
    variants: list[StoreVariantOut]

    @classmethod
    def shape(cls, product: listing.ListedProduct) -> dict:
        return {"id": product.id, "key": product.key, "name": product.name,
                "description": product.description,
                "variants": [StoreVariantOut.shape(v) for v in product.variants]}


class StoreProductPage(ShapedPage):
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
    storefront, contact = listing.shopper_storefront(request.user, params.market, params.currency)
    page = listing.list_products(contact=contact, storefront=storefront,
                                 q=params.q, limit=params.limit, cursor=params.cursor)
    return {"items": [StoreProductOut.shape(p) for p in page.items], "next_cursor": page.next_cursor,
            "market": storefront.market.key, "currency": storefront.currency}


@router.get("/products/{ident}", response=StoreProductOut,
            summary="A product on sale by key or id, at the caller's prices", openapi_extra=STORE_SECURITY)
def get_store_product(request: HttpRequest, ident: IdOrKey, params: Query[StoreProductParams]):
    storefront, contact = listing.shopper_storefront(request.user, params.market, params.currency)
    return StoreProductOut.shape(listing.get_product(ident, contact=contact, storefront=storefront))


# --- quotes: the price with the caller's promotions ---------------------------------------


class OfferVerdictOut(Schema):
    campaign: str
    label: str
    status: str = Field(..., description="applied | not_best | not_open")
    reason: str


class QuoteOut(Schema):
    sku: str
    quantity: int
    market: str
    currency: str
    unit_price: Money | None = Field(..., description="The resolver's price for one at this quantity; "
                                                      "null: not available (see `problem`).")
    why: str = Field(..., description="Which price row won, and why.")
    discount: Money = Field(..., description="What promotions take off the line.")
    line_total: Money | None = Field(..., description="quantity × unit_price, less the discount.")
    promotions: list[str] = Field(..., description="The promotions that changed the price.")
    problem: str

    @staticmethod
    def resolve_unit_price(obj) -> Decimal | None:
        return obj.line.unit_price

    @staticmethod
    def resolve_why(obj) -> str:
        return obj.line.why

    @staticmethod
    def resolve_discount(obj) -> Decimal:
        return obj.line.discount

    @staticmethod
    def resolve_line_total(obj) -> Decimal | None:
        return obj.line.line_total

    @staticmethod
    def resolve_promotions(obj) -> list[str]:
        return obj.line.promotions

    @staticmethod
    def resolve_problem(obj) -> str:
        return obj.line.problem


class QuoteParams(StoreProductParams):
    sku: str = Field(..., max_length=100)
    quantity: int = Field(1, description="How many (1 to the cart's limit).")
    coupon: str | None = Field(None, max_length=50, description="A coupon code to try.")


@router.get("/quote", response=QuoteOut, summary="The caller's price for a quantity of a SKU, with promotions",
            openapi_extra=STORE_SECURITY)
def store_quote(request: HttpRequest, params: Query[QuoteParams]):
    """The resolver's price for the caller (its own contact, or anonymous),
    then the promotions the caller may have now — its customer groups, the
    visitor groups it matches on this request (its visit cookie, the
    request) and `coupon` — naming each promotion that changed the price.
    404 for a SKU not on sale; 422 for a quantity out of range."""
    storefront = listing.storefront_market(params.market, params.currency)
    return quotes.quote(params.sku, params.quantity, contact=listing.shopper_contact(request.user),
                        storefront=storefront, visitor_groups=visitor_groups(request), coupon=params.coupon)


def visitor_groups(request: HttpRequest) -> frozenset[str]:
    """The visitor groups the API's caller matches (for promotions), judged
    as the storefront judges them: its visit cookie, the request, its
    memberships. Judged once per request."""
    cached = getattr(request, "_marketing_groups", None)
    if cached is None:
        account = request.user if request.user.is_authenticated and request.user.is_active else None
        seen, _ = build_audience(AudienceRequest.of(request.COOKIES, request.META, request.path),
                                 account=account, contact=listing.shopper_contact(request.user))
        cached = request._marketing_groups = seen.matched
    return cached
