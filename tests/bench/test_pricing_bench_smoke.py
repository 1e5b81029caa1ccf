"""The pricing benchmark at a tiny scale: on its generated grid (groups on
ancestor organizations, product-level rows, expired and future rows, customer
prices) the resolver picks, SKU by SKU, the same row as the benchmark's
independently hand-written SQL. No timing is asserted."""

import random
from decimal import Decimal

import pytest
from django.utils import timezone

from bench import pricing
from clientbase.catalog.models import Market, Variant
from clientbase.customers.models import Contact
from clientbase.pricing.models import PriceRow
from clientbase.pricing.services import explain_prices, resolve_prices

TINY = pricing.PricingScale("test", groups=40, products=20, variants_per_product=4, rows_per_variant=8)


@pytest.fixture
def generated(db):
    pricing.generate(TINY, fast_indexes=False)
    return Contact.objects.get(key=pricing.BENCH_CONTACT)


def test_the_generated_grid_has_the_promised_shape(generated):
    assert Variant.objects.count() == TINY.variants
    assert PriceRow.objects.filter(product__isnull=False).exists()  # product-level rows
    assert PriceRow.objects.filter(valid_until__isnull=False).exists()  # expired rows
    assert generated.organizations.get().depth == pricing.CHAIN_DEPTH - 1


@pytest.mark.parametrize("who", ["contact", "anonymous"])
@pytest.mark.parametrize("quantity", [1, 5, 10])
def test_the_resolver_and_the_hand_written_query_choose_the_same_rows(generated, who, quantity):
    # given every SKU, and one that does not exist
    contact = generated if who == "contact" else None
    market = Market.objects.get(key="EU")
    skus = sorted(Variant.objects.values_list("sku", flat=True)) + ["NO-SUCH-SKU"]
    at = timezone.now()
    # when
    resolved = resolve_prices(skus, contact=contact, quantity=Decimal(quantity), market=market,
                              currency="EUR", at=at)
    explained = explain_prices(skus, contact=contact, quantity=Decimal(quantity), market=market,
                               currency="EUR", at=at)
    by_hand = pricing.run_sql(pricing.hand_written_sql(), skus=skus, contact=contact, market=market,
                              currency="EUR", quantity=Decimal(quantity), at=at)
    # then
    ours = sorted((sku, r.price.pk) for sku, r in resolved.items() if r.price)
    assert ours == by_hand
    assert ours == sorted((sku, r.price.pk) for sku, r in explained.items() if r.price)
    assert len(ours) > len(skus) // 2  # most SKUs have a price: the comparison means something


def test_the_benchmark_cases_agree_before_timing(generated):
    cases = pricing.build_cases(TINY, random.Random(1))
    for case in cases:
        assert case.orm() == case.sql(), case.name
