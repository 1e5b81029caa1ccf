"""/api/v1/prices: price rows, and resolving what a visitor pays."""

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict

from clientbase.api.common import (
    IdOrKey, Moment, Money, MoneyIn, Quantity, QuantityIn, Shaped, ShapedPage, UUIDId, by_id_or_key,
    if_match, not_found, require_perm, resolve_ref, set_etag, unknown_refs,
)
from clientbase.catalog.models import Market, Product, Variant
from clientbase.core.errors import Invalid, NotFound
from clientbase.core.pagination import Keyset
from clientbase.customers.models import Contact
from clientbase.customers.models.visibility import ContactScope, contact_scope
from clientbase.pricing import services
from clientbase.pricing.models import PriceRow, SaleType

router = Router(tags=["prices"])



class PriceOut(Shaped):
    id: UUID
    variant: str | None = Field(None, description="The variant's SKU, for a variant-level row.")
    product: str | None = Field(None, description="The product's key (or id), for a product-level row.")
    market: str
    currency: str
    sale_type: SaleType
    sale_code: str
    min_quantity: Quantity
    unit_price: Money
    valid_from: Moment | None
    valid_until: Moment | None
    version: int

    @classmethod
    def shape(cls, row: PriceRow | None) -> dict | None:
        """The answer for a price row (its market, and its product for a
        product-level row, loaded or placed by the resolver); None for None."""
        if row is None:
            return None
        return {
            "id": row.pk, "variant": row.sku,
            "product": (row.product.key or str(row.product_id)) if row.product_id else None,
            "market": row.market.key, "currency": row.currency, "sale_type": row.sale_type,
            "sale_code": row.sale_code, "min_quantity": row.min_quantity,
            # Stored with four decimals; shown in the currency's precision.
            "unit_price": row.shown_price,
            "valid_from": row.valid_from, "valid_until": row.valid_until, "version": row.version,
        }


class PriceIn(Schema):
    model_config = ConfigDict(extra="forbid")
    variant: IdOrKey | None = Field(None, description="SKU or id of the variant.")
    product: IdOrKey | None = Field(None, description="Key or id of the product (applies to its variants without own rows).")
    market: IdOrKey = Field(..., description="Key or id of the market.")
    currency: str | None = Field(None, min_length=3, max_length=3, description="Default: the market's.")
    sale_type: SaleType = SaleType.ALL_CUSTOMERS
    sale_code: str = Field("", max_length=100)
    min_quantity: QuantityIn = Field(Decimal(0), ge=0, max_digits=12, decimal_places=2)
    unit_price: MoneyIn = Field(..., ge=0, max_digits=19, decimal_places=4)
    valid_from: datetime | None = None
    valid_until: datetime | None = None


class PricePatch(Schema):
    model_config = ConfigDict(extra="forbid")
    currency: str | None = Field(None, min_length=3, max_length=3)
    sale_type: SaleType | None = None
    sale_code: str | None = Field(None, max_length=100)
    min_quantity: QuantityIn | None = Field(None, ge=0, max_digits=12, decimal_places=2)
    unit_price: MoneyIn | None = Field(None, ge=0, max_digits=19, decimal_places=4)
    valid_from: datetime | None = None
    valid_until: datetime | None = None


class PriceFilters(Schema):
    variant: IdOrKey | None = Field(None, description="SKU or id of the variant.")
    product: IdOrKey | None = Field(None, description="Key or id of the product.")
    market: IdOrKey | None = Field(None, description="Key or id of the market.")
    currency: str | None = Field(None, max_length=3)
    sale_type: SaleType | None = None
    sale_code: str | None = Field(None, max_length=100)
    limit: int = Field(50, ge=1, le=500)
    cursor: str | None = Field(None, max_length=2000)


class PricePage(ShapedPage):
    items: list[PriceOut]


# --- Resolving --------------------------------------------------------------


class ResolveParams(Schema):
    sku: str = Field(..., min_length=1, max_length=100, description="The variant's SKU.")
    contact: IdOrKey | None = Field(None, description="Id or key of the contact; omit for an anonymous visitor.")
    quantity: QuantityIn = Field(Decimal(1), gt=0, max_digits=12, decimal_places=2)
    market: IdOrKey = Field(..., description="Key or id of the market.")
    currency: str | None = Field(None, min_length=3, max_length=3, description="Default: the market's.")
    at: datetime | None = Field(None, description="The moment to price at; default now.")


class ResolveOut(Shaped):
    sku: str
    unit_price: Money
    currency: str
    quantity: Quantity
    market: str
    contact: UUID | None
    price: PriceOut


class CandidateOut(Shaped):
    price: PriceOut
    applied: bool
    reason: str | None
    code: str | None
    level: str


class ExplainOut(Shaped):
    sku: str
    unit_price: Money | None
    currency: str
    quantity: Quantity
    market: str
    contact: UUID | None
    groups: list[str] = Field(..., description="The contact's effective customer groups.")
    price: PriceOut | None
    candidates: list[CandidateOut]


class BatchIn(Schema):
    model_config = ConfigDict(extra="forbid")
    skus: list[str] = Field(..., min_length=1, max_length=500)
    contact: IdOrKey | None = Field(None, description="Id or key of the contact; omit for an anonymous visitor.")
    quantity: QuantityIn = Field(Decimal(1), gt=0, max_digits=12, decimal_places=2)
    market: IdOrKey = Field(..., description="Key or id of the market.")
    currency: str | None = Field(None, min_length=3, max_length=3)
    at: datetime | None = None


class BatchItem(Shaped):
    sku: str
    unit_price: Money | None
    currency: str
    price: PriceOut | None
    problem: str | None = Field(None, description="unknown_sku or no_price when there is no price.")


class BatchOut(Shaped):
    items: list[BatchItem]
    market: str
    currency: str
    contact: UUID | None


def _rows(request: HttpRequest):
    return PriceRow.objects.visible_to(request.user).select_related("variant", "product", "market")


def _get(request: HttpRequest, ident: str) -> PriceRow:
    # The permission before the lookup: 403 for any ident, not 404 for a missing one.
    require_perm(request, "pricing.view_pricerow")
    return by_id_or_key(_rows(request), ident, label="price row")


def _market(markets, ident: str, field: str = "market") -> Market:
    """The market `ident` names among `markets` (visible_to); 422 on `field` for none."""
    return resolve_ref(markets, ident, field)


@router.get("", response=PricePage, summary="List price rows")
def list_prices(request: HttpRequest, filters: Query[PriceFilters]):
    require_perm(request, "pricing.view_pricerow")
    qs = _rows(request)
    if filters.variant:
        variants = Variant.objects.visible_to(request.user)
        qs = qs.filter(variant=by_id_or_key(variants, filters.variant, key_field="sku"))
    if filters.product:
        qs = qs.filter(product=by_id_or_key(Product.objects.visible_to(request.user), filters.product))
    if filters.market:
        qs = qs.filter(market=by_id_or_key(Market.objects.visible_to(request.user), filters.market))
    for name in ("currency", "sale_type", "sale_code"):
        if (value := getattr(filters, name)) is not None:
            qs = qs.filter(**{name: value})
    page = Keyset("id").page(qs, limit=filters.limit, cursor=filters.cursor)
    return {"items": [PriceOut.shape(row) for row in page.items], "next_cursor": page.next_cursor}


@router.post("", response={201: PriceOut}, summary="Create a price row")
def create_price(request: HttpRequest, response: HttpResponse, payload: PriceIn):
    # The service checks the permission too; asking first keeps a caller
    # without it from learning which references exist (403 before 422).
    require_perm(request, "pricing.add_pricerow")
    row = PriceRow(
        variant=resolve_ref(Variant.objects.visible_to(request.user), payload.variant, "variant", key_field="sku"),
        product=resolve_ref(Product.objects.visible_to(request.user), payload.product, "product"),
        market=_market(Market.objects.visible_to(request.user), payload.market), currency=payload.currency or "",
        sale_type=payload.sale_type, sale_code=payload.sale_code,
        min_quantity=payload.min_quantity, unit_price=payload.unit_price,
        valid_from=payload.valid_from, valid_until=payload.valid_until,
    )
    services.create_price_row(row, actor=request.user)
    set_etag(response, row)
    return 201, PriceOut.shape(row)


@router.get("/resolve", response=ResolveOut, summary="What a visitor pays for a SKU")
def resolve_price(request: HttpRequest, params: Query[ResolveParams]):
    return _resolve_one(request, params, explain=False)


@router.get("/explain", response=ExplainOut, summary="Why a price won: every candidate row")
def explain_price(request: HttpRequest, params: Query[ResolveParams]):
    return _resolve_one(request, params, explain=True)


@router.post("/resolve", response=BatchOut, summary="Resolve up to 500 SKUs at once")
def resolve_prices(request: HttpRequest, payload: BatchIn):
    require_perm(request, "pricing.view_pricerow")
    market, currency, contact = _context(request, payload.market, payload.currency, payload.contact)
    skus = list(dict.fromkeys(payload.skus))
    resolutions = services.resolve_prices(
        skus, contact=contact, quantity=payload.quantity, market=market,
        currency=currency, at=payload.at,
    )
    items = []
    for sku in skus:
        r = resolutions[sku]
        problem = None if r.price else ("no_price" if r.known else "unknown_sku")
        # The winner is in the currency asked: its shown price is the
        # resolution's unit price, rounded once rather than twice.
        price = PriceOut.shape(r.price)
        items.append({"sku": sku, "unit_price": price["unit_price"] if price else None, "currency": currency,
                      "price": price, "problem": problem})
    return {"items": items, "market": market.key, "currency": currency,
            "contact": contact.pk if contact else None}


@router.get("/{ident}", response=PriceOut, summary="Get a price row")
def get_price(request: HttpRequest, response: HttpResponse, ident: UUIDId):
    row = _get(request, ident)
    set_etag(response, row)
    return PriceOut.shape(row)


@router.patch("/{ident}", response=PriceOut, summary="Change a price row")
def update_price(request: HttpRequest, response: HttpResponse, ident: UUIDId, payload: PricePatch):
    # A null leaves a field as it is, except the validity bounds: null is "always".
    changes = {name: value for name, value in payload.model_dump(exclude_unset=True).items()
               if value is not None or name in ("valid_from", "valid_until")}
    row = services.update_price_row(_get(request, ident), changes=changes,
                                    actor=request.user, expected_version=if_match(request))
    set_etag(response, row)
    return PriceOut.shape(row)


@router.delete("/{ident}", response={204: None}, summary="Delete a price row")
def delete_price(request: HttpRequest, ident: UUIDId):
    services.delete_price_row(_get(request, ident), actor=request.user, expected_version=if_match(request))
    return 204, None


def _context(request: HttpRequest, market_ident: str, currency: str | None,
             contact_ident: str | None) -> tuple[Market, str, Contact | None]:
    """The market (the catalog is everyone's), the currency and the contact
    (None: anonymous) to price for, in one query (`market_and_contact`).
    Refusals in the order of the checks: an unknown market or currency
    (422), the permission to see contacts (403), a contact the caller
    cannot see (404)."""
    # Staff may price only for contacts they may see; others answer 404.
    scope = contact_scope(request.user) if contact_ident else ContactScope()
    market, contact = services.market_and_contact(market_ident, contact_ident or None, scope=scope)
    if market is None:
        raise unknown_refs(Market.objects.all(), [market_ident], "market")
    currency = (currency or market.default_currency).upper()
    if currency not in market.currencies:
        raise Invalid.on("currency", f"Market {market.key} sells in {', '.join(market.currencies)}, "
                                     f"not {currency}.")
    if contact_ident:
        require_perm(request, "customers.view_contact")
        if contact is None:
            raise not_found(Contact.objects.none(), contact_ident, label="contact")
    return market, currency, contact


def _resolve_one(request: HttpRequest, params: ResolveParams, *, explain: bool) -> dict:
    require_perm(request, "pricing.view_pricerow")
    market, currency, contact = _context(request, params.market, params.currency, params.contact)
    resolution = services.resolve_price(
        params.sku, contact=contact, quantity=params.quantity, market=market, currency=currency,
        at=params.at, explain=explain,
    )
    if not resolution.known:
        raise NotFound(detail=f"No variant with SKU '{params.sku}'.", code="unknown_sku")
    body = {"sku": params.sku, "unit_price": resolution.unit_price, "currency": currency,
            "quantity": params.quantity, "market": market.key,
            "contact": contact.pk if contact else None, "price": PriceOut.shape(resolution.price)}
    if explain:
        body["groups"] = sorted(resolution.group_keys)
        body["candidates"] = [
            {"price": PriceOut.shape(c.row), "applied": c.applied, "reason": c.reason or None, "code": c.code or None,
             "level": c.level} for c in services.shown_candidates(resolution.candidates, request.user)
        ]
        return body
    if resolution.price is None:
        raise NotFound(detail=f"No price for SKU {params.sku} in market {market.key} and currency "
                              f"{currency} for this visitor.", code="no_price")
    return body
