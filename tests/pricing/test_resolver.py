"""The price resolver, rule by rule (DESIGN.md, section Pricing)."""

from datetime import datetime, timedelta, timezone as tz
from decimal import Decimal

import pytest

from clientbase.customers.models.visibility import ContactScope, OrganizationScope
from clientbase.pricing.services import explain_prices, market_and_contact, resolve_price, resolve_prices

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=tz.utc)
EVERYONE = ContactScope(everything=True)


def resolve(catalog, sku="TS-M", contact=None, quantity=1, market="EU", currency=None, at=NOW,
            explain=False):
    return resolve_price(sku, contact=contact, quantity=Decimal(quantity), market=catalog[market],
                         currency=currency, at=at, explain=explain)


def test_an_anonymous_visitor_gets_the_all_customers_price(catalog, price, world):
    price("TS-M", "20.00")
    price("TS-M", "15.00", sale_type="customer_group", sale_code="GOLD")
    assert resolve(catalog).unit_price == Decimal("20.00")


def test_the_lowest_applicable_price_wins(catalog, price, contact_in):
    price("TS-M", "20.00")
    price("TS-M", "15.00", sale_type="customer_group", sale_code="SILVER")
    price("TS-M", "12.00", sale_type="customer_group", sale_code="GOLD")
    gold = contact_in(groups=["GOLD"])
    silver = contact_in(groups=["SILVER"])
    assert resolve(catalog, contact=gold).unit_price == Decimal("12.00")
    assert resolve(catalog, contact=silver).unit_price == Decimal("15.00")


@pytest.mark.parametrize(
    ("how", "kwargs"),
    [
        ("directly", {"groups": ["GOLD"]}),
        ("through its organization", {"organizations": ["EU-MGMT"]}),
        ("through an ancestor organization", {"organizations": ["EU-MGMT"]}),
    ],
)
def test_a_gold_member_gets_the_gold_price_however_it_is_in_gold(catalog, price, world,
                                                                 contact_in, how, kwargs):
    # given
    if how == "through its organization":
        world["EU-MGMT"].customer_groups.set([world["GOLD"]])
    if how == "through an ancestor organization":
        world["ADMIN"].customer_groups.set([world["GOLD"]])
    price("TS-M", "20.00")
    price("TS-M", "12.00", sale_type="customer_group", sale_code="GOLD")
    # when
    result = resolve(catalog, contact=contact_in(**kwargs))
    # then
    assert result.unit_price == Decimal("12.00")
    assert result.price.sale_code == "GOLD"


def test_a_gold_member_also_gets_a_cheaper_price_of_the_parent_group(catalog, price, contact_in):
    price("TS-M", "12.00", sale_type="customer_group", sale_code="GOLD")
    price("TS-M", "11.00", sale_type="customer_group", sale_code="CUSTOMERS")
    result = resolve(catalog, contact=contact_in(groups=["GOLD"]))
    assert result.price.sale_code == "CUSTOMERS"


def test_a_customer_price_is_only_for_that_customer(catalog, price, contact_in):
    vip = contact_in(key="C-VIP")
    other = contact_in()
    price("TS-M", "20.00")
    price("TS-M", "9.00", sale_type="customer", sale_code="C-VIP")
    assert resolve(catalog, contact=vip).unit_price == Decimal("9.00")
    assert resolve(catalog, contact=other).unit_price == Decimal("20.00")


def test_a_customer_price_can_name_a_contact_without_key_by_its_id(catalog, price, contact_in):
    contact = contact_in()
    price("TS-M", "20.00")
    price("TS-M", "9.00", sale_type="customer", sale_code=str(contact.pk))
    assert resolve(catalog, contact=contact).unit_price == Decimal("9.00")


@pytest.mark.parametrize(
    ("rows", "winner"),
    [
        # equal prices: customer beats group beats all customers
        ([("all_customers", "", "0"), ("customer_group", "GOLD", "0"), ("customer", "C-1", "0")], "customer"),
        ([("all_customers", "", "0"), ("customer_group", "GOLD", "0")], "customer_group"),
        # equal price and sale type: the higher minimum quantity wins
        ([("all_customers", "", "0"), ("all_customers", "", "5")], "all_customers:5"),
    ],
)
def test_ties_go_to_the_more_specific_sale_type_then_the_higher_minimum_quantity(
        catalog, price, contact_in, rows, winner):
    contact = contact_in(key="C-1", groups=["GOLD"])
    for sale_type, code, min_q in rows:
        price("TS-M", "10.00", sale_type=sale_type, sale_code=code, min_quantity=min_q)
    result = resolve(catalog, contact=contact, quantity=10)
    got = result.price.sale_type if ":" not in winner else f"{result.price.sale_type}:{result.price.min_quantity.normalize()}"
    assert got == winner


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [(1, "20.00"), (9, "20.00"), (10, "18.00"), (49, "18.00"), (50, "15.00"), (1000, "15.00")],
)
def test_quantity_breaks_apply_from_their_minimum_quantity(catalog, price, quantity, expected):
    price("TS-M", "20.00")
    price("TS-M", "18.00", min_quantity="10")
    price("TS-M", "15.00", min_quantity="50")
    assert resolve(catalog, quantity=quantity).unit_price == Decimal(expected)


@pytest.mark.parametrize(
    ("valid_from", "valid_until", "applies"),
    [
        (None, None, True),
        (NOW, None, True),  # valid_from is inclusive
        (NOW + timedelta(seconds=1), None, False),
        (None, NOW, False),  # valid_until is exclusive
        (None, NOW + timedelta(seconds=1), True),
        (NOW - timedelta(days=1), NOW + timedelta(days=1), True),
    ],
)
def test_validity_window_edges(catalog, price, valid_from, valid_until, applies):
    price("TS-M", "20.00")
    price("TS-M", "5.00", valid_from=valid_from, valid_until=valid_until)
    assert (resolve(catalog).unit_price == Decimal("5.00")) is applies


def test_rows_of_another_market_or_currency_never_apply(catalog, price):
    price("TS-M", "20.00")
    price("TS-M", "1.00", market="US")
    assert resolve(catalog).unit_price == Decimal("20.00")
    assert resolve(catalog, market="US").unit_price == Decimal("1.00")


def test_product_rows_apply_to_variants_without_own_rows_in_that_market_and_currency(catalog, price):
    price("TSHIRT", "25.00")
    price("TS-M", "20.00")
    price("TS-L", "30.00", market="US")  # TS-L has rows, but not in EU/EUR
    assert resolve(catalog, sku="TS-S").unit_price == Decimal("25.00")
    assert resolve(catalog, sku="TS-L").unit_price == Decimal("25.00")
    # TS-M has its own EU row, so the (cheaper or not) product row stands aside
    assert resolve(catalog, sku="TS-M").unit_price == Decimal("20.00")


def test_a_variant_row_that_does_not_apply_still_hides_the_product_rows(catalog, price, contact_in):
    price("TSHIRT", "25.00")
    price("TS-M", "12.00", sale_type="customer_group", sale_code="GOLD")
    # an anonymous visitor gets no price for TS-M: its own rows exclude the product's
    assert resolve(catalog, sku="TS-M").price is None


def test_no_applicable_row_means_no_price_not_zero(catalog, price):
    price("TS-M", "20.00", min_quantity="10")
    result = resolve(catalog, quantity=1)
    assert result.price is None and result.unit_price is None


def test_prices_are_rounded_once_to_the_currency_minor_unit(catalog, price):
    from clientbase.catalog.models import Market

    jp = Market.objects.create(key="JP", name="Japan", countries=["JP"], currencies=["JPY"],
                               default_currency="JPY")
    catalog["JP"] = jp
    price("TS-M", "1200", market="JP")
    price("TS-M", "20.5", market="EU")
    assert str(resolve(catalog, market="JP").unit_price) == "1200"
    assert str(resolve(catalog).unit_price) == "20.50"


@pytest.mark.parametrize(
    ("row", "code", "reason"),
    [
        ({"market": "US"}, "market_mismatch", "market mismatch (row is for US)"),
        ({"min_quantity": "10"}, "quantity_below_minimum", "quantity below 10"),
        ({"valid_until": NOW - timedelta(days=1)}, "expired", "expired"),
        ({"valid_from": NOW + timedelta(days=1)}, "not_yet_valid", "not yet valid"),
        ({"sale_type": "customer_group", "sale_code": "GOLD"}, "not_in_group", "contact not in group GOLD"),
        ({"sale_type": "customer", "sale_code": "C-OTHER"}, "other_customer", "customer price for C-OTHER"),
    ],
)
def test_explain_says_why_each_row_did_not_apply(catalog, price, contact_in, row, code, reason):
    contact_in(key="C-OTHER")
    silver = contact_in(groups=["SILVER"])
    price("TS-M", "20.00")
    price("TS-M", "1.00", **row)
    result = resolve(catalog, contact=silver, explain=True)
    rejected = [c for c in result.candidates if not c.applied]
    assert len(rejected) == 1
    assert rejected[0].code == code and rejected[0].reason.startswith(reason)
    assert result.unit_price == Decimal("20.00")


def test_explain_names_product_rows_that_the_variant_hides(catalog, price):
    price("TSHIRT", "1.00")
    price("TS-M", "20.00")
    result = resolve(catalog, explain=True)
    [hidden] = [c for c in result.candidates if c.level == "product"]
    assert hidden.code == "variant_has_own_prices"


@pytest.fixture
def many_skus(catalog, price, world, contact_in):
    """A contact deep in the tree (Gold through an ancestor organization) and
    30 variants with a few rows each."""
    from clientbase.catalog.models import Product, Variant

    world["ADMIN"].customer_groups.set([world["GOLD"]])
    contact = contact_in(organizations=["EU-MGMT"], groups=["BRONZE"])
    product = Product.objects.create(key="MANY", name="Many")
    skus = []
    for n in range(30):
        variant = Variant.objects.create(sku=f"M-{n}", product=product)
        skus.append(variant.sku)
        catalog[variant.sku] = variant
        price(variant.sku, "20.00")
        price(variant.sku, "15.00", sale_type="customer_group", sale_code="GOLD")
    return contact, skus


def test_resolving_many_skus_takes_one_query(catalog, many_skus, django_assert_num_queries):
    contact, skus = many_skus
    with django_assert_num_queries(1):
        result = resolve_prices(skus + ["NOPE"], contact=contact, quantity=Decimal(1),
                                market=catalog["EU"], currency="EUR", at=NOW)
        # what the API shows of each winner is at hand, without more queries
        assert {(r.price.sku, r.price.market.key) for r in result.values() if r.price} == {
            (sku, "EU") for sku in skus}
    assert {r.unit_price for sku, r in result.items() if sku != "NOPE"} == {Decimal("15.00")}
    assert not result["NOPE"].known and result["M-0"].known


def test_explaining_many_skus_takes_three_queries(catalog, many_skus, django_assert_num_queries):
    contact, skus = many_skus
    with django_assert_num_queries(3):
        result = explain_prices(skus, contact=contact, quantity=Decimal(1), market=catalog["EU"],
                                currency="EUR", at=NOW)
    assert all(len(r.candidates) == 2 for r in result.values())


def test_a_product_level_winner_names_its_product_without_a_query(catalog, price,
                                                                   django_assert_num_queries):
    price("TSHIRT", "25.00")
    with django_assert_num_queries(1):
        result = resolve(catalog, sku="TS-S")
        assert result.price.product.key == "TSHIRT"


def test_changing_memberships_changes_prices_at_once(catalog, price, world, contact_in):
    price("TS-M", "20.00")
    price("TS-M", "12.00", sale_type="customer_group", sale_code="GOLD")
    contact = contact_in(organizations=["US-SALES"])
    assert resolve(catalog, contact=contact).unit_price == Decimal("20.00")
    world["US-HQ"].customer_groups.add(world["GOLD"])
    assert resolve(catalog, contact=contact).unit_price == Decimal("12.00")
    world["US-HQ"].customer_groups.clear()
    contact.organizations.add(world["EU-MGMT"])
    world["EU-HQ"].customer_groups.add(world["GOLD"])
    assert resolve(catalog, contact=contact).unit_price == Decimal("12.00")


def test_a_winner_is_a_saved_row_with_its_timestamps_deferred(catalog, price, django_assert_num_queries):
    row = price("TS-M", "20.00")
    winner = resolve(catalog).price
    assert winner == row and not winner._state.adding
    assert winner.get_deferred_fields() == {"created_at", "updated_at"}
    with django_assert_num_queries(1):
        assert winner.created_at == row.created_at


@pytest.mark.parametrize("ident", ["EU", " EU ", "id"])
def test_the_market_and_the_contact_to_price_for_take_one_query(catalog, contact_in, ident,
                                                                 django_assert_num_queries):
    contact = contact_in(key="C-ONE")
    ident = str(catalog["EU"].pk) if ident == "id" else ident
    with django_assert_num_queries(1):
        market, found = market_and_contact(ident, " C-ONE ", scope=EVERYONE)
        assert (market, market.currencies, found.pk, found.key) == (catalog["EU"], ["EUR"], contact.pk, "C-ONE")
    assert market_and_contact("EU", str(contact.pk), scope=EVERYONE)[1].pk == contact.pk


def test_the_contact_to_price_for_is_one_the_scope_sees(catalog, contact_in, world):
    contact = contact_in(key="C-ONE", organizations=["EU-MGMT"])
    seeing = OrganizationScope(single_ids=(world["EU-MGMT"].pk,))
    assert market_and_contact("EU", "C-ONE", scope=ContactScope(organizations=seeing))[1].pk == contact.pk
    elsewhere = OrganizationScope(subtree_paths=(world["US-HQ"].path,))
    assert market_and_contact("EU", "C-ONE", scope=ContactScope(organizations=elsewhere)) == (catalog["EU"], None)


@pytest.mark.parametrize("contacts", ["nobody matching", "a scope that sees no one", "none asked"])
def test_the_context_without_a_contact(catalog, contact_in, contacts):
    contact_in(key="C-ONE")
    ident, scope = {"nobody matching": ("C-NOBODY", EVERYONE), "a scope that sees no one": ("C-ONE", ContactScope()),
                    "none asked": (None, EVERYONE)}[contacts]
    assert market_and_contact("EU", ident, scope=scope) == (catalog["EU"], None)
    assert market_and_contact("NOWHERE", ident, scope=scope) == (None, None)
