"""Personalization in a real browser (issue 12): a first visit shows the
first-visit banner and a later visit the returning-visitor banner; a Gold
shopper sees the Gold campaign in the cart and an anonymous visitor does
not. A screenshot of the banner and of the cart goes to the test's tmp_path."""

import re
import time

import pytest
from django.core.cache import cache
from playwright.sync_api import Page, expect

from clientbase.customers.models import Contact, Role
from clientbase.marketing import visits
from clientbase.marketing.models import Campaign, ContentSlot, Segment, VisitorGroup
from clientbase.marketing.services import create_campaign, create_content_slot, create_segment, create_visitor_group
from tests.browser.conftest import PASSWORD
from tests.browser.test_shopper_flows import add_to_cart
from tests.browser.test_storefront import add_prices
from tests.conftest import make_account
from tests.pricing import conftest as pricing_fixtures

catalog = pricing_fixtures.catalog

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def marketing(catalog, world):
    cache.clear()
    add_prices(catalog)
    first = create_visitor_group(VisitorGroup(key="FIRST", name="First visit", criteria=[{"type": "first_visit"}]),
                                 actor=None)
    back = create_visitor_group(VisitorGroup(key="BACK", name="Returning", criteria=[{"type": "returning"}]),
                                actor=None)
    create_content_slot(ContentSlot(key="home-banner", name="Home banner", default_html="<p>Hello</p>"),
                        variants=[(first, "<h2>Welcome, first-time visitor</h2>"),
                                  (back, "<h2>Welcome back</h2>")], actor=None)
    gold = create_segment(Segment(key="GOLD-SEG", name="Gold"), customer_groups=[world["GOLD"]], actor=None)
    create_campaign(Campaign(key="GOLD10", name="Gold members: 10% off"), segments=[gold], actor=None,
                    promotions=[{"kind": "percent_off", "target": "product", "target_key": "TSHIRT",
                                 "value": "10"}])
    yield
    cache.clear()


def test_a_first_visit_and_a_second_visit_see_different_banners(live_server, marketing, page: Page, tmp_path):
    page.goto(live_server.url + "/")
    banner = page.locator('[data-slot="home-banner"]')
    expect(banner).to_contain_text("Welcome, first-time visitor")
    page.screenshot(path=str(tmp_path / "storefront-first-visit.png"), full_page=True)

    # The browser comes back two hours later: the visit cookie it holds says
    # when it was last seen (signed by the server; the test signs its own).
    cookie = next(c for c in page.context.cookies() if c["name"] == visits.VISITOR_COOKIE)
    earlier = visits.read(cookie["value"])
    two_hours_ago = visits.Visits(earlier.visits, earlier.pages, int(time.time()) - 7200)
    page.context.add_cookies([{**cookie, "value": visits.written(two_hours_ago, "/")}])

    page.goto(live_server.url + "/")
    expect(banner).to_contain_text("Welcome back")
    expect(banner).not_to_contain_text("first-time")


def test_a_gold_shopper_sees_the_campaign_price_in_the_cart_and_a_visitor_does_not(live_server, marketing, world,
                                                                                   page: Page, browser, tmp_path):
    gold = Contact.objects.create(first_name="Greta", last_name="Goldberg", email="gold@example.com")
    gold.customer_groups.add(world["GOLD"])
    make_account("gold@example.com", Role.REGISTERED, contact=gold)

    page.goto(f"{live_server.url}/account/login/?next=/products/TSHIRT/")
    page.fill("#id_username", "gold@example.com")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/products/TSHIRT/$"))
    add_to_cart(page, "TS-M", 2)
    page.goto(f"{live_server.url}/cart/")
    line = page.locator("#cart-lines tr[data-sku=TS-M]")
    expect(line.locator("[data-role=unit-price]")).to_have_text("41.65 EUR")
    expect(line.locator("[data-role=promotion]")).to_have_text("Gold members: 10% off (10% off)")
    expect(page.locator("#cart-total")).to_have_text("74.97 EUR")  # 2 × 41.65 − 10 %
    page.screenshot(path=str(tmp_path / "storefront-cart-campaign.png"), full_page=True)

    visitor = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    visitor.goto(f"{live_server.url}/products/TSHIRT/")
    add_to_cart(visitor, "TS-M", 2)
    visitor.goto(f"{live_server.url}/cart/")
    expect(visitor.locator("#cart-lines [data-role=promotion]")).to_have_count(0)
    expect(visitor.locator("#cart-total")).to_have_text("98.00 EUR")
    visitor.context.close()
