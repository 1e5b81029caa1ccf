"""The storefront's pages through Django's test client: who sees which
price, search and its empty state, the product page, the market selector."""

import re

import pytest
from django.test import Client

from clientbase.catalog.models import Market, Product, Variant
from clientbase.customers.models import Role
from tests.conftest import make_account
from tests.pricing import conftest as pricing_fixtures

# The pricing tests' catalog fixtures, shared.
catalog = pricing_fixtures.catalog
contact_in = pricing_fixtures.contact_in
price = pricing_fixtures.price


@pytest.fixture
def shop(shop_prices, price):
    price("TS-M", "22.00", market="US")
    return shop_prices


@pytest.fixture
def gold_client(contact_in):
    account = make_account("gold@example.com", Role.REGISTERED, contact=contact_in(groups=["GOLD"]))
    client = Client()
    client.force_login(account)
    return client


def test_home_shows_the_shop_instead_of_the_back_office(shop, client):
    response = client.get("/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "Featured products" in text and "T-shirt" in text and "from <strong>20.00 EUR</strong>" in text


def test_an_anonymous_visitor_sees_list_prices_and_breaks(shop, client):
    response = client.get("/products/TSHIRT/")
    text = response.content.decode()
    assert response.status_code == 200
    assert "Your price" not in text
    assert "20.00 EUR" in text and "from 10: 18.00" in text
    assert "Not available" in text  # TS-L has no price


def test_a_gold_shopper_sees_your_price_next_to_the_list_price(shop, gold_client):
    text = gold_client.get("/products/TSHIRT/").content.decode()
    assert "Your price</span> 15.00 EUR" in text
    assert "<s>20.00 EUR</s>" in text
    assert "Signed in as gold@example.com" in text


def test_search_finds_products_and_says_when_nothing_matches(shop, client):
    found = client.get("/products/", {"q": "ts-m"}).content.decode()
    nothing = client.get("/products/", {"q": "zebra"})
    assert 'data-product="TSHIRT"' in found
    assert nothing.status_code == 200
    assert "No products match “zebra”" in nothing.content.decode()


def test_a_search_with_a_nul_character_is_a_form_error_not_a_crash(shop, client):
    response = client.get("/products/", {"q": "a\x00b"})
    assert response.status_code == 400
    assert "Please check your search" in response.content.decode()


def test_results_come_a_page_at_a_time(shop, client):
    # given
    for n in range(30):
        product = Product.objects.create(key=f"MUG-{n:02d}", name=f"Mug {n:02d}")
        Variant.objects.create(sku=f"MUG-{n:02d}-W", product=product)
    # when
    first = client.get("/products/", {"q": "mug"})
    cursor = first.context["next_cursor"]
    second = client.get("/products/", {"q": "mug", "cursor": cursor})
    stale = client.get("/products/", {"q": "mug", "cursor": "not-ours"})
    # then
    assert len(first.context["products"]) == 24 and cursor
    assert [p.key for p in second.context["products"]] == [f"MUG-{n:02d}" for n in range(24, 30)]
    assert second.context["next_cursor"] is None
    assert stale.status_code == 200 and "no longer available" in stale.content.decode()


def test_an_unknown_product_is_a_404_page(shop, client):
    response = client.get("/products/NOPE/")
    assert response.status_code == 404
    assert "not in the shop" in response.content.decode()


def test_the_selector_keeps_the_market_and_currency_in_the_session(shop):
    # given: a browser that checks CSRF as a real one would
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/products/TSHIRT/")
    token = page.cookies["csrftoken"].value
    # when
    response = browser.post("/market/", {"storefront": "US:USD", "next": "/products/TSHIRT/",
                                         "csrfmiddlewaretoken": token})
    # then
    assert response.status_code == 302 and response["Location"] == "/products/TSHIRT/"
    text = browser.get("/products/TSHIRT/").content.decode()
    assert "22.00 USD" in text


def test_the_selector_refuses_a_post_without_csrf(shop):
    browser = Client(enforce_csrf_checks=True)
    assert browser.post("/market/", {"storefront": "US:USD"}).status_code == 403


@pytest.mark.parametrize("choice", ["MARS:EUR", "EU:USD", ""])
def test_a_bad_choice_changes_nothing(shop, client, choice):
    client.post("/market/", {"storefront": choice})
    assert client.get("/products/TSHIRT/").context["storefront"].market.key == "EU"


def test_the_selector_does_not_send_the_visitor_to_another_site(shop, client):
    response = client.post("/market/", {"storefront": "US:USD", "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_a_chosen_market_that_closes_is_forgotten(shop, client):
    client.post("/market/", {"storefront": "US:USD"})
    Market.objects.filter(key="US").update(is_active=False)
    response = client.get("/")
    assert response.status_code == 200 and response.context["storefront"].market.key == "EU"


def test_the_default_market_comes_from_the_setting(shop, client, settings):
    settings.STOREFRONT_MARKET = "US"
    assert client.get("/").context["storefront"].currency == "USD"


def test_a_shop_without_markets_says_it_is_not_open(db, client):
    response = client.get("/")
    assert response.status_code == 503
    assert "not open yet" in response.content.decode()


def test_the_pages_link_only_to_pages_that_exist(shop, client):
    text = client.get("/").content.decode() + client.get("/products/TSHIRT/").content.decode()
    links = set(re.findall(r'<a [^>]*href="(/[^"]*)"', text))
    assert {"/", "/products/", "/products/TSHIRT/"} <= links
    for href in links:
        assert client.get(href).status_code == 200, href
