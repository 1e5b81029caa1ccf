"""Writes to visitor groups, segments, campaigns (with their promotions) and
content slots: the one path for the API, the back office and the demo.

Each write takes the acting account (`actor`; None is the system) and goes
through `clientbase.core.writes` (permission, expected version, rules, save
with history), then tells the judging cache that definitions changed.
"""

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import nh3
from django.db import transaction

from clientbase.catalog.models import Product, Variant
from clientbase.core import writes
from clientbase.core.errors import Conflict, FieldError, Invalid
from clientbase.core.text import check_plain_text
from clientbase.core.unique import check_unique
from clientbase.core.versions import ExpectedVersion
from clientbase.customers.models import CustomerGroup
from clientbase.marketing import judging
from clientbase.marketing.models import (
    Campaign, ContentSlot, ContentVariant, CouponRedemption, Promotion, PromotionKind, PromotionTarget, Segment, VisitorGroup,
)

COUPON_RE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{2,49}$")
MAX_PROMOTIONS = 50
MAX_VARIANTS = 50
MAX_HTML = 20_000

# What a content slot's HTML may hold: text markup, links and images. No
# scripts, styles, event handlers or forms: slots are edited by marketing
# staff and shown to every shopper.
ALLOWED_TAGS = {"a", "b", "strong", "i", "em", "u", "p", "br", "span", "div", "h2", "h3", "h4",
                "ul", "ol", "li", "img", "small", "mark", "blockquote"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "width", "height"},
                      "*": {"class"}}


def sanitize_html(html: str, field: str) -> str:
    if not isinstance(html, str):
        raise Invalid.on(field, "HTML is a text.")
    if len(html) > MAX_HTML:
        raise Invalid.on(field, f"At most {MAX_HTML:,} characters.")
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                     url_schemes={"http", "https", "mailto"})


def _check_named(obj) -> None:
    check_plain_text(obj.name, "name")
    check_unique(obj, "key")


def _after_write(obj):
    # Now, and again at commit: a request that reloaded the definitions
    # between the write and its commit cached the old ones.
    judging.changed()
    transaction.on_commit(judging.changed)
    return obj


# --- Visitor groups ----------------------------------------------------------------


def _check_visitor_group(group: VisitorGroup) -> None:
    _check_named(group)
    group.criteria = judging.clean_criteria(group.criteria)
    judging.check_match(group.match, group.threshold, group.criteria)


def create_visitor_group(group: VisitorGroup, *, actor) -> VisitorGroup:
    return _after_write(writes.create(group, actor=actor, check=_check_visitor_group, unique="key"))


def update_visitor_group(group: VisitorGroup, *, changes: Mapping[str, Any], actor,
                         expected_version: ExpectedVersion = None) -> VisitorGroup:
    return _after_write(writes.update(group, changes, actor=actor, check=_check_visitor_group,
                                      expected_version=expected_version, unique="key"))


def delete_visitor_group(group: VisitorGroup, *, actor, expected_version: ExpectedVersion = None) -> None:
    """Refused (409) while a content slot shows a variant for the group;
    segments simply lose it."""
    slots = sorted(ContentSlot.objects.filter(variants__visitor_group=group).values_list("key", flat=True))
    if slots:
        raise Conflict(detail=f"Content slots show a variant for this group: {', '.join(slots)}. "
                              f"Remove those variants first.", code="in_use")
    writes.delete(group, actor=actor, expected_version=expected_version)
    _after_write(group)


# --- Segments ----------------------------------------------------------------------


@transaction.atomic
def create_segment(segment: Segment, *, customer_groups: Iterable[CustomerGroup] = (),
                   visitor_groups: Iterable[VisitorGroup] = (), actor) -> Segment:
    writes.create(segment, actor=actor, check=_check_named, unique="key")
    segment.customer_groups.set(list(customer_groups))
    segment.visitor_groups.set(list(visitor_groups))
    return _after_write(segment)


@transaction.atomic
def update_segment(segment: Segment, *, changes: Mapping[str, Any], actor,
                   customer_groups: Iterable[CustomerGroup] | None = None,
                   visitor_groups: Iterable[VisitorGroup] | None = None,
                   expected_version: ExpectedVersion = None) -> Segment:
    segment = writes.update(segment, changes, actor=actor, check=_check_named,
                            expected_version=expected_version, unique="key")
    if customer_groups is not None:
        segment.customer_groups.set(list(customer_groups))
    if visitor_groups is not None:
        segment.visitor_groups.set(list(visitor_groups))
    return _after_write(segment)


def delete_segment(segment: Segment, *, actor, expected_version: ExpectedVersion = None) -> None:
    writes.delete(segment, actor=actor, expected_version=expected_version)
    _after_write(segment)


# --- Campaigns and their promotions --------------------------------------------------


def _check_campaign(campaign: Campaign) -> None:
    _check_named(campaign)
    if campaign.valid_from and campaign.valid_until and campaign.valid_until <= campaign.valid_from:
        raise Invalid.on("valid_until", "The campaign must end after it starts.")


def clean_promotions(raw: Any) -> list[Promotion]:
    """Unsaved promotions from their API form (a list of {kind, target,
    target_key, value, coupon, coupon_limit, combinable, priority}). The
    target must exist: a SKU for a variant, a product key for a product."""
    if not isinstance(raw, list):
        raise Invalid.on("promotions", "Promotions are a list.")
    if len(raw) > MAX_PROMOTIONS:
        raise Invalid.on("promotions", f"At most {MAX_PROMOTIONS} promotions.")
    errors: list[FieldError] = []
    promotions = []
    skus = {p.get("target_key") for p in raw if isinstance(p, dict) and p.get("target") == "variant"}
    keys = {p.get("target_key") for p in raw if isinstance(p, dict) and p.get("target") == "product"}
    known_skus = set(Variant.objects.filter(sku__in=[s for s in skus if isinstance(s, str)])
                     .values_list("sku", flat=True))
    known_keys = set(Product.objects.filter(key__in=[k for k in keys if isinstance(k, str)])
                     .values_list("key", flat=True))
    allowed = {"kind", "target", "target_key", "value", "coupon", "coupon_limit", "combinable", "priority"}
    for index, entry in enumerate(raw):
        where = f"promotions.{index}"

        def bad(name: str, message: str) -> None:
            errors.append(FieldError(f"{where}.{name}" if name else where, message))

        if not isinstance(entry, dict) or set(entry) - allowed:
            bad("", f"A promotion holds only {', '.join(sorted(allowed))}.")
            continue
        before = len(errors)
        kind, target = entry.get("kind"), entry.get("target")
        if kind not in PromotionKind.values:
            bad("kind", f"Kind is one of {', '.join(PromotionKind.values)}.")
        if target not in PromotionTarget.values:
            bad("target", f"Target is one of {', '.join(PromotionTarget.values)}.")
        target_key = entry.get("target_key") or ""
        if not isinstance(target_key, str):
            bad("target_key", "A SKU or a product key.")
            target_key = ""
        if target == PromotionTarget.ORDER and target_key:
            bad("target_key", "An order promotion names no target.")
        elif target == PromotionTarget.VARIANT and target_key not in known_skus:
            bad("target_key", f"No variant has SKU {target_key!r}.")
        elif target == PromotionTarget.PRODUCT and target_key not in known_keys:
            bad("target_key", f"No product has key {target_key!r}.")
        value = _amount(entry.get("value"))
        if value is None or value <= 0:
            bad("value", "A positive amount is required.")
        elif kind == PromotionKind.PERCENT_OFF and value > 100:
            bad("value", "A percentage is at most 100.")
        coupon = entry.get("coupon") or ""
        if not isinstance(coupon, str) or (coupon and not COUPON_RE.match(coupon.strip().upper())):
            bad("coupon", "A coupon code is 3 to 50 letters, digits, - or _.")
            coupon = ""
        limit = entry.get("coupon_limit")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            bad("coupon_limit", "A limit is a whole number of at least 1.")
        elif limit is not None and not coupon:
            bad("coupon_limit", "Only a coupon has a limit.")
        priority = entry.get("priority", 0)
        if isinstance(priority, bool) or not isinstance(priority, int) or abs(priority) > 1_000_000:
            bad("priority", "Priority is a whole number.")
        combinable = entry.get("combinable", False)
        if not isinstance(combinable, bool):
            bad("combinable", "Combinable is true or false.")
        if len(errors) == before:
            promotions.append(Promotion(position=index, kind=kind, target=target, target_key=target_key,
                                        value=value, coupon=coupon.strip().upper(), coupon_limit=limit,
                                        combinable=combinable, priority=priority))
    if errors:
        raise Invalid(detail="; ".join(f"{e.field}: {e.message}" for e in errors),
                      code="validation", errors=errors)
    return promotions


def _amount(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount.quantize(Decimal("0.0001")) if amount.is_finite() and amount < 10 ** 15 else None


def _set_promotions(campaign: Campaign, promotions: list[Promotion]) -> None:
    """Replace the campaign's promotions. A coupon's uses so far follow its
    code to the new promotion holding it: editing a campaign never resets
    a coupon's count against its limit."""
    old = dict(campaign.promotions.exclude(coupon="").values_list("pk", "coupon"))
    for promotion in promotions:
        promotion.campaign = campaign
    created = Promotion.objects.bulk_create(promotions)
    by_coupon = {p.coupon: p.pk for p in created if p.coupon}
    for old_pk, coupon in old.items():
        if coupon in by_coupon:
            CouponRedemption.objects.filter(promotion_id=old_pk).update(promotion_id=by_coupon[coupon])
    campaign.promotions.exclude(pk__in=[p.pk for p in created]).delete()


@transaction.atomic
def create_campaign(campaign: Campaign, *, segments: Iterable[Segment] = (), promotions: Any = (),
                    actor) -> Campaign:
    cleaned = clean_promotions(list(promotions))
    writes.create(campaign, actor=actor, check=_check_campaign, unique="key")
    campaign.segments.set(list(segments))
    _set_promotions(campaign, cleaned)
    return _after_write(campaign)


@transaction.atomic
def update_campaign(campaign: Campaign, *, changes: Mapping[str, Any], actor,
                    segments: Iterable[Segment] | None = None, promotions: Any = None,
                    expected_version: ExpectedVersion = None) -> Campaign:
    cleaned = clean_promotions(list(promotions)) if promotions is not None else None
    if cleaned is not None and not changes:
        changes = {"updated_at": campaign.updated_at}  # a new version for new promotions
    campaign = writes.update(campaign, changes, actor=actor, check=_check_campaign,
                             expected_version=expected_version, unique="key")
    if segments is not None:
        campaign.segments.set(list(segments))
    if cleaned is not None:
        _set_promotions(campaign, cleaned)
    return _after_write(campaign)


def delete_campaign(campaign: Campaign, *, actor, expected_version: ExpectedVersion = None) -> None:
    writes.delete(campaign, actor=actor, expected_version=expected_version)
    _after_write(campaign)


# --- Content slots ---------------------------------------------------------------------


def _check_slot(slot: ContentSlot) -> None:
    _check_named(slot)
    slot.default_html = sanitize_html(slot.default_html, "default_html")


def clean_variants(raw: Any) -> list[ContentVariant]:
    """Unsaved variants from [(visitor_group, html)] pairs, in order."""
    pairs = list(raw)
    if len(pairs) > MAX_VARIANTS:
        raise Invalid.on("variants", f"At most {MAX_VARIANTS} variants.")
    seen: set = set()
    variants = []
    for index, (group, html) in enumerate(pairs):
        if group.pk in seen:
            raise Invalid.on(f"variants.{index}.visitor_group", f"{group.key} has a variant already.")
        seen.add(group.pk)
        variants.append(ContentVariant(visitor_group=group, position=index,
                                       html=sanitize_html(html, f"variants.{index}.html")))
    return variants


def _set_variants(slot: ContentSlot, variants: list[ContentVariant]) -> None:
    slot.variants.all().delete()
    for variant in variants:
        variant.slot = slot
    ContentVariant.objects.bulk_create(variants)


@transaction.atomic
def create_content_slot(slot: ContentSlot, *, variants: Any = (), actor) -> ContentSlot:
    cleaned = clean_variants(variants)
    writes.create(slot, actor=actor, check=_check_slot, unique="key")
    _set_variants(slot, cleaned)
    return _after_write(slot)


@transaction.atomic
def update_content_slot(slot: ContentSlot, *, changes: Mapping[str, Any], actor, variants: Any = None,
                        expected_version: ExpectedVersion = None) -> ContentSlot:
    cleaned = clean_variants(variants) if variants is not None else None
    if cleaned is not None and not changes:
        changes = {"updated_at": slot.updated_at}
    slot = writes.update(slot, changes, actor=actor, check=_check_slot,
                         expected_version=expected_version, unique="key")
    if cleaned is not None:
        _set_variants(slot, cleaned)
    return _after_write(slot)


def delete_content_slot(slot: ContentSlot, *, actor, expected_version: ExpectedVersion = None) -> None:
    writes.delete(slot, actor=actor, expected_version=expected_version)
    _after_write(slot)
