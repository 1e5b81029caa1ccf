"""The storefront in a real browser: an anonymous visitor browses, searches
and reads list prices; a Gold shopper (logged in on the session) sees "your
price"; the market selector switches the currency. Screenshots are saved in
the test's tmp_path, like the other browser tests'."""

import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Page, expect

from clientbase.catalog.models import Product, Variant
from clientbase.customers.models import Contact, Role
from clientbase.pricing.models import PriceRow
from tests.conftest import make_account
from tests.pricing import conftest as pricing_fixtures

# The pricing tests' catalog fixtures, shared.
catalog = pricing_fixtures.catalog

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def add_prices(catalog) -> None:
    def row(sku: str, unit_price: str, market: str = "EU", **fields) -> None:
        PriceRow.objects.create(variant=catalog[sku], market=catalog[market],
                                currency=catalog[market].default_currency,
                                unit_price=Decimal(unit_price), **fields)

    for sku in ("TS-S", "TS-M"):
        row(sku, "49.00")
        row(sku, "45.08", min_quantity=Decimal(10))
        row(sku, "41.65", sale_type="customer_group", sale_code="GOLD")
    row("TS-M", "53.90", market="US")
    mug = Product.objects.create(key="MUG", name="Enamel mug", description="Keeps coffee hot.")
    Variant.objects.create(sku="MUG-WHITE", product=mug, name="Enamel mug white", options={"colour": "white"})
    catalog["MUG-WHITE"] = Variant.objects.get(sku="MUG-WHITE")
    row("MUG-WHITE", "12.00")


def log_in_as_shopper(page: Page, base_url: str, account) -> None:
    """Put a session of `account` into the browser (a forced log-in keeps
    this test lean; test_shopper_flows drives the storefront's log-in form)."""
    client = Client()
    client.force_login(account)
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME,
                               "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                               "url": base_url}])


def test_an_anonymous_visitor_browses_searches_and_sees_list_prices(live_server, catalog, page: Page, tmp_path):
    # given
    base = live_server.url
    add_prices(catalog)

    # when: the visitor opens the shop
    page.goto(f"{base}/")

    # then: the shop's home, not the back office, with the products
    expect(page).to_have_url(f"{base}/")
    expect(page.get_by_role("heading", name="Featured products")).to_be_visible()
    card = page.locator("article.card[data-product=TSHIRT]")
    expect(card).to_contain_text("from 49.00 EUR")
    page.screenshot(path=str(tmp_path / "storefront-home.png"), full_page=True)

    # when: a search that finds nothing, then one by SKU
    page.fill("#search-q", "zebra")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#no-results")).to_contain_text("No products match “zebra”")
    page.screenshot(path=str(tmp_path / "storefront-no-results.png"), full_page=True)
    page.fill("#search-q", "mug-white")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#results article.card")).to_have_count(1)

    # when: the T-shirt's page
    page.goto(f"{base}/products/TSHIRT/")

    # then: the list price, the quantity break, and the size without a price
    medium = page.locator("#variants tr[data-sku=TS-M]")
    expect(medium.locator("[data-role=price]")).to_have_text("49.00 EUR")
    expect(medium.locator("[data-role=break]")).to_have_text("from 10: 45.08")
    expect(medium).to_contain_text("M")
    expect(page.locator("[data-role=your-price]")).to_have_count(0)
    expect(page.locator("#variants tr[data-sku=TS-L] [data-role=unavailable]")).to_have_text("Not available")
    page.screenshot(path=str(tmp_path / "storefront-product-anonymous.png"), full_page=True)

    # when: the visitor chooses the US market
    page.select_option("#storefront-choice", "US:USD")
    page.get_by_role("button", name="Change").click()

    # then: the same page, in dollars
    expect(page).to_have_url(re.compile(r"/products/TSHIRT/$"))
    expect(medium.locator("[data-role=price]")).to_have_text("53.90 USD")


def test_a_gold_shopper_sees_your_price_next_to_the_list_price(live_server, world, catalog, page: Page, tmp_path):
    # given: a shopper in EU Management, which is Gold
    base = live_server.url
    add_prices(catalog)
    world["EU-MGMT"].customer_groups.add(world["GOLD"])
    greta = Contact.objects.create(first_name="Greta", last_name="Goldberg", email="gold@example.com")
    greta.organizations.add(world["EU-MGMT"])
    shopper = make_account("gold@example.com", Role.REGISTERED, contact=greta)
    log_in_as_shopper(page, base, shopper)

    # when
    page.goto(f"{base}/products/TSHIRT/")

    # then: the Gold price as "your price", the list price beside it, no break below it
    expect(page.locator("#who")).to_have_text("Signed in as gold@example.com")
    medium = page.locator("#variants tr[data-sku=TS-M]")
    expect(medium.locator("[data-role=your-price]")).to_contain_text("41.65 EUR")
    expect(medium.locator("[data-role=list-price]")).to_contain_text("49.00 EUR")
    expect(medium.locator("[data-role=break]")).to_have_count(0)
    # the mug has no Gold price: the shopper pays the list price, shown once
    page.screenshot(path=str(tmp_path / "storefront-product-gold.png"), full_page=True)
    page.goto(f"{base}/products/MUG/")
    expect(page.locator("#variants tr[data-sku=MUG-WHITE] [data-role=price]")).to_have_text("12.00 EUR")

    # and on a phone-sized screen the page still reads
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/products/TSHIRT/")
    expect(medium.locator("[data-role=your-price]")).to_be_visible()
    page.screenshot(path=str(tmp_path / "storefront-product-gold-phone.png"), full_page=True)
