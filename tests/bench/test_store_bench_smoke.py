"""The storefront listing benchmark at a tiny scale: on its generated catalog
the listing service and the benchmark's independently hand-written query give
the same pages, page after page, for an anonymous visitor and for the Gold
shopper; the API answers the same over a real HTTP server, and the load
generator measures it. No timing is asserted."""

from urllib.parse import urlsplit

import pytest
from django.db.models import Q
from django.utils import timezone
from rich.console import Console

from bench import store
from clientbase.catalog.models import Product, Variant
from clientbase.customers.models import Contact
from clientbase.pricing import listing
from clientbase.pricing.models import PriceRow
from clientbase.pricing.resolver import effective_group_keys

TINY = store.StoreScale("test", products=60, variants_per_product=3)


@pytest.fixture
def token(transactional_db):
    return store.generate(TINY, fast_indexes=False)


def test_the_generated_catalog_has_the_promised_shape(token):
    gold = Contact.objects.get(key=store.GOLD_CONTACT)
    assert Variant.objects.count() == TINY.variants
    assert Product.objects.filter(is_active=False).exists()
    assert Variant.objects.filter(is_active=False, product__is_active=True).exists()
    assert Variant.objects.filter(prices__isnull=True, product__prices__isnull=True).exists()  # unpriced
    assert PriceRow.objects.filter(product__isnull=False).exists()  # product-level rows
    assert effective_group_keys(gold) == {"GOLD", "CUSTOMERS"}
    assert gold.account.api_tokens.get().hint == token[:10]


@pytest.mark.parametrize("who", ["anonymous", "Gold"])
@pytest.mark.parametrize("q", [None, store.TERM])
def test_the_service_and_the_hand_written_query_give_the_same_pages(token, who, q):
    # given
    contact = Contact.objects.get(key=store.GOLD_CONTACT) if who == "Gold" else None
    storefront = listing.storefront_market()
    at = timezone.now()
    sql = {after: store.hand_written_sql(search=q is not None, after=after) for after in (False, True)}
    # when: every page, both ways
    pages, cursor, after = [], None, None
    while True:
        ours = store.service_answer(listing.list_products(contact=contact, storefront=storefront, q=q,
                                                          limit=store.PAGE, cursor=cursor, at=at))
        by_hand = store.run_sql(sql[after is not None], contact=contact, market=storefront.market,
                                currency=storefront.currency, at=at, q=q, after=after)
        # then
        assert ours == by_hand
        pages.append(ours)
        if not ours.more:
            break
        cursor = listing.list_products(contact=contact, storefront=storefront, q=q, limit=store.PAGE,
                                       cursor=cursor, at=at).next_cursor
        after = ours.last
    variants = [v for page in pages for _, product in page.products for v in product]
    assert len({pid for page in pages for pid, _ in page.products}) == products_on_sale(q).count()
    if q is None:  # the comparison covers what a page can hold
        assert any(unit is None for _, unit, _, _ in variants)  # unavailable
        assert any(breaks for _, _, _, breaks in variants)
        assert (who == "Gold") == any(unit < listed for _, unit, listed, _ in variants if unit is not None)


def products_on_sale(q: str | None):
    """What the listing pages through, by the ORM: active products with an
    active variant, matching `q` by name, key or an active variant's SKU."""
    products = Product.objects.on_sale().filter(variants__is_active=True)
    if q:
        products = products.filter(Q(name__icontains=q) | Q(key__icontains=q)
                                   | Q(variants__is_active=True, variants__sku__icontains=q))
    return products.distinct()


def test_the_benchmark_cases_agree_before_timing(token):
    for case in store.build_cases():
        assert case.orm() == case.sql(), case.name


def test_the_api_answers_as_the_query_and_the_load_generator_measures_it(token, live_server):
    # given: a real HTTP server on the generated catalog
    port = urlsplit(live_server.url).port
    cases = store.http_cases(port, token)
    # when / then: every case answers as the hand-written query says
    for case in cases:
        store.check_answer(port, case)
    gold = next(c for c in cases if "Gold" in c.name)
    # Long enough for answers to land in the window on a loaded machine
    # (a Gold page took over 0.3 s there, and a 0.3 s window counted none).
    load = store.hammer(port, gold.path, name=gold.name, connections=2, seconds=2, warmup=0.1,
                        headers=gold.headers)
    assert load.requests > 0 and load.errors == 0
    console = Console(record=True, width=200)
    console.print(store.load_table([load], "smoke"))
    assert gold.name in console.export_text()
    assert gold.name in "\n".join(store.load_markdown([load]))
