"""Carts at the service level: finding them, adding and changing lines,
pricing them for their shopper, expiry."""

from datetime import timedelta
from decimal import Decimal
from uuid import uuid4

import pytest
from django.db import connection
from django.utils import timezone

from clientbase.catalog.models import Product, Variant
from clientbase.core.errors import Conflict, Invalid, NotFound
from clientbase.customers.models import Account
from clientbase.pricing.models import PriceRow
from clientbase.shopping.models import Cart, CartLine
from clientbase.shopping.services import carts
from tests.conftest import in_parallel


def quantities(cart) -> dict[str, int]:
    return dict(CartLine.objects.filter(cart=cart).values_list("variant__sku", "quantity"))


def age(cart, days: int) -> None:
    Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now() - timedelta(days=days))


# --- finding carts ------------------------------------------------------------

def test_a_new_cart_uses_the_markets_default_currency(catalog):
    cart = carts.new_cart(market=catalog["EU"])
    assert (cart.market, cart.currency, cart.account) == (catalog["EU"], "EUR", None)


def test_a_cart_in_a_currency_the_market_does_not_sell_in_is_refused(catalog):
    with pytest.raises(Invalid) as caught:
        carts.new_cart(market=catalog["EU"], currency="USD")
    assert [e.field for e in caught.value.errors] == ["currency"]


def test_a_cart_in_a_closed_market_is_refused(catalog):
    catalog["EU"].is_active = False
    catalog["EU"].save()
    with pytest.raises(Invalid) as caught:
        carts.new_cart(market=catalog["EU"])
    assert caught.value.code == "market_closed"


def test_find_cart_finds_an_anonymous_cart_by_its_id_as_text(anonymous_cart):
    assert carts.find_cart(str(anonymous_cart.pk)) == anonymous_cart


@pytest.mark.parametrize("cart_id", [None, "", "not-a-uuid", uuid4()])
def test_find_cart_answers_none_for_no_cart(db, cart_id):
    assert carts.find_cart(cart_id) is None


def test_find_cart_never_reaches_an_accounts_cart(catalog, shopper):
    saved = carts.cart_for_account(shopper("ann@example.com"), market=catalog["EU"])
    assert carts.find_cart(saved.pk) is None


def test_an_anonymous_cart_expires_thirty_days_after_its_last_change(anonymous_cart, settings):
    assert settings.CART_TTL_DAYS == 30
    age(anonymous_cart, 29)
    assert carts.find_cart(anonymous_cart.pk) == anonymous_cart
    age(anonymous_cart, 31)
    assert carts.find_cart(anonymous_cart.pk) is None


def test_a_change_moves_the_expiry_on(anonymous_cart, eu_prices):
    age(anonymous_cart, 29)
    carts.add_line(anonymous_cart, "TS-M", 1)
    anonymous_cart.refresh_from_db()
    assert anonymous_cart.expires_at > timezone.now() + timedelta(days=29)


def test_the_purge_deletes_expired_anonymous_carts_only(catalog, eu_prices, shopper):
    expired, live = carts.new_cart(market=catalog["EU"]), carts.new_cart(market=catalog["EU"])
    saved = carts.cart_for_account(shopper("ann@example.com"), market=catalog["EU"])
    carts.add_line(expired, "TS-M", 2)
    for cart in (expired, saved):
        age(cart, 40)
    age(live, 10)

    assert carts.purge_expired_carts() == 1

    assert set(Cart.objects.values_list("pk", flat=True)) == {live.pk, saved.pk}
    assert not CartLine.objects.filter(cart_id=expired.pk).exists()


def test_an_account_has_one_saved_cart(catalog, shopper):
    account = shopper("ann@example.com")
    first = carts.cart_for_account(account, market=catalog["EU"])
    again = carts.cart_for_account(account, market=catalog["US"])
    assert again == first and again.market == catalog["EU"]
    assert Cart.objects.filter(account=account).count() == 1


def test_switching_market_keeps_the_lines_and_prices_them_there(anonymous_cart, eu_prices, price, catalog):
    carts.add_line(anonymous_cart, "TS-M", 2)
    price("TS-M", "25.00", market="US")
    cart = carts.switch_market(anonymous_cart, market=catalog["US"])
    quote = carts.priced(cart)
    assert (quote.currency, quote.total) == ("USD", Decimal("50.00"))


# --- lines ------------------------------------------------------------------

def test_adding_a_sku_twice_adds_to_its_line(anonymous_cart, eu_prices):
    carts.add_line(anonymous_cart, "TS-M", 2)
    line = carts.add_line(anonymous_cart, "TS-M", 3)
    carts.add_line(anonymous_cart, "TS-L")
    assert line.quantity == 5
    assert quantities(anonymous_cart) == {"TS-M": 5, "TS-L": 1}


@pytest.mark.parametrize("quantity", [0, -1, 1000, 1.5, "2", True, None])
def test_a_quantity_outside_one_to_the_maximum_is_refused(anonymous_cart, eu_prices, quantity):
    with pytest.raises(Invalid) as caught:
        carts.add_line(anonymous_cart, "TS-M", quantity)
    assert [e.field for e in caught.value.errors] == ["quantity"]
    assert quantities(anonymous_cart) == {}


def test_adding_beyond_the_maximum_is_refused_and_changes_nothing(anonymous_cart, eu_prices, settings):
    settings.CART_MAX_QUANTITY = 5
    carts.add_line(anonymous_cart, "TS-M", 4)
    with pytest.raises(Invalid) as caught:
        carts.add_line(anonymous_cart, "TS-M", 2)
    assert "At most 5" in caught.value.detail
    assert quantities(anonymous_cart) == {"TS-M": 4}


def test_an_unknown_sku_is_refused_with_a_message(anonymous_cart, eu_prices):
    with pytest.raises(Conflict) as caught:
        carts.add_line(anonymous_cart, "NOPE-1", 1)
    assert caught.value.code == "unknown_sku"
    assert "NOPE-1" in caught.value.detail


@pytest.mark.parametrize("inactive", ["variant", "product"])
def test_an_inactive_sku_is_refused_with_a_message(anonymous_cart, eu_prices, catalog, inactive):
    target = catalog["TS-M"] if inactive == "variant" else catalog["TSHIRT"]
    target.is_active = False
    target.save()
    with pytest.raises(Conflict) as caught:
        carts.add_line(anonymous_cart, "TS-M", 1)
    assert caught.value.code == "not_on_sale"
    assert "not on sale" in caught.value.detail
    assert quantities(anonymous_cart) == {}


def test_a_sku_without_a_price_is_refused_with_a_message(anonymous_cart, price):
    price("TS-M", "20.00", market="US")  # priced elsewhere only
    with pytest.raises(Conflict) as caught:
        carts.add_line(anonymous_cart, "TS-M", 1)
    assert caught.value.code == "no_price"
    assert "no price for you in EU/EUR" in caught.value.detail


def test_adding_to_a_cart_whose_market_closed_is_refused(anonymous_cart, eu_prices, catalog):
    catalog["EU"].is_active = False
    catalog["EU"].save()
    with pytest.raises(Conflict) as caught:
        carts.add_line(carts.find_cart(anonymous_cart.pk), "TS-M", 1)
    assert caught.value.code == "market_closed"


def test_a_group_only_price_is_for_the_group_only(catalog, price, shopper):
    # given TS-M has a Gold price and nothing else
    price("TS-M", "15.00", sale_type="customer_group", sale_code="GOLD")
    anonymous = carts.new_cart(market=catalog["EU"])
    gold = carts.cart_for_account(shopper("gold@example.com", groups=["GOLD"]), market=catalog["EU"])
    # then an anonymous visitor cannot buy it, a Gold shopper can
    with pytest.raises(Conflict):
        carts.add_line(anonymous, "TS-M", 1)
    assert carts.add_line(gold, "TS-M", 1).quantity == 1


def test_set_quantity_changes_the_line_and_zero_removes_it(anonymous_cart, eu_prices):
    carts.add_line(anonymous_cart, "TS-M", 2)
    carts.add_line(anonymous_cart, "TS-L", 1)
    assert carts.set_quantity(anonymous_cart, "TS-M", 7).quantity == 7
    assert carts.set_quantity(anonymous_cart, "TS-L", 0) is None
    assert quantities(anonymous_cart) == {"TS-M": 7}


def test_set_quantity_on_a_sku_not_in_the_cart_is_not_found(anonymous_cart, eu_prices):
    with pytest.raises(NotFound):
        carts.set_quantity(anonymous_cart, "TS-M", 2)


def test_remove_line_takes_the_sku_out(anonymous_cart, eu_prices):
    carts.add_line(anonymous_cart, "TS-M", 2)
    carts.remove_line(anonymous_cart, "TS-M")
    assert quantities(anonymous_cart) == {}
    with pytest.raises(NotFound):
        carts.remove_line(anonymous_cart, "TS-M")


def test_a_change_to_a_purged_cart_is_not_found(anonymous_cart, eu_prices):
    Cart.objects.filter(pk=anonymous_cart.pk).delete()
    with pytest.raises(NotFound):
        carts.add_line(anonymous_cart, "TS-M", 1)


# --- prices -----------------------------------------------------------------

def test_each_line_is_priced_at_its_own_quantity(anonymous_cart, eu_prices):
    carts.add_line(anonymous_cart, "TS-M", 2)
    carts.add_line(anonymous_cart, "TS-L", 10)

    quote = carts.priced(anonymous_cart)

    assert [(line.sku, line.quantity, line.unit_price, line.line_total) for line in quote.lines] == [
        ("TS-M", 2, Decimal("20.00"), Decimal("40.00")),
        ("TS-L", 10, Decimal("18.00"), Decimal("180.00")),
    ]
    assert (quote.total, quote.currency, quote.orderable) == (Decimal("220.00"), "EUR", True)
    assert quote.lines[1].why == "Price for all customers from 10"


def test_an_accounts_cart_shows_its_contacts_prices(catalog, eu_prices, shopper):
    cart = carts.cart_for_account(shopper("gold@example.com", groups=["GOLD"]), market=catalog["EU"])
    carts.add_line(cart, "TS-M", 2)
    line = carts.priced(cart).lines[0]
    assert (line.unit_price, line.line_total, line.why) == (Decimal("15.00"), Decimal("30.00"), "Gold price")


def test_a_line_no_longer_on_sale_shows_its_problem_and_is_left_out_of_the_total(
        anonymous_cart, eu_prices):
    carts.add_line(anonymous_cart, "TS-M", 1)
    carts.add_line(anonymous_cart, "TS-L", 1)
    Variant.objects.filter(sku="TS-L").update(is_active=False)

    quote = carts.priced(anonymous_cart)

    assert quote.total == Decimal("20.00")
    assert quote.problems == ["TS-L: no longer on sale"]
    assert not quote.orderable


def test_pricing_a_cart_costs_the_same_queries_whatever_its_size(catalog, shopper,
                                                                 django_assert_num_queries,
                                                                 steady_unshared_caches):
    # given twelve mugs at 5.00, 4.00 for Gold from 3, and two Gold carts: one line, twelve lines
    mugs = Product.objects.create(key="MUG", name="Mug")
    for n in range(12):
        mug = Variant.objects.create(sku=f"MUG-{n}", product=mugs)
        PriceRow.objects.create(variant=mug, market=catalog["EU"], currency="EUR", unit_price=Decimal("5.00"))
        PriceRow.objects.create(variant=mug, market=catalog["EU"], currency="EUR", unit_price=Decimal("4.00"),
                                sale_type="customer_group", sale_code="GOLD", min_quantity=Decimal("3"))
    small = carts.cart_for_account(shopper("small@example.com", groups=["GOLD"]), market=catalog["EU"])
    large = carts.cart_for_account(shopper("large@example.com", groups=["GOLD"]), market=catalog["EU"])
    carts.add_line(small, "MUG-5", 3)
    for n in range(12):
        carts.add_line(large, f"MUG-{n}", n + 1)
    # as a request finds them: the logged-in account, then its cart
    small, large = (carts.cart_for_account(Account.objects.get(pk=cart.account_id), market=catalog["EU"])
                    for cart in (small, large))

    # when / then: the lines, the account's contact, the resolver, the names of the winning groups
    with django_assert_num_queries(4):
        quote = carts.priced(large)
    with django_assert_num_queries(4):
        carts.priced(small)
    assert [line.unit_price for line in quote.lines] == [Decimal("5.00")] * 2 + [Decimal("4.00")] * 10


# --- concurrency (PostgreSQL: SQLite runs one writer at a time) ---------------

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers")


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_adds_to_one_cart_lose_no_line_and_no_quantity(catalog, eu_prices):
    cart = carts.new_cart(market=catalog["EU"])
    adds = [("TS-M", 1), ("TS-M", 2), ("TS-L", 3), ("TS-S", 4), ("TS-M", 5), ("TS-L", 6)]

    def add(sku, quantity):
        return lambda: carts.add_line(Cart.objects.get(pk=cart.pk), sku, quantity)

    in_parallel(*(add(sku, quantity) for sku, quantity in adds))

    assert quantities(cart) == {"TS-M": 8, "TS-L": 9, "TS-S": 4}
    assert Cart.objects.get(pk=cart.pk).version == 1 + len(adds)
