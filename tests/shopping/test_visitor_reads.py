"""Reads the storefront's frame and confirmation page ask: an account's
saved cart without making one, a cart's item count, and the one order a
visitor may see."""

from clientbase.shopping.models import Cart
from clientbase.shopping.services import carts
from clientbase.shopping.services.orders import checkout, order_for_visitor

ADDRESS = {"first_name": "Ada", "last_name": "L", "line1": "Hauptstr. 1", "city": "Berlin", "country": "DE"}


def test_saved_cart_reads_without_making_one(catalog, shopper):
    account = shopper("sam@example.com")
    assert carts.saved_cart(account) is None
    assert not Cart.objects.exists()
    made = carts.cart_for_account(account, market=catalog["EU"])
    assert carts.saved_cart(account) == made


def test_item_count_sums_the_quantities(anonymous_cart, eu_prices):
    assert carts.item_count(None) == 0 and carts.item_count(anonymous_cart) == 0
    carts.add_line(anonymous_cart, "TS-M", 3)
    carts.add_line(anonymous_cart, "TS-S", 2)
    assert carts.item_count(anonymous_cart) == 5


def test_a_guest_order_is_seen_only_by_the_session_that_placed_it(anonymous_cart, eu_prices, shopper):
    carts.add_line(anonymous_cart, "TS-M", 1)
    order = checkout(anonymous_cart, shipping=ADDRESS, billing=ADDRESS, email="guest@example.com")
    assert order_for_visitor(order.number, account=None, placed=[order.number]) == order
    assert order_for_visitor(order.number, account=None, placed=[]) is None
    stranger = shopper("stranger@example.com")
    assert order_for_visitor(order.number, account=stranger) is None


def test_a_shoppers_order_is_its_own(catalog, eu_prices, shopper):
    sam, other = shopper("sam@example.com"), shopper("other@example.com")
    cart = carts.cart_for_account(sam, market=catalog["EU"])
    carts.add_line(cart, "TS-M", 1)
    order = checkout(cart, shipping=ADDRESS, billing=ADDRESS)
    assert order_for_visitor(order.number, account=sam) == order
    assert order_for_visitor(order.number, account=other) is None
    assert order_for_visitor("CB-999999", account=sam) is None
