"""The shopper's flows in a real browser: an anonymous visitor adds to the
cart and checks out as a guest; a visitor registers and keeps its cart; a
Gold shopper logs in, its saved cart and the anonymous one merge (adding
the quantities by default; keeping the larger, or replacing, by
CART_MERGE_POLICY), and the cart shows Gold prices. Screenshots are saved in
the test's tmp_path, like the other browser tests'."""

import re

import pytest
from playwright.sync_api import Page, expect

from clientbase.customers.models import Account, Contact, Role
from clientbase.shopping.models import Order
from clientbase.shopping.services import carts
from tests.browser.conftest import PASSWORD
from tests.browser.test_storefront import add_prices
from tests.conftest import make_account
from tests.pricing import conftest as pricing_fixtures

catalog = pricing_fixtures.catalog

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def add_to_cart(page: Page, sku: str, quantity: int) -> None:
    row = page.locator(f"#variants tr[data-sku={sku}]")
    row.locator("input[name=quantity]").fill(str(quantity))
    row.get_by_role("button", name="Add to cart").click()
    expect(page.locator("#messages")).to_contain_text("to your cart")


def test_an_anonymous_visitor_adds_to_the_cart_and_checks_out_as_a_guest(live_server, catalog, page: Page,
                                                                         tmp_path):
    # given
    base = live_server.url
    add_prices(catalog)

    # when: two T-shirts M from the product page
    page.goto(f"{base}/products/TSHIRT/")
    add_to_cart(page, "TS-M", 2)

    # then: the count in the header, and the cart priced by the resolver
    expect(page.locator("#cart-count")).to_have_text("2")
    page.screenshot(path=str(tmp_path / "storefront-product.png"), full_page=True)
    page.locator("#cart-link").click()
    line = page.locator("#cart-lines tr[data-sku=TS-M]")
    expect(line.locator("[data-role=unit-price]")).to_have_text("49.00 EUR")
    expect(line.locator("[data-role=line-total]")).to_have_text("98.00 EUR")
    page.screenshot(path=str(tmp_path / "storefront-cart.png"), full_page=True)

    # when: checkout as a guest
    page.locator("#to-checkout").click()
    page.fill("#id_email", "guest@example.com")
    page.fill("#id_shipping-first_name", "Ada")
    page.fill("#id_shipping-last_name", "Lovelace")
    page.fill("#id_shipping-line1", "Hauptstr. 1")
    page.fill("#id_shipping-postcode", "10115")
    page.fill("#id_shipping-city", "Berlin")
    page.select_option("#id_shipping-country", "DE")
    page.screenshot(path=str(tmp_path / "storefront-checkout.png"), full_page=True)
    page.locator("#place-order").click()

    # then: the confirmation with the order's number, lines and why
    expect(page.get_by_role("heading", name="Thank you for your order")).to_be_visible()
    order = Order.objects.get()
    expect(page.locator("#order-number")).to_have_text(order.number)
    expect(page.locator("#order-lines tr[data-sku=TS-M] [data-role=why]")).to_have_text("Price for all customers")
    expect(page.locator("#order-total")).to_have_text("98.00 EUR")
    expect(page.locator("#cart-count")).to_have_text("0")
    page.screenshot(path=str(tmp_path / "storefront-order-placed.png"), full_page=True)
    assert order.account is None and order.email == "guest@example.com"


def test_a_visitor_registers_and_keeps_its_cart(live_server, catalog, page: Page, tmp_path):
    # given: a visitor with a mug in its cart
    base = live_server.url
    add_prices(catalog)
    page.goto(f"{base}/products/MUG/")
    add_to_cart(page, "MUG-WHITE", 1)

    # when: it registers from the header
    page.get_by_role("link", name="Register").click()
    page.fill("#id_first_name", "Rita")
    page.fill("#id_last_name", "Register")
    page.fill("#id_email", "rita@example.com")
    page.fill("#id_password", "Rita-long-pass-987")
    page.get_by_role("button", name="Register").click()

    # then: logged in, on My account, with the cart kept
    expect(page).to_have_url(re.compile(r"/account/$"))
    expect(page.locator("#who")).to_have_text("Signed in as rita@example.com")
    expect(page.locator("#messages")).to_contain_text("We sent a link to rita@example.com")
    expect(page.locator("#cart-count")).to_have_text("1")
    page.screenshot(path=str(tmp_path / "storefront-registered.png"), full_page=True)
    page.locator("#cart-link").click()
    expect(page.locator("#cart-lines tr[data-sku=MUG-WHITE] [data-role=line-total]")).to_have_text("12.00 EUR")
    assert Account.objects.get(email="rita@example.com").cart.lines.count() == 1


def test_a_gold_shopper_logs_in_its_carts_merge_and_it_sees_gold_prices(live_server, world, catalog, page: Page,
                                                                        tmp_path):
    # given: a Gold shopper whose saved cart holds one T-shirt M
    base = live_server.url
    add_prices(catalog)
    world["EU-MGMT"].customer_groups.add(world["GOLD"])
    greta = Contact.objects.create(first_name="Greta", last_name="Goldberg", email="gold@example.com")
    greta.organizations.add(world["EU-MGMT"])
    shopper = make_account("gold@example.com", Role.REGISTERED, contact=greta)
    carts.add_line(carts.cart_for_account(shopper, market=catalog["EU"]), "TS-M", 1)

    # and: anonymously, two more, at the list price
    page.goto(f"{base}/products/TSHIRT/")
    add_to_cart(page, "TS-M", 2)
    page.locator("#cart-link").click()
    expect(page.locator("#cart-lines tr[data-sku=TS-M] [data-role=unit-price]")).to_have_text("49.00 EUR")

    # when: it logs in from the cart
    page.get_by_role("link", name="Log in").click()
    page.fill("#id_username", "gold@example.com")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Log in").click()

    # then: back on the cart, the quantities added (1 + 2), at the Gold price
    expect(page).to_have_url(re.compile(r"/cart/$"))
    line = page.locator("#cart-lines tr[data-sku=TS-M]")
    expect(line.locator("input[name=quantity]")).to_have_value("3")
    expect(line.locator("[data-role=unit-price]")).to_have_text("41.65 EUR")
    expect(line.locator("[data-role=why]")).to_have_text("Gold price")
    expect(page.locator("#cart-total")).to_have_text("124.95 EUR")
    page.screenshot(path=str(tmp_path / "storefront-cart-gold.png"), full_page=True)

    # and on a phone-sized screen the cart still reads
    page.set_viewport_size({"width": 390, "height": 844})
    expect(line.locator("[data-role=line-total]")).to_be_visible()
    page.screenshot(path=str(tmp_path / "storefront-cart-gold-phone.png"), full_page=True)
    page.goto(f"{base}/account/")
    page.screenshot(path=str(tmp_path / "storefront-account-phone.png"), full_page=True)

    # when: it logs out, the cart stays with the account
    page.get_by_role("button", name="Log out").click()
    expect(page.locator("#cart-count")).to_have_text("0")


# The other merge policies (CART_MERGE_POLICY): the saved cart holds one M and
# one S, the visitor adds two M anonymously, then logs in.
MERGED = {"larger": {"TS-M": "2", "TS-S": "1"}, "replace": {"TS-M": "2"}}


@pytest.mark.parametrize("policy", sorted(MERGED))
def test_logging_in_merges_the_carts_by_the_configured_policy(live_server, world, catalog, page: Page, settings,
                                                              policy):
    # given
    settings.CART_MERGE_POLICY = policy
    add_prices(catalog)
    gold = Contact.objects.create(first_name="Greta", last_name="Goldberg", email="gold@example.com")
    gold.customer_groups.add(world["GOLD"])
    shopper = make_account("gold@example.com", Role.REGISTERED, contact=gold)
    saved = carts.cart_for_account(shopper, market=catalog["EU"])
    carts.add_line(saved, "TS-M", 1)
    carts.add_line(saved, "TS-S", 1)
    page.goto(f"{live_server.url}/products/TSHIRT/")
    add_to_cart(page, "TS-M", 2)

    # when
    page.goto(f"{live_server.url}/account/login/?next=/cart/")
    page.fill("#id_username", "gold@example.com")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Log in").click()

    # then: the lines the policy makes, at the Gold price
    expect(page).to_have_url(re.compile(r"/cart/$"))
    rows = page.locator("#cart-lines tr[data-sku]")
    expect(rows).to_have_count(len(MERGED[policy]))
    for sku, quantity in MERGED[policy].items():
        line = page.locator(f"#cart-lines tr[data-sku={sku}]")
        expect(line.locator("input[name=quantity]")).to_have_value(quantity)
        expect(line.locator("[data-role=unit-price]")).to_have_text("41.65 EUR")
