"""Checkout: a cart becomes an order at the resolver's prices of the moment,
with a number and a price snapshot per line; a guest leaves no contact and
no account behind. Order history by account, guest orders included once the
e-mail is verified."""

import re
from decimal import Decimal

import pytest
from django.db import connection

from clientbase.catalog.models import Variant
from clientbase.core.errors import Conflict, Invalid
from clientbase.customers.models import Account, Contact
from clientbase.customers.services.accounts import mark_email_verified
from clientbase.pricing.models import PriceRow
from clientbase.shopping.models import Cart, CartLine, Order
from clientbase.shopping.services import carts
from clientbase.shopping.services.orders import checkout, orders_for
from tests.conftest import in_parallel

ADDRESS = {"first_name": "Ana", "last_name": "Silva", "line1": "Hauptstr. 1", "line2": "",
           "city": "Berlin", "postcode": "10115", "country": "DE"}


def guest_order(cart, email="guest@example.com", **overrides):
    return checkout(cart, email=email, shipping=ADDRESS, billing={**ADDRESS, **overrides})


def test_a_guest_checkout_places_an_order_and_creates_no_contact_and_no_account(anonymous_cart, eu_prices):
    # given
    carts.add_line(anonymous_cart, "TS-M", 2)
    carts.add_line(anonymous_cart, "TS-L", 10)
    before = (Contact.objects.count(), Account.objects.count())

    # when
    order = guest_order(anonymous_cart, email=" Guest@Example.COM ", city="Hamburg")

    # then
    order = Order.objects.get(pk=order.pk)
    assert re.fullmatch(r"CB-\d{6}", order.number)
    assert (order.email, order.account, order.contact) == ("guest@example.com", None, None)
    assert (order.market.key, order.currency, order.total) == ("EU", "EUR", Decimal("220.00"))
    assert order.shipping_address == ADDRESS and order.billing_address["city"] == "Hamburg"
    assert [(line.sku, line.quantity, line.unit_price, line.line_total) for line in order.lines.all()] == [
        ("TS-M", 2, Decimal("20.00"), Decimal("40.00")),
        ("TS-L", 10, Decimal("18.00"), Decimal("180.00")),
    ]
    assert (Contact.objects.count(), Account.objects.count()) == before
    assert not CartLine.objects.filter(cart=anonymous_cart).exists()


def test_each_line_keeps_the_winning_price_row_and_why(catalog, eu_prices, shopper):
    account = shopper("gold@example.com", groups=["GOLD"])
    PriceRow.objects.create(variant=catalog["TS-M"], market=catalog["EU"], currency="EUR",
                            sale_type="customer_group", sale_code="GOLD", min_quantity=Decimal("10"),
                            unit_price=Decimal("12.00"))
    cart = carts.cart_for_account(account, market=catalog["EU"])
    carts.add_line(cart, "TS-M", 10)

    order = checkout(cart, shipping=ADDRESS, billing=ADDRESS)

    line = order.lines.get()
    winner = PriceRow.objects.get(sale_code="GOLD", variant=catalog["TS-M"], min_quantity=10)
    assert (line.price_row_id, line.sale_type, line.sale_code, line.min_quantity) == (
        winner.pk, "customer_group", "GOLD", Decimal("10"))
    assert (line.unit_price, line.price_why) == (Decimal("12.00"), "Gold price from 10")
    assert (order.account, order.contact, order.email) == (account, account.contact, "gold@example.com")


def test_checkout_prices_again_and_never_keeps_an_earlier_price(anonymous_cart, eu_prices):
    carts.add_line(anonymous_cart, "TS-M", 1)
    assert carts.priced(anonymous_cart).total == Decimal("20.00")
    PriceRow.objects.filter(variant__sku="TS-M", sale_type="all_customers", min_quantity=0).update(
        unit_price=Decimal("22.50"))

    order = guest_order(anonymous_cart)

    assert order.total == Decimal("22.50")


def test_an_empty_cart_is_refused(anonymous_cart):
    with pytest.raises(Conflict) as caught:
        guest_order(anonymous_cart)
    assert caught.value.code == "empty_cart"
    assert not Order.objects.exists()


@pytest.mark.parametrize("change, reason", [
    (lambda: Variant.objects.filter(sku="TS-L").update(is_active=False), "TS-L: no longer on sale"),
    (lambda: PriceRow.objects.filter(variant__sku="TS-L").delete(), "TS-L: no price for you in EU/EUR"),
])
def test_a_line_that_can_no_longer_be_bought_is_refused_by_name_and_nothing_is_written(
        anonymous_cart, eu_prices, change, reason):
    carts.add_line(anonymous_cart, "TS-M", 1)
    carts.add_line(anonymous_cart, "TS-L", 1)
    change()

    with pytest.raises(Conflict) as caught:
        guest_order(anonymous_cart)

    assert caught.value.code == "unavailable_lines"
    assert reason in caught.value.detail
    assert not Order.objects.exists()
    assert CartLine.objects.filter(cart=anonymous_cart).count() == 2


@pytest.mark.parametrize("billing, field", [
    ({**ADDRESS, "country": "XX"}, "billing_address.country"),
    ({**ADDRESS, "line1": "  "}, "billing_address.line1"),
    ({**ADDRESS, "last_name": "Sil\u202eva"}, "billing_address.last_name"),
    ({**ADDRESS, "city": "x" * 101}, "billing_address.city"),
    ({**ADDRESS, "colour": "red"}, "billing_address.colour"),
    (None, "billing_address"),
])
def test_a_bad_address_is_invalid_on_its_field(anonymous_cart, eu_prices, billing, field):
    carts.add_line(anonymous_cart, "TS-M", 1)
    with pytest.raises(Invalid) as caught:
        checkout(anonymous_cart, email="guest@example.com", shipping=ADDRESS, billing=billing)
    assert [e.field for e in caught.value.errors] == [field]
    assert not Order.objects.exists()


def test_an_order_address_follows_a_contact_address_s_rules(anonymous_cart, eu_prices):
    # one rule for every address the shop keeps (customers' clean_address): a
    # country code in upper case, as the API refuses "nl" on a contact
    carts.add_line(anonymous_cart, "TS-M", 1)
    with pytest.raises(Invalid) as caught:
        guest_order(anonymous_cart, country="nl")
    assert {e.code for e in caught.value.errors} == {"invalid_country"}


@pytest.mark.parametrize("email", [None, "", "not-an-email"])
def test_a_guest_needs_a_valid_email(anonymous_cart, eu_prices, email):
    carts.add_line(anonymous_cart, "TS-M", 1)
    with pytest.raises(Invalid) as caught:
        checkout(anonymous_cart, email=email, shipping=ADDRESS, billing=ADDRESS)
    assert [e.field for e in caught.value.errors] == ["email"]


def test_order_numbers_are_unique_and_increase(catalog, eu_prices):
    numbers = []
    for _ in range(3):
        cart = carts.new_cart(market=catalog["EU"])
        carts.add_line(cart, "TS-M", 1)
        numbers.append(guest_order(cart).number)
    assert len(set(numbers)) == 3 and numbers == sorted(numbers)


# --- order history --------------------------------------------------------------

def test_an_account_sees_its_orders_and_its_guest_orders_once_its_email_is_verified(catalog, eu_prices, shopper):
    # given Ann ordered as a guest, then registered and ordered again; Bob ordered too
    ann = shopper("ann@example.com")
    guest = carts.new_cart(market=catalog["EU"])
    carts.add_line(guest, "TS-M", 1)
    as_guest = guest_order(guest, email="ANN@example.com")
    cart = carts.cart_for_account(ann, market=catalog["EU"])
    carts.add_line(cart, "TS-L", 1)
    as_ann = checkout(cart, shipping=ADDRESS, billing=ADDRESS)
    bob = carts.new_cart(market=catalog["EU"])
    carts.add_line(bob, "TS-S", 1)
    guest_order(bob, email="bob@example.com")

    # then before verification Ann sees only her account's order
    assert list(orders_for(ann)) == [as_ann]
    # and after it, her guest order too
    ann = mark_email_verified(ann, email="ann@example.com")
    assert set(orders_for(ann)) == {as_ann, as_guest}
    assert orders_for(ann).filter(number=as_guest.number).exists()


def test_another_accounts_order_is_not_in_my_history(catalog, eu_prices, shopper):
    ann, bob = shopper("ann@example.com"), shopper("bob@example.com")
    cart = carts.cart_for_account(bob, market=catalog["EU"])
    carts.add_line(cart, "TS-M", 1)
    order = checkout(cart, email="ann@example.com", shipping=ADDRESS, billing=ADDRESS)
    mark_email_verified(ann, email="ann@example.com")
    assert not orders_for(Account.objects.get(pk=ann.pk)).filter(number=order.number).exists()


def test_an_anonymous_visitor_has_no_orders(anonymous_cart, eu_prices):
    carts.add_line(anonymous_cart, "TS-M", 1)
    guest_order(anonymous_cart)
    assert list(orders_for(None)) == []


# --- concurrency (PostgreSQL) -------------------------------------------------------

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers")


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_checkouts_get_distinct_numbers(catalog, eu_prices):
    cart_ids = []
    for _ in range(4):
        cart = carts.new_cart(market=catalog["EU"])
        carts.add_line(cart, "TS-M", 1)
        cart_ids.append(cart.pk)

    def place(cart_id):
        return lambda: guest_order(Cart.objects.get(pk=cart_id)).number

    numbers = in_parallel(*(place(cart_id) for cart_id in cart_ids))

    assert len(set(numbers)) == 4 and all(numbers)
    assert Order.objects.count() == 4


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_checkout_racing_an_add_either_orders_the_line_or_leaves_it_in_the_cart(catalog, eu_prices):
    cart = carts.new_cart(market=catalog["EU"])
    carts.add_line(cart, "TS-M", 1)

    in_parallel(lambda: guest_order(Cart.objects.get(pk=cart.pk)),
                lambda: carts.add_line(Cart.objects.get(pk=cart.pk), "TS-L", 1))

    ordered = set(Order.objects.get().lines.values_list("sku", flat=True))
    left = set(CartLine.objects.filter(cart=cart).values_list("variant__sku", flat=True))
    assert ordered | left == {"TS-M", "TS-L"} and not ordered & left
