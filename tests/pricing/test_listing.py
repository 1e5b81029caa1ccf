"""The catalog as a visitor sees it (clientbase.pricing.listing): prices per
visitor, quantity breaks, unavailable variants, search, pages, the market
chosen, and the fixed cost of a page."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.db.models import Exists, OuterRef
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from clientbase.catalog.models import Market, Product, Variant
from clientbase.core.errors import Invalid, NotFound
from clientbase.pricing import listing
from clientbase.pricing.resolver import resolve_price_ladders, resolve_prices
from tests.conftest import make_account


@pytest.fixture
def shop(shop_prices):
    """T-shirt S and M: 20.00 for all, 18.00 from 10, Gold 15.00; L has no price."""
    return listing.Storefront(shop_prices["EU"], "EUR")


@pytest.fixture
def gold(contact_in):
    return contact_in(groups=["GOLD"])


def variants_of(product: listing.ListedProduct) -> dict[str, listing.ListedVariant]:
    return {v.sku: v for v in product.variants}


def test_an_anonymous_visitor_sees_the_all_customers_price_and_its_break(shop):
    # when
    product = listing.get_product("TSHIRT", contact=None, storefront=shop)
    # then
    medium = variants_of(product)["TS-M"]
    assert (medium.unit_price, medium.list_price) == (Decimal("20.00"), Decimal("20.00"))
    assert medium.quantity_breaks == [listing.QuantityBreak(Decimal(10), Decimal("18.00"))]
    assert not medium.is_own_price
    assert medium.currency == "EUR"


def test_a_gold_contact_sees_the_gold_price_next_to_the_list_price(shop, gold):
    # when
    medium = variants_of(listing.get_product("TSHIRT", contact=gold, storefront=shop))["TS-M"]
    # then: 18.00 from 10 is no break for Gold, who pays 15.00 anyway
    assert (medium.unit_price, medium.list_price) == (Decimal("15.00"), Decimal("20.00"))
    assert medium.is_own_price
    assert medium.quantity_breaks == []


def test_a_break_is_the_visitors_own_price_at_each_lower_step(shop, gold, price):
    # given: Gold pays 12.00 from 10 and 11.00 from 50; everyone 17.00 from 25
    price("TS-M", "12.00", sale_type="customer_group", sale_code="GOLD", min_quantity="10")
    price("TS-M", "11.00", sale_type="customer_group", sale_code="GOLD", min_quantity="50")
    price("TS-M", "17.00", min_quantity="25")
    # when
    gold_medium = variants_of(listing.get_product("TSHIRT", contact=gold, storefront=shop))["TS-M"]
    anonymous_medium = variants_of(listing.get_product("TSHIRT", contact=None, storefront=shop))["TS-M"]
    # then
    assert [(b.min_quantity, b.unit_price) for b in gold_medium.quantity_breaks] == [
        (Decimal(10), Decimal("12.00")), (Decimal(50), Decimal("11.00"))]
    assert [(b.min_quantity, b.unit_price) for b in anonymous_medium.quantity_breaks] == [
        (Decimal(10), Decimal("18.00")), (Decimal(25), Decimal("17.00"))]


def test_a_step_that_does_not_lower_the_rounded_price_is_no_break(shop, price):
    # given: from 5 a row of 19.999, which wins but shows as 20.00
    price("TS-S", "19.999", min_quantity="5")
    # when
    small = variants_of(listing.get_product("TSHIRT", contact=None, storefront=shop))["TS-S"]
    # then
    assert [b.min_quantity for b in small.quantity_breaks] == [Decimal(10)]


def test_a_variant_without_a_price_is_listed_as_unavailable(shop):
    # when
    large = variants_of(listing.get_product("TSHIRT", contact=None, storefront=shop))["TS-L"]
    # then
    assert not large.available
    assert (large.unit_price, large.list_price, large.quantity_breaks) == (None, None, [])


def test_a_variant_priced_only_from_a_minimum_quantity_is_unavailable_with_its_break(catalog, price):
    # given: the large size sells only by 10
    price("TS-L", "16.00", min_quantity="10")
    # when
    large = variants_of(listing.get_product("TSHIRT", contact=None,
                                            storefront=listing.Storefront(catalog["EU"], "EUR")))["TS-L"]
    # then
    assert large.unit_price is None
    assert large.quantity_breaks == [listing.QuantityBreak(Decimal(10), Decimal("16.00"))]


def test_product_level_prices_apply_to_variants_without_their_own(shop, price):
    # given
    price("TSHIRT", "25.00")
    # when
    variants = variants_of(listing.get_product("TSHIRT", contact=None, storefront=shop))
    # then
    assert variants["TS-L"].unit_price == Decimal("25.00")
    assert variants["TS-M"].unit_price == Decimal("20.00")


def test_a_customer_price_is_shown_to_that_customer_only(shop, contact_in, price):
    # given
    mine = contact_in(key="C-MINE")
    other = contact_in(key="C-OTHER")
    price("TS-M", "9.00", sale_type="customer", sale_code="C-MINE")
    # when / then
    assert variants_of(listing.get_product("TSHIRT", contact=mine, storefront=shop))["TS-M"].unit_price \
        == Decimal("9.00")
    assert variants_of(listing.get_product("TSHIRT", contact=other, storefront=shop))["TS-M"].unit_price \
        == Decimal("20.00")


@pytest.mark.parametrize("quantity", ["0.5", "1", "9", "10", "10.5", "25", "60"])
@pytest.mark.parametrize("who", ["anonymous", "gold"])
def test_the_ladder_answers_what_the_resolver_answers_at_every_quantity(shop, gold, price, quantity, who):
    # given
    price("TS-M", "12.00", sale_type="customer_group", sale_code="GOLD", min_quantity="10")
    price("TS-M", "17.00", min_quantity="25")
    price("TSHIRT", "30.00")
    price("TSHIRT", "21.00", min_quantity="0.5")
    contact = gold if who == "gold" else None
    skus = ["TS-S", "TS-M", "TS-L", "NOPE"]
    # when
    ladders = resolve_price_ladders(skus, contact=contact, market=shop.market, currency="EUR")
    resolved = resolve_prices(skus, contact=contact, quantity=Decimal(quantity), market=shop.market,
                              currency="EUR")
    # then
    for sku in skus:
        row = ladders[sku].price_at(Decimal(quantity))
        assert (row.pk if row else None) == (resolved[sku].price.pk if resolved[sku].price else None), sku
        assert ladders[sku].variant_id == resolved[sku].variant_id


@pytest.mark.parametrize("quantity", ["0.5", "1", "10", "25"])
def test_a_contact_s_ladder_also_answers_what_the_resolver_answers_an_anonymous_visitor(
        shop, gold, price, quantity):
    # given
    price("TS-M", "12.00", sale_type="customer_group", sale_code="GOLD", min_quantity="10")
    price("TS-M", "17.00", min_quantity="25")
    price("TS-M", "5.00", sale_type="customer", sale_code=str(gold.pk))
    price("TSHIRT", "21.00", min_quantity="0.5")
    skus = ["TS-S", "TS-M", "TS-L", "NOPE"]
    # when
    ladders = resolve_price_ladders(skus, contact=gold, market=shop.market, currency="EUR",
                                    anonymous_at=Decimal(quantity))
    anonymous = resolve_prices(skus, contact=None, quantity=Decimal(quantity), market=shop.market,
                               currency="EUR")
    own = resolve_price_ladders(skus, contact=gold, market=shop.market, currency="EUR")
    # then: the anonymous visitor's row, and the contact's own ladder unchanged by asking
    for sku in skus:
        expected = anonymous[sku].price
        assert (ladders[sku].anonymous.pk if ladders[sku].anonymous else None) == \
            (expected.pk if expected else None), sku
        assert ladders[sku].steps == own[sku].steps, sku
    assert ladders["TS-M"].anonymous_unit_price == anonymous["TS-M"].unit_price


def test_the_list_shows_products_on_sale_with_their_variants_on_sale(shop, catalog):
    # given
    Variant.objects.filter(sku="TS-S").update(is_active=False)
    hidden = Product.objects.create(key="OLD", name="Old stock", is_active=False)
    Variant.objects.create(sku="OLD-1", product=hidden)
    Product.objects.create(key="EMPTY", name="Nothing to buy")
    # when
    page = listing.list_products(contact=None, storefront=shop)
    # then
    assert [p.key for p in page.items] == ["TSHIRT"]
    assert [v.sku for v in page.items[0].variants] == ["TS-L", "TS-M"]
    with pytest.raises(NotFound):
        listing.get_product("OLD", contact=None, storefront=shop)


@pytest.mark.parametrize(("q", "found"), [
    ("shirt", ["TSHIRT"]), ("T-SH", ["TSHIRT"]), ("tshirt", ["TSHIRT"]), ("ts-m", ["TSHIRT"]),
    ("mug", ["MUG"]), ("zzz", []), ("  ", ["MUG", "TSHIRT"]),
])
def test_search_finds_a_name_a_key_or_a_sku(shop, q, found):
    # given
    mug = Product.objects.create(key="MUG", name="Enamel mug")
    Variant.objects.create(sku="MUG-WHITE", product=mug)
    # when
    page = listing.list_products(contact=None, storefront=shop, q=q)
    # then
    assert sorted(p.key for p in page.items) == found


def test_pages_follow_each_other_by_cursor(shop):
    # given: five more products, named A..E
    for letter in "ABCDE":
        product = Product.objects.create(key=f"P-{letter}", name=f"{letter} thing")
        Variant.objects.create(sku=f"P-{letter}-1", product=product)
    # when
    first = listing.list_products(contact=None, storefront=shop, limit=4)
    second = listing.list_products(contact=None, storefront=shop, limit=4, cursor=first.next_cursor)
    # then
    assert [p.key for p in first.items] == ["P-A", "P-B", "P-C", "P-D"]
    assert [p.key for p in second.items] == ["P-E", "TSHIRT"]
    assert second.next_cursor is None


# Products, each (active, [its variants' active flags]).
active_flags = st.lists(st.tuples(st.booleans(), st.lists(st.booleans(), max_size=3)), max_size=6)
EXAMPLES = hsettings(max_examples=40, deadline=None, derandomize=True,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@EXAMPLES
@given(products=active_flags)
def test_the_listing_lists_what_the_orm_finds_on_sale(shop, products):
    """The listing's hand-written statement and `on_sale()` say "on sale"
    with the one rule (catalog.models.ON_SALE)."""
    with transaction.atomic():
        # given
        for n, (active, variants) in enumerate(products):
            product = Product.objects.create(key=f"H-{n}", name=f"H {n}", is_active=active)
            for m, variant_active in enumerate(variants):
                Variant.objects.create(sku=f"H-{n}-{m}", product=product, is_active=variant_active)
        # when
        page = listing.list_products(contact=None, storefront=shop, limit=500)
        # then
        on_sale = Variant.objects.on_sale()
        expected = {p.key: list(on_sale.filter(product=p).order_by("sku").values_list("sku", flat=True))
                    for p in Product.objects.on_sale().order_by("name", "id")}
        assert [(p.key, [v.sku for v in p.variants]) for p in page.items] == [
            (key, skus) for key, skus in expected.items() if skus]
        transaction.set_rollback(True)


@EXAMPLES
@given(names=st.lists(st.tuples(st.sampled_from(["A", "B", "T-shirt"]), st.booleans()), max_size=8),
       limit=st.integers(min_value=1, max_value=3))
def test_paging_the_listing_walks_what_keyset_pages_over_the_orm(shop, names, limit):
    """The listing's keyset condition (PRODUCT_ORDER.sql_after) and the
    ORM's (Keyset.page) give the same pages, products of one name included."""
    with transaction.atomic():
        # given: products by name, on sale or not
        for n, (name, active) in enumerate(names):
            product = Product.objects.create(key=f"H-{n}", name=name, is_active=active)
            Variant.objects.create(sku=f"H-{n}-1", product=product)
        on_sale = Product.objects.on_sale().filter(
            Exists(Variant.objects.on_sale().filter(product=OuterRef("pk"))))
        # when
        listed, orm, cursor, orm_cursor = [], [], None, None
        while True:
            page = listing.list_products(contact=None, storefront=shop, limit=limit, cursor=cursor)
            orm_page = listing.PRODUCT_ORDER.page(on_sale, limit=limit, cursor=orm_cursor)
            listed.append([p.id for p in page.items])
            orm.append([p.id for p in orm_page.items])
            cursor, orm_cursor = page.next_cursor, orm_page.next_cursor
            if cursor is None or orm_cursor is None:
                break
        # then
        assert listed == orm and cursor == orm_cursor
        transaction.set_rollback(True)


def test_a_bad_cursor_is_invalid(shop):
    with pytest.raises(Invalid) as caught:
        listing.list_products(contact=None, storefront=shop, cursor="not-ours")
    assert caught.value.errors[0].field == "cursor"


# --- the cost of a page -------------------------------------------------------------


@pytest.fixture
def many_products(catalog, price):
    def make(count: int) -> None:
        for n in range(count):
            product = Product.objects.create(key=f"P-{n:03d}", name=f"Product {n:03d}")
            for size in ("S", "M", "L"):
                Variant.objects.create(sku=f"P-{n:03d}-{size}", product=product)
                catalog[f"P-{n:03d}-{size}"] = Variant.objects.get(sku=f"P-{n:03d}-{size}")
                price(f"P-{n:03d}-{size}", "10.00")
                price(f"P-{n:03d}-{size}", "9.00", min_quantity="10")
                price(f"P-{n:03d}-{size}", "8.00", sale_type="customer_group", sale_code="GOLD")
    return make


# The products with their variants, the visitor's ladders (for a contact
# with the list prices, in the same query): never a query per product or per
# variant, and no second ladder for a contact.
@pytest.mark.parametrize(("who", "queries"), [("anonymous", 2), ("gold", 2)])
@pytest.mark.parametrize("count", [2, 24])
def test_a_page_costs_a_fixed_number_of_queries(shop, gold, many_products, django_assert_num_queries,
                                                who, queries, count):
    # given
    many_products(count)
    contact = gold if who == "gold" else None
    # when
    with django_assert_num_queries(queries):
        page = listing.list_products(contact=contact, storefront=shop, limit=24, q="Product")
    # then
    assert len(page.items) == count
    assert all(len(p.variants) == 3 for p in page.items)
    expected = Decimal("8.00") if contact else Decimal("10.00")
    assert {v.unit_price for p in page.items for v in p.variants} == {expected}


# --- the market and currency ---------------------------------------------------------


def test_the_market_is_the_one_asked_for_in_its_default_currency(catalog):
    chosen = listing.storefront_market("US")
    assert (chosen.market.key, chosen.currency) == ("US", "USD")
    assert listing.storefront_market(str(catalog["US"].pk)).market == catalog["US"]


def test_without_a_choice_the_market_is_the_setting_s_else_the_first_active(catalog, settings):
    settings.STOREFRONT_MARKET = "US"
    assert listing.storefront_market().market.key == "US"
    settings.STOREFRONT_MARKET = ""
    assert listing.storefront_market().market.key == "EU"
    Market.objects.filter(key="EU").update(is_active=False)
    assert listing.storefront_market().market.key == "US"


def test_a_currency_the_market_does_not_sell_in_is_refused(catalog):
    with pytest.raises(Invalid) as caught:
        listing.storefront_market("EU", "usd")
    assert caught.value.errors[0].field == "currency"
    catalog["EU"].currencies = ["EUR", "GBP"]
    catalog["EU"].save()
    assert listing.storefront_market("EU", "gbp").currency == "GBP"


@pytest.mark.parametrize("market", ["NOPE", "00000000-0000-0000-0000-000000000000", "US"])
def test_an_unknown_or_inactive_market_is_refused(catalog, market):
    Market.objects.filter(key="US").update(is_active=False)
    with pytest.raises(Invalid) as caught:
        listing.storefront_market(market)
    assert caught.value.errors[0].field == "market"


def test_a_setting_naming_no_open_market_is_refused_rather_than_guessed(catalog, settings):
    settings.STOREFRONT_MARKET = "MARS"
    with pytest.raises(Invalid, match="STOREFRONT_MARKET"):
        listing.storefront_market()


def test_a_shop_without_markets_says_so(db):
    with pytest.raises(NotFound):
        listing.storefront_market()


def test_the_choices_are_each_open_market_in_each_of_its_currencies(catalog):
    catalog["EU"].currencies = ["EUR", "GBP"]
    catalog["EU"].save()
    assert [(s.market.key, s.currency) for s in listing.storefront_choices()] == [
        ("EU", "EUR"), ("EU", "GBP"), ("US", "USD")]


# --- who is looking ----------------------------------------------------------------------


def test_a_shopper_sees_its_contacts_prices_and_everyone_else_the_anonymous_ones(gold):
    shopper = make_account("gold@example.com", contact=gold)
    staff = make_account("staff@example.com")
    gone = make_account("gone@example.com", contact=None)
    gone.is_active = False
    assert listing.shopper_contact(shopper) == gold
    assert listing.shopper_contact(staff) is None
    assert listing.shopper_contact(gone) is None
    assert listing.shopper_contact(AnonymousUser()) is None
    assert listing.shopper_contact(None) is None
