"""Operations tests: a market with a priced variant, and a way to read the
JSON log lines a request writes."""

import io
import json
import logging
from decimal import Decimal

import pytest

from clientbase.catalog.models import Market, Product, Variant
from clientbase.core.logs import JsonFormatter
from clientbase.pricing.models import PriceRow


@pytest.fixture
def priced(db):
    """Market EU with variant TS-M at 20.00 for everyone."""
    eu = Market.objects.create(key="EU", name="Europe", countries=["DE"], currencies=["EUR"],
                               default_currency="EUR")
    shirt = Product.objects.create(key="TSHIRT", name="T-shirt")
    variant = Variant.objects.create(sku="TS-M", product=shirt, name="T-shirt M", options={"size": "M"})
    PriceRow.objects.create(variant=variant, market=eu, currency="EUR", sale_type="all_customers",
                            min_quantity=Decimal(0), unit_price=Decimal("20.00"))
    return eu


@pytest.fixture
def log_lines():
    """A function answering the JSON objects logged so far (all loggers, from
    INFO), formatted as the console handler formats them, while they are
    written (the request id is the one in force then)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
