"""The demo price grid shows different prices to different contacts."""

from decimal import Decimal

import pytest

from clientbase.catalog.models import Market
from clientbase.customers.demo import load_demo
from clientbase.customers.models import Contact
from clientbase.pricing.demo import load_catalog_demo
from clientbase.pricing.models import PriceRow
from clientbase.pricing.services import resolve_price


@pytest.fixture
def demo(db):
    load_demo()
    return load_catalog_demo()


def _price(sku: str, contact_key: str | None, market: str = "EU", quantity: int = 1) -> Decimal:
    contact = Contact.objects.get(key=contact_key) if contact_key else None
    return resolve_price(sku, contact=contact, market=Market.objects.get(key=market),
                         quantity=Decimal(quantity)).unit_price


def test_gold_pays_less_than_silver_less_than_bronze_less_than_everyone(demo):
    # C-0013 is Gold (EU Management), C-0005 Silver (EU HQ), C-0029 Bronze (direct)
    anonymous, bronze, silver, gold = (_price("HOODIE-M", key) for key in (None, "C-0029", "C-0005", "C-0013"))
    assert gold < silver < bronze < anonymous


def test_the_demo_has_a_quantity_break_and_a_customer_specific_price(demo):
    assert _price("HOODIE-M", None, quantity=10) < _price("HOODIE-M", None)
    assert _price("TSHIRT-M", "C-0021") < _price("TSHIRT-M", "C-0013")
    assert _price("TSHIRT-M", "C-0021", market="US") < _price("TSHIRT-M", None, market="US")


def test_loading_the_demo_catalog_twice_changes_nothing(demo):
    rows = PriceRow.objects.count()
    again = load_catalog_demo()
    assert again.created == 0 and PriceRow.objects.count() == rows
    assert demo.products == 20 and demo.markets == 2
