"""A quote: what one SKU costs a shopper at a quantity — the resolver's
price, then marketing's offers — and, for staff, why each offer applied or
not. The cart prices its lines the same way (carts.priced)."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from clientbase.catalog.models import Variant
from clientbase.core.currencies import quantize
from clientbase.core.errors import NotFound
from clientbase.customers.models import Contact
from clientbase.marketing import offers as marketing
from clientbase.pricing.listing import Storefront
from clientbase.pricing.services import resolve_prices
from clientbase.shopping.services.carts import (
    PricedLine, coupon_text, group_names, offer_line, price_why, shopper_groups,
)
from clientbase.shopping.services.quantities import line_quantity


@dataclass
class OfferVerdict:
    """One promotion of the shop, judged for the quote: `status` is
    `applied`, `not_best` (open, but another choice took more off) or
    `not_open` (`reason` says why: dates, segments, coupon)."""

    campaign: str
    label: str
    status: str
    reason: str = ""


@dataclass
class Quote:
    sku: str
    quantity: int
    market: str
    currency: str
    line: PricedLine
    offers: list[OfferVerdict] = field(default_factory=list)


def quote(sku: str, quantity: int, *, contact: Contact | None, storefront: Storefront,
          visitor_groups: frozenset[str] = frozenset(), coupon: str = "", at: datetime | None = None,
          explain: bool = False) -> Quote:
    """The quote for `quantity` of `sku` (on sale) for `contact` (None:
    anonymous) judged in `visitor_groups`, in the storefront's market and
    currency. NotFound for a SKU not on sale; Invalid for a bad quantity."""
    quantity = line_quantity(quantity)
    variant = Variant.objects.on_sale().select_related("product").filter(sku=(sku or "").strip()).first()
    if variant is None:
        raise NotFound(detail=f"No SKU '{sku}' is on sale.", code="unknown_sku")
    at = at or timezone.now()
    currency = storefront.currency
    resolution = resolve_prices([variant.sku], contact=contact, quantity=Decimal(quantity),
                                market=storefront.market, currency=currency, at=at)[variant.sku]
    line = PricedLine(sku=variant.sku, name=variant.name or variant.product.name, quantity=quantity,
                      variant=variant, discount=quantize(Decimal(0), currency))
    if resolution.price is None:
        line.problem = f"no price for you in {storefront.market.key}/{currency}"
    else:
        line.price, line.unit_price = resolution.price, resolution.unit_price
        line.line_total = quantize(resolution.unit_price * quantity, currency)
        line.why = price_why(resolution.price, group_names([resolution.price]))
    offers = marketing.compiled_offers()
    group_keys = shopper_groups(offers, contact) if offers else frozenset()
    usable = marketing.eligible(offers, at=at, group_keys=group_keys, visitor_groups=visitor_groups,
                                coupon=coupon_text(coupon)) if offers else []
    applied = offer_line(line, usable, currency)
    result = Quote(variant.sku, quantity, storefront.market.key, currency, line)
    if explain:
        open_ids = {o.promotion_id for o in usable}
        applied_ids = {o.promotion_id for o in applied.offers}
        for offer in marketing.for_line(offers, sku=variant.sku, product_key=variant.product.key):
            if offer.promotion_id in applied_ids:
                verdict = OfferVerdict(offer.campaign_key, offer.label, "applied")
            elif offer.promotion_id in open_ids:
                verdict = OfferVerdict(offer.campaign_key, offer.label, "not_best",
                                       "another choice takes more off" if line.unit_price is not None
                                       else "the item has no price")
            else:
                reason = marketing.why_not(offer, at=at, group_keys=group_keys, visitor_groups=visitor_groups,
                                           coupon=coupon) or "its coupon is used up"
                verdict = OfferVerdict(offer.campaign_key, offer.label, "not_open", reason)
            result.offers.append(verdict)
    return result
