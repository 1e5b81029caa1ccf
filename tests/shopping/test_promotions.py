"""Promotions in the cart and at checkout (issue 12): shopping composes the
resolver's price and marketing's offers; lines and orders name the
promotion that changed a price."""

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone
from hypothesis import given, settings as hsettings, strategies as st

from clientbase.core.errors import Conflict, Invalid
from clientbase.marketing.models import Campaign, CouponRedemption, Segment, VisitorGroup
from clientbase.marketing.offers import Offer, best
from clientbase.marketing.services import create_campaign, create_segment, create_visitor_group
from clientbase.shopping.services import carts
from clientbase.shopping.services.orders import checkout

ADDRESS = {"first_name": "Ana", "last_name": "Silva", "line1": "Hauptstr. 1", "line2": "",
           "city": "Berlin", "postcode": "10115", "country": "DE"}


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def campaign(key: str, promotions: list[dict], *, segments=(), **fields) -> Campaign:
    return create_campaign(Campaign(key=key, name=fields.pop("name", key.title()), **fields),
                           segments=list(segments), promotions=promotions, actor=None)


def segment_of(key: str, customer_groups=(), visitor_groups=()) -> Segment:
    return create_segment(Segment(key=key, name=key), customer_groups=list(customer_groups),
                          visitor_groups=list(visitor_groups), actor=None)


def pct(value: str, target="product", key="TSHIRT", **extra) -> dict:
    return {"kind": "percent_off", "target": target, "target_key": key if target != "order" else "",
            "value": value, **extra}


@pytest.fixture
def gold_10(world, eu_prices):
    """Gold members: 10% off the T-shirt."""
    return campaign("GOLD10", [pct("10")], name="Gold members: 10% off",
                    segments=[segment_of("GOLD-SEG", customer_groups=[world["GOLD"]])])


def test_a_gold_member_gets_the_campaign_price_and_its_name(gold_10, shopper, catalog):
    cart = carts.cart_for_account(shopper("gold@example.com", groups=["GOLD"]), market=catalog["EU"])
    carts.add_line(cart, "TS-M", 2)

    quote = carts.priced(cart)

    line = quote.lines[0]
    assert line.unit_price == Decimal("15.00")  # the Gold price first
    assert line.discount == Decimal("3.00")     # then 10% of 2 × 15.00
    assert line.line_total == Decimal("27.00")
    assert line.promotions == ["Gold members: 10% off (10% off)"]
    assert quote.total == Decimal("27.00")


def test_an_anonymous_visitor_does_not_get_a_members_campaign(gold_10, anonymous_cart):
    carts.add_line(anonymous_cart, "TS-M", 2)
    quote = carts.priced(anonymous_cart)
    assert quote.lines[0].promotions == [] and quote.total == Decimal("40.00")


def test_a_campaign_outside_its_window_never_applies(eu_prices, anonymous_cart):
    now = timezone.now()
    campaign("PAST", [pct("50")], valid_from=now - timedelta(days=10), valid_until=now - timedelta(seconds=1))
    campaign("FUTURE", [pct("50")], valid_from=now + timedelta(seconds=60))
    campaign("OFF", [pct("50")], is_active=False)
    carts.add_line(anonymous_cart, "TS-M", 1)
    assert carts.priced(anonymous_cart).total == Decimal("20.00")
    # at a moment inside FUTURE's window it applies
    assert carts.priced(anonymous_cart, at=now + timedelta(seconds=61)).total == Decimal("10.00")


def test_of_two_non_combinable_promotions_the_better_one_applies(eu_prices, anonymous_cart):
    campaign("SMALL", [pct("10")])
    campaign("BIG", [{"kind": "amount_off", "target": "variant", "target_key": "TS-M", "value": "5.00"}])
    carts.add_line(anonymous_cart, "TS-M", 2)
    line = carts.priced(anonymous_cart).lines[0]
    assert line.discount == Decimal("10.00") and line.promotions == ["Big (5 off)"]


def test_combinable_promotions_stack_when_together_they_beat_the_best_single(eu_prices, anonymous_cart):
    campaign("A", [pct("10", combinable=True, priority=2)])
    campaign("B", [pct("10", combinable=True, priority=1)])
    campaign("C", [pct("15")])
    carts.add_line(anonymous_cart, "TS-M", 1)
    line = carts.priced(anonymous_cart).lines[0]
    # 20.00 − 10% = 18.00, − 10% = 16.20: 3.80 off beats C's 3.00
    assert line.discount == Decimal("3.80")
    assert line.promotions == ["A (10% off)", "B (10% off)"]


def test_an_order_promotion_applies_to_the_discounted_subtotal(eu_prices, anonymous_cart):
    campaign("LINE", [pct("50")])
    campaign("ORDER", [{"kind": "amount_off", "target": "order", "value": "25.00"}])
    carts.add_line(anonymous_cart, "TS-M", 2)
    quote = carts.priced(anonymous_cart)
    assert quote.subtotal == Decimal("20.00")
    assert quote.order_discount == Decimal("20.00")  # never more than the subtotal
    assert quote.total == Decimal("0.00")
    assert quote.order_promotions == ["Order (25 off)"]


def test_a_coupon_unlocks_its_promotion_and_an_unknown_one_is_refused(eu_prices, anonymous_cart):
    campaign("WELCOME", [{"kind": "amount_off", "target": "order", "value": "5", "coupon": "WELCOME5"}])
    carts.add_line(anonymous_cart, "TS-M", 1)
    assert carts.priced(anonymous_cart).total == Decimal("20.00")

    with pytest.raises(Invalid) as refused:
        carts.set_coupon(anonymous_cart, "NOPE")
    assert refused.value.errors[0].field == "coupon"

    carts.set_coupon(anonymous_cart, " welcome5 ")
    quote = carts.priced(anonymous_cart)
    assert quote.total == Decimal("15.00") and quote.coupon_problem == ""


def test_a_coupon_past_its_limit_never_applies(eu_prices, anonymous_cart, catalog):
    campaign("ONCE", [{"kind": "amount_off", "target": "order", "value": "5", "coupon": "ONCE5",
                       "coupon_limit": 1}])
    carts.add_line(anonymous_cart, "TS-M", 1)
    carts.set_coupon(anonymous_cart, "ONCE5")
    first = checkout(anonymous_cart, email="a@example.com", shipping=ADDRESS, billing=ADDRESS)
    assert first.total == Decimal("15.00") and first.coupon == "ONCE5"
    assert CouponRedemption.objects.filter(order_number=first.number).count() == 1

    second_cart = carts.new_cart(market=catalog["EU"])
    carts.add_line(second_cart, "TS-M", 1)
    carts.set_coupon(second_cart, "ONCE5")
    quote = carts.priced(second_cart)
    assert quote.total == Decimal("20.00")
    assert "does not apply" in quote.coupon_problem


def test_the_last_use_of_a_coupon_cannot_be_taken_twice(eu_prices, catalog):
    """Two carts priced while one use was left: the second checkout is refused."""
    campaign("ONCE", [{"kind": "amount_off", "target": "order", "value": "5", "coupon": "ONCE5",
                       "coupon_limit": 1}])
    both = []
    for _ in range(2):
        cart = carts.new_cart(market=catalog["EU"])
        carts.add_line(cart, "TS-M", 1)
        carts.set_coupon(cart, "ONCE5")
        both.append((cart, carts.priced(cart)))
    from clientbase.marketing.offers import record_redemptions

    record_redemptions(both[0][1].applied, "CB-TEST-1")
    with pytest.raises(Conflict) as refused:
        record_redemptions(both[1][1].applied, "CB-TEST-2")
    assert refused.value.code == "coupon_used_up"


def test_checkout_keeps_the_promotions_on_the_order(gold_10, shopper, catalog):
    account = shopper("gold@example.com", groups=["GOLD"])
    cart = carts.cart_for_account(account, market=catalog["EU"])
    carts.add_line(cart, "TS-M", 2)
    order = checkout(cart, shipping=ADDRESS, billing=ADDRESS)
    line = order.lines.get()
    assert (line.unit_price, line.discount, line.line_total) == (Decimal("15.00"), Decimal("3.00"),
                                                                  Decimal("27.00"))
    assert line.promotions == ["Gold members: 10% off (10% off)"]
    assert order.total == Decimal("27.00") and order.discount_total == Decimal("3.00")


def test_a_visitor_group_segment_applies_to_the_visitors_the_door_judged_in(eu_prices, anonymous_cart):
    first = create_visitor_group(VisitorGroup(key="FIRST", name="First", criteria=[{"type": "first_visit"}]),
                                 actor=None)
    campaign("HELLO", [pct("20")], segments=[segment_of("NEW", visitor_groups=[first])])
    carts.add_line(anonymous_cart, "TS-M", 1)
    assert carts.priced(anonymous_cart).total == Decimal("20.00")
    assert carts.priced(anonymous_cart, visitor_groups=frozenset({"FIRST"})).total == Decimal("16.00")


def test_pricing_with_promotions_costs_a_fixed_number_of_queries(gold_10, shopper, catalog,
                                                                 django_assert_max_num_queries):
    cart = carts.cart_for_account(shopper("gold@example.com", groups=["GOLD"]), market=catalog["EU"])
    for sku in ("TS-S", "TS-M", "TS-L"):
        carts.add_line(cart, sku, 1)
    carts.priced(cart)  # warm the offers' cache
    with django_assert_max_num_queries(6):
        quote = carts.priced(cart)
    assert all(line.promotions for line in quote.lines)


# --- choosing, as a property -----------------------------------------------------------

def offer(n: int, kind: str, value: Decimal, combinable: bool, priority: int) -> Offer:
    return Offer(n, n, f"C{n}", f"C{n}", kind, "order", "", value, "", None, combinable, priority,
                 None, None, True, frozenset(), frozenset())


offers_strategy = st.lists(
    st.tuples(st.sampled_from(["percent_off", "amount_off"]),
              st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100"), places=2),
              st.booleans(), st.integers(-3, 3)),
    max_size=6,
).map(lambda specs: [offer(i, *spec) for i, spec in enumerate(specs)])


@hsettings(max_examples=200, deadline=None)
@given(offers=offers_strategy, amount=st.decimals(min_value=Decimal("0"), max_value=Decimal("1000"), places=2),
       quantity=st.integers(1, 20), seed=st.integers(0, 1000))
def test_the_choice_never_exceeds_the_price_and_ignores_the_order_offers_come_in(offers, amount, quantity, seed):
    chosen = best(offers, amount, quantity, "EUR")
    assert Decimal(0) <= chosen.discount <= amount * quantity
    shuffled = list(offers)
    random.Random(seed).shuffle(shuffled)
    again = best(shuffled, amount, quantity, "EUR")
    assert (again.discount, [o.promotion_id for o in again.offers]) == (
        chosen.discount, [o.promotion_id for o in chosen.offers])
    singles = [best([o], amount, quantity, "EUR").discount for o in offers if not o.combinable]
    assert chosen.discount >= max(singles, default=Decimal(0))


def test_editing_a_campaign_keeps_its_coupons_uses(eu_prices, catalog):
    from clientbase.marketing.services import update_campaign

    once = campaign("ONCE", [{"kind": "amount_off", "target": "order", "value": "5", "coupon": "ONCE5",
                              "coupon_limit": 1}])
    cart = carts.new_cart(market=catalog["EU"])
    carts.add_line(cart, "TS-M", 1)
    carts.set_coupon(cart, "ONCE5")
    checkout(cart, email="a@example.com", shipping=ADDRESS, billing=ADDRESS)

    update_campaign(once, changes={"name": "Renamed"}, actor=None,
                    promotions=[pct("10"), {"kind": "amount_off", "target": "order", "value": "6",
                                            "coupon": "ONCE5", "coupon_limit": 1}])

    assert CouponRedemption.objects.count() == 1
    again = carts.new_cart(market=catalog["EU"])
    carts.add_line(again, "TS-M", 1)
    carts.set_coupon(again, "ONCE5")
    assert "does not apply" in carts.priced(again).coupon_problem
