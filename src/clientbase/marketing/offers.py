"""Promotions as offers: which apply to a shopper, and the best combination
for a line or an order.

Shopping asks after price resolution (DESIGN.md "Personalization and
marketing"): for each cart line the resolver's unit price, then the offers
here; then the order's offers on the discounted subtotal.

Choosing, the same way for a line and for the order: each non-combinable
offer alone, or all the combinable offers together (applied one after the
other, by priority); the choice that takes most off for the customer wins.
Ties go to the higher priority, then a single offer before a stack, then
the campaign key and the promotion's position: never to chance.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Count

from clientbase.core.currencies import quantize
from clientbase.marketing import judging
from clientbase.core.errors import Conflict
from clientbase.marketing.models import Campaign, CouponRedemption, Promotion, PromotionKind, PromotionTarget

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Offer:
    """A promotion with what decides whether it applies: its campaign's
    window and audience (customer-group and visitor-group keys of the
    campaign's segments; `everyone` when the campaign names no segment)."""

    promotion_id: int
    position: int
    campaign_key: str
    campaign_name: str
    kind: str
    target: str
    target_key: str
    value: Decimal
    coupon: str
    coupon_limit: int | None
    combinable: bool
    priority: int
    valid_from: datetime | None
    valid_until: datetime | None
    everyone: bool
    customer_groups: frozenset[str]
    visitor_groups: frozenset[str]

    @property
    def label(self) -> str:
        amount = f"{self.value.normalize():f}"
        off = f"{amount}% off" if self.kind == PromotionKind.PERCENT_OFF else f"{amount} off"
        coupon = f", coupon {self.coupon}" if self.coupon else ""
        return f"{self.campaign_name} ({off}{coupon})"

    def live(self, at: datetime) -> bool:
        return (self.valid_from is None or self.valid_from <= at) and (
            self.valid_until is None or at < self.valid_until)

    def for_audience(self, group_keys: frozenset[str], visitor_groups: frozenset[str]) -> bool:
        return self.everyone or bool(self.customer_groups & group_keys) or bool(
            self.visitor_groups & visitor_groups)

    def off(self, amount: Decimal, quantity: int = 1) -> Decimal:
        """What this offer takes off `amount` (a unit price, or a subtotal
        with quantity 1): never more than the amount itself."""
        if self.kind == PromotionKind.PERCENT_OFF:
            return amount * self.value / HUNDRED
        return min(self.value, amount)


def compiled_offers() -> list[Offer]:
    """The promotions of every active campaign: from the cache, or three queries."""
    return judging.cached("marketing:offers", _load_offers)


def _load_offers() -> list[Offer]:
    offers = []
    campaigns = Campaign.objects.filter(is_active=True).prefetch_related(
        "promotions", "segments__customer_groups", "segments__visitor_groups")
    for campaign in campaigns:
        segments = list(campaign.segments.all())
        customer = frozenset(g.key for s in segments for g in s.customer_groups.all())
        visitor = frozenset(g.key for s in segments for g in s.visitor_groups.all())
        for p in campaign.promotions.all():
            offers.append(Offer(p.pk, p.position, campaign.key, campaign.name, p.kind, p.target,
                                p.target_key, p.value, p.coupon, p.coupon_limit, p.combinable, p.priority,
                                campaign.valid_from, campaign.valid_until, not segments, customer, visitor))
    return offers


def uses_customer_groups(offers: list[Offer]) -> bool:
    return any(o.customer_groups for o in offers)


def coupons_used_up(offers: list[Offer]) -> set[int]:
    """Promotion ids whose coupon reached its limit (one query, only for
    offers that have a limit)."""
    limited = {o.promotion_id: o.coupon_limit for o in offers if o.coupon and o.coupon_limit}
    if not limited:
        return set()
    used = dict(CouponRedemption.objects.filter(promotion_id__in=limited).values("promotion_id")
                .annotate(n=Count("id")).values_list("promotion_id", "n"))
    return {pid for pid, limit in limited.items() if used.get(pid, 0) >= limit}


def eligible(offers: list[Offer], *, at: datetime, group_keys: frozenset[str] = frozenset(),
             visitor_groups: frozenset[str] = frozenset(), coupon: str = "") -> list[Offer]:
    """The offers this shopper may have now: live, for its audience, and
    behind no coupon or behind the coupon it entered (within its limit)."""
    coupon = (coupon or "").strip().upper()
    chosen = [o for o in offers if o.live(at) and o.for_audience(group_keys, visitor_groups)
              and (not o.coupon or o.coupon == coupon)]
    spent = coupons_used_up(chosen) if coupon else set()
    return [o for o in chosen if o.promotion_id not in spent]


def why_not(offer: Offer, *, at: datetime, group_keys: frozenset[str], visitor_groups: frozenset[str],
            coupon: str, spent: set[int] = frozenset()) -> str | None:
    """Why `offer` is not open to this shopper now (None: it is)."""
    if not offer.live(at):
        return "outside the campaign's dates"
    if not offer.for_audience(group_keys, visitor_groups):
        return "not for this shopper's segments"
    if offer.coupon and offer.coupon != (coupon or "").strip().upper():
        return f"needs coupon {offer.coupon}"
    if offer.promotion_id in spent:
        return "its coupon is used up"
    return None


def coupon_known(offers: list[Offer], coupon: str) -> bool:
    coupon = (coupon or "").strip().upper()
    return any(o.coupon == coupon for o in offers)


@dataclass(frozen=True)
class Applied:
    """The offers that apply together and what they take off in all."""

    offers: tuple[Offer, ...]
    discount: Decimal

    @property
    def labels(self) -> list[str]:
        return [o.label for o in self.offers]


NOTHING = Applied((), Decimal(0))


def _order(o: Offer) -> tuple:
    return (-o.priority, o.campaign_key, o.position, o.promotion_id)


def best(offers: list[Offer], amount: Decimal, quantity: int, currency: str) -> Applied:
    """The best choice among `offers` for `quantity` units at `amount` each."""
    if not offers or amount <= 0:
        return NOTHING
    total = amount * quantity
    choices: list[tuple[tuple, Applied]] = []
    for offer in offers:
        if not offer.combinable:
            discount = quantize(min(offer.off(amount) * quantity, total), currency)
            choices.append(((-discount, -offer.priority, 0, *_order(offer)[1:]), Applied((offer,), discount)))
    stack = sorted((o for o in offers if o.combinable), key=_order)
    if stack:
        unit = amount
        for offer in stack:
            unit -= min(offer.off(unit), unit)
        discount = quantize(min((amount - unit) * quantity, total), currency)
        top = stack[0]
        choices.append(((-discount, -top.priority, 1, *_order(top)[1:]), Applied(tuple(stack), discount)))
    key, applied = min(choices, key=lambda c: c[0])
    return applied if applied.discount > 0 else NOTHING


def for_line(offers: list[Offer], *, sku: str, product_key: str | None) -> list[Offer]:
    return [o for o in offers if (o.target == PromotionTarget.VARIANT and o.target_key == sku)
            or (o.target == PromotionTarget.PRODUCT and product_key and o.target_key == product_key)]


def for_order(offers: list[Offer]) -> list[Offer]:
    return [o for o in offers if o.target == PromotionTarget.ORDER]


def record_redemptions(applied: list[Applied], order_number: str) -> None:
    """Count the coupons an order used against their limits. The promotions
    are locked first and counted again, so that two checkouts at once cannot
    both take a coupon's last use: the later one is refused (Conflict) and,
    inside the checkout's transaction, places nothing."""
    ids = sorted({o.promotion_id for a in applied for o in a.offers if o.coupon})
    if not ids:
        return
    limits = dict(Promotion.objects.select_for_update().filter(pk__in=ids).values_list("pk", "coupon_limit"))
    used = dict(CouponRedemption.objects.filter(promotion_id__in=ids).values("promotion_id")
                .annotate(n=Count("id")).values_list("promotion_id", "n"))
    spent = [pid for pid in ids if limits.get(pid) is not None and used.get(pid, 0) >= limits[pid]]
    if spent:
        raise Conflict.on("coupon", "This coupon has been used up; remove it and check the prices again.",
                          code="coupon_used_up")
    CouponRedemption.objects.bulk_create(
        [CouponRedemption(promotion_id=pid, order_number=order_number) for pid in ids])
