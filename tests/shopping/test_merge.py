"""At log-in, the anonymous cart joins the account's saved cart by policy."""

import pytest
from django.db import connection
from hypothesis import given, strategies as st

from clientbase.core.errors import Invalid
from clientbase.shopping.models import Cart, CartLine, MergePolicy
from clientbase.shopping.services import carts
from clientbase.shopping.services.carts import merged_quantities
from tests.conftest import in_parallel

MAX = 999

# --- the policies as pure functions (every invariant, for any two carts) -----

items = st.sampled_from(["A", "B", "C", "D", "E"])
cart_contents = st.dictionaries(items, st.integers(min_value=1, max_value=MAX), max_size=5)


@given(cart_contents, cart_contents)
def test_add_keeps_every_item_and_adds_quantities_up_to_the_maximum(saved, anonymous):
    merged = merged_quantities(saved, anonymous, MergePolicy.ADD, MAX)
    assert set(merged) == set(saved) | set(anonymous)
    for item, quantity in merged.items():
        assert quantity == min(saved.get(item, 0) + anonymous.get(item, 0), MAX)


@given(cart_contents, cart_contents)
def test_larger_keeps_every_item_at_the_larger_quantity(saved, anonymous):
    merged = merged_quantities(saved, anonymous, MergePolicy.LARGER, MAX)
    assert set(merged) == set(saved) | set(anonymous)
    for item, quantity in merged.items():
        assert quantity == max(saved.get(item, 0), anonymous.get(item, 0))


@given(cart_contents, cart_contents)
def test_replace_takes_the_anonymous_cart_unless_it_is_empty(saved, anonymous):
    merged = merged_quantities(saved, anonymous, MergePolicy.REPLACE, MAX)
    assert merged == (anonymous or saved)


@given(cart_contents, cart_contents, st.sampled_from(list(MergePolicy)), st.integers(min_value=1, max_value=MAX))
def test_no_policy_loses_an_anonymous_item_or_exceeds_the_maximum(saved, anonymous, policy, maximum):
    merged = merged_quantities(saved, anonymous, policy, maximum)
    assert set(anonymous) <= set(merged)
    assert all(1 <= quantity <= maximum for quantity in merged.values())
    # merging an empty anonymous cart changes nothing but the cap
    assert merged_quantities(saved, {}, policy, maximum) == {i: min(q, maximum) for i, q in saved.items()}


# --- the service on carts -------------------------------------------------------

def quantities(cart) -> dict[str, int]:
    return dict(CartLine.objects.filter(cart=cart).values_list("variant__sku", "quantity"))


@pytest.fixture
def carts_to_merge(catalog, eu_prices, shopper):
    """An account whose saved cart holds TS-S ×2, TS-M ×3; an anonymous cart with TS-M ×4, TS-L ×1."""
    account = shopper("ann@example.com")
    saved = carts.cart_for_account(account, market=catalog["EU"])
    carts.add_line(saved, "TS-S", 2)
    carts.add_line(saved, "TS-M", 3)
    anonymous = carts.new_cart(market=catalog["EU"])
    carts.add_line(anonymous, "TS-M", 4)
    carts.add_line(anonymous, "TS-L", 1)
    return account, saved, anonymous


@pytest.mark.parametrize("policy, expected", [
    ("add", {"TS-S": 2, "TS-M": 7, "TS-L": 1}),
    ("larger", {"TS-S": 2, "TS-M": 4, "TS-L": 1}),
    ("replace", {"TS-M": 4, "TS-L": 1}),
])
def test_each_policy_merges_into_the_saved_cart_and_the_anonymous_cart_goes(carts_to_merge, policy, expected):
    account, saved, anonymous = carts_to_merge

    merged = carts.merge_carts(anonymous, account, policy)

    assert merged == saved
    assert quantities(saved) == expected
    assert not Cart.objects.filter(pk=anonymous.pk).exists()


def test_the_policy_defaults_to_the_setting(carts_to_merge, settings):
    account, saved, anonymous = carts_to_merge
    settings.CART_MERGE_POLICY = "larger"
    carts.merge_carts(anonymous, account)
    assert quantities(saved)["TS-M"] == 4


def test_the_default_setting_adds(carts_to_merge):
    account, saved, anonymous = carts_to_merge
    carts.merge_carts(anonymous, account)
    assert quantities(saved)["TS-M"] == 7


def test_merged_quantities_are_capped_at_the_maximum(carts_to_merge, settings):
    account, saved, anonymous = carts_to_merge
    settings.CART_MAX_QUANTITY = 5
    carts.merge_carts(anonymous, account, "add")
    assert quantities(saved)["TS-M"] == 5


def test_an_account_without_a_saved_cart_takes_the_anonymous_cart_over(catalog, eu_prices, shopper):
    account = shopper("new@example.com")
    anonymous = carts.new_cart(market=catalog["EU"])
    carts.add_line(anonymous, "TS-M", 2)

    merged = carts.merge_carts(anonymous, account)

    assert merged.pk == anonymous.pk and merged.account == account
    assert carts.cart_for_account(account, market=catalog["US"]).pk == anonymous.pk
    assert carts.find_cart(anonymous.pk) is None  # no longer anonymous: the cookie no longer reaches it


def test_the_merged_cart_is_priced_for_the_account(catalog, eu_prices, shopper):
    # given an anonymous visitor pays 20.00 and logs in as a Gold shopper
    account = shopper("gold@example.com", groups=["GOLD"])
    anonymous = carts.new_cart(market=catalog["EU"])
    carts.add_line(anonymous, "TS-M", 2)
    assert carts.priced(anonymous).total == 40
    # when
    merged = carts.merge_carts(anonymous, account)
    # then
    assert carts.priced(merged).total == 30


def test_the_saved_cart_moves_to_the_anonymous_carts_market(carts_to_merge, catalog):
    account, saved, anonymous = carts_to_merge
    saved = carts.switch_market(saved, market=catalog["US"])
    carts.merge_carts(anonymous, account)
    saved.refresh_from_db()
    assert (saved.market, saved.currency) == (catalog["EU"], "EUR")


def test_without_an_anonymous_cart_the_saved_cart_is_unchanged(carts_to_merge):
    account, saved, _ = carts_to_merge
    assert carts.merge_carts(None, account) == saved
    assert quantities(saved) == {"TS-S": 2, "TS-M": 3}


def test_an_unknown_policy_is_refused(carts_to_merge):
    account, saved, anonymous = carts_to_merge
    with pytest.raises(Invalid):
        carts.merge_carts(anonymous, account, "biggest")
    assert Cart.objects.filter(pk=anonymous.pk).exists()


def test_merging_a_cart_already_merged_changes_nothing(carts_to_merge):
    account, saved, anonymous = carts_to_merge
    carts.merge_carts(anonymous, account)
    assert carts.merge_carts(anonymous, account) == saved  # a second log-in with the old cookie
    assert quantities(saved) == {"TS-S": 2, "TS-M": 7, "TS-L": 1}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers")
@pytest.mark.django_db(transaction=True)
def test_two_log_ins_merging_one_anonymous_cart_count_it_once(catalog, eu_prices, shopper):
    account = shopper("ann@example.com")
    saved = carts.cart_for_account(account, market=catalog["EU"])
    carts.add_line(saved, "TS-M", 1)
    anonymous = carts.new_cart(market=catalog["EU"])
    carts.add_line(anonymous, "TS-M", 2)

    in_parallel(lambda: carts.merge_carts(Cart.objects.get(pk=anonymous.pk), account),
                lambda: carts.merge_carts(Cart.objects.get(pk=anonymous.pk), account))

    assert quantities(saved) == {"TS-M": 3}
    assert Cart.objects.count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers")
@pytest.mark.django_db(transaction=True)
def test_two_log_ins_with_two_anonymous_carts_end_in_one_saved_cart(catalog, eu_prices, shopper):
    # given an account without a saved cart, logging in from two browsers at once
    account = shopper("ann@example.com")
    first, second = carts.new_cart(market=catalog["EU"]), carts.new_cart(market=catalog["EU"])
    carts.add_line(first, "TS-M", 2)
    carts.add_line(second, "TS-M", 3)

    in_parallel(lambda: carts.merge_carts(Cart.objects.get(pk=first.pk), account),
                lambda: carts.merge_carts(Cart.objects.get(pk=second.pk), account))

    saved = Cart.objects.get(account=account)
    assert quantities(saved) == {"TS-M": 5}
    assert Cart.objects.count() == 1
