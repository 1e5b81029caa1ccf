"""Price rows in files: the API's field names as columns — `variant` (a
SKU) or `product` (a key), `market`, `currency`, `sale_type`, `sale_code`,
`min_quantity`, `unit_price`, `valid_from`, `valid_until` — upserted by the
row's identity (everything but the unit price, see pricing.batches) through
the pricing domain's `upsert_price_rows`."""

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.db.models import QuerySet

from clientbase.pricing.batches import PriceRowInput, upsert_price_rows
from clientbase.pricing.models import PriceRow
from clientbase.transfer.flat import CellError, FlatEntity, cell
from clientbase.transfer.readers import Row

COLUMNS = ("variant", "product", "market", "currency", "sale_type", "sale_code", "min_quantity", "unit_price",
           "valid_from", "valid_until")
CHUNK = 2000


def _decimal(row: Row, column: str, default: Decimal | None) -> Decimal | None:
    """The cell as a decimal within its model field's digits ("" → `default`)."""
    text = cell(row, column)
    if not text:
        return default
    field = PriceRow._meta.get_field(column)
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise CellError(column, f"'{text}' is not a number (write it as 12.50).") from None
    sign, digits, exponent = value.as_tuple()
    if not value.is_finite() or -exponent > field.decimal_places or \
            len(digits) - max(-exponent, 0) > field.max_digits - field.decimal_places:
        raise CellError(column, f"'{text}' has more than {field.decimal_places} decimals or "
                                f"{field.max_digits - field.decimal_places} digits before the point.")
    return value


def _moment(row: Row, column: str) -> datetime | None:
    text = cell(row, column)
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise CellError(column, f"'{text}' is not a date and time (write it as 2026-01-31 or "
                                "2026-01-31T08:00:00+01:00; without a zone: UTC).") from None


class PricesEntity(FlatEntity):
    name = "prices"
    columns = COLUMNS
    required = ("market", "unit_price")
    upsert = staticmethod(upsert_price_rows)

    def convert(self, row: Row) -> PriceRowInput:
        return PriceRowInput(
            variant=cell(row, "variant") or None, product=cell(row, "product") or None,
            market=cell(row, "market"), currency=cell(row, "currency"), sale_type=cell(row, "sale_type"),
            sale_code=cell(row, "sale_code"), min_quantity=_decimal(row, "min_quantity", Decimal(0)),
            unit_price=_decimal(row, "unit_price", None),
            valid_from=_moment(row, "valid_from"), valid_until=_moment(row, "valid_until"))


def price_rows(actor, selection: QuerySet | None = None) -> Iterator[dict]:
    """Every price row `actor` (None: the system) may read (of `selection`
    only, when given), in the table's order; prices in their currency's
    precision, as the API shows them."""
    rows = selection if selection is not None else PriceRow.objects.all()
    rows = rows if actor is None else rows.visible_to(actor)
    rows = rows.order_by(*PriceRow._meta.ordering)
    rows = rows.select_related("variant", "product", "market")
    for r in rows.iterator(chunk_size=CHUNK):
        yield {
            "variant": r.variant.sku if r.variant_id else "",
            "product": (r.product.key or str(r.product_id)) if r.product_id else "",
            "market": r.market.key, "currency": r.currency, "sale_type": r.sale_type, "sale_code": r.sale_code,
            "min_quantity": str(r.min_quantity), "unit_price": str(r.shown_price),
            "valid_from": r.valid_from.isoformat() if r.valid_from else "",
            "valid_until": r.valid_until.isoformat() if r.valid_until else "",
        }
