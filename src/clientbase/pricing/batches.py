"""Price rows in batches (imports): upsert many rows by their natural
identity through `create_price_rows` and `update_price_rows` — the
permission, normalisation and validation of a single write, written in
bulk with a history record each — with the variants, products, markets and
existing rows looked up once per batch.

A price row has no key. Its identity is what it prices, where and for whom:
variant or product, market, currency, sale type, sale code, minimum
quantity and validity window (`IDENTITY`). A row of a file with the
identity of an existing row sets that row's unit price; any other row is a
new price row.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import models, transaction

from clientbase.catalog.models import Market, Product, Variant
from clientbase.core.batches import RowOutcome, RowStatus, by_refs
from clientbase.core.errors import FieldError
from clientbase.core.models import looks_like_uuid
from clientbase.pricing.models import PriceRow, SaleType
from clientbase.pricing.services import create_price_rows, normalize_price_row, update_price_rows

IDENTITY = ("variant_id", "product_id", "market_id", "currency", "sale_type", "sale_code", "min_quantity",
            "valid_from", "valid_until")


@dataclass
class PriceRowInput:
    """One price row as a file gives it: `variant` a SKU or id, `product` a
    key or id (one of the two), `market` a key or id; an empty currency is
    the market's default, an empty sale type `all_customers`."""

    variant: str | None
    product: str | None
    market: str
    unit_price: Decimal | None
    currency: str = ""
    sale_type: str = ""
    sale_code: str = ""
    min_quantity: Decimal = Decimal(0)
    valid_from: datetime | None = None
    valid_until: datetime | None = None


def identity(row: PriceRow) -> tuple:
    return tuple(getattr(row, name) for name in IDENTITY)


def _variants(refs: Iterable[str]) -> dict[str, Variant]:
    """Variants by SKU or id, as the API names them; one query."""
    refs = {r for r in refs if r}
    if not refs:
        return {}
    ids = {r for r in refs if looks_like_uuid(r)}
    found = {}
    for variant in Variant.objects.visible_to(None).filter(models.Q(sku__in=refs - ids) | models.Q(pk__in=ids)):
        found[variant.sku] = found[str(variant.pk)] = variant
    return {r: found[r] for r in refs if r in found}


def _existing(rows: Sequence[PriceRow], actor) -> dict[tuple, list[PriceRow]]:
    """The price rows `actor` sees on the batch's variants and products, by
    identity; one query."""
    variant_ids = {r.variant_id for r in rows if r.variant_id}
    product_ids = {r.product_id for r in rows if r.product_id}
    if not (variant_ids or product_ids):
        return {}
    visible = PriceRow.objects.all() if actor is None else PriceRow.objects.visible_to(actor)
    found: dict[tuple, list[PriceRow]] = defaultdict(list)
    for row in visible.for_variants(variant_ids, product_ids).filter(
            market_id__in={r.market_id for r in rows}).select_related("market").order_by("pk"):
        found[identity(row)].append(row)
    return found


@transaction.atomic
def upsert_price_rows(inputs: Sequence[PriceRowInput], *, actor) -> list[RowOutcome]:
    """Create or change one price row per input; one outcome per input, in
    order. A row that breaks a rule fails alone and changes nothing.

    `actor` (None: the system) needs `pricing.add_pricerow` for new rows and
    `pricing.change_pricerow` for changed ones; a customer price may only
    name a contact `actor` sees. An identity shared by several existing rows
    is ambiguous, and one given twice in the batch a duplicate: both fail.
    """
    variants = _variants(i.variant for i in inputs)
    products = by_refs(Product.objects.visible_to(actor), {i.product for i in inputs if i.product})
    markets = by_refs(Market.objects.visible_to(actor), {i.market for i in inputs if i.market})

    outcomes: list[RowOutcome | None] = [None] * len(inputs)
    built: list[tuple[int, PriceRow]] = []
    for index, given in enumerate(inputs):
        row, errors = _build(given, variants, products, markets)
        if errors:
            outcomes[index] = RowOutcome.failed(errors)
        else:
            normalize_price_row(row)
            built.append((index, row))

    existing = _existing([row for _, row in built], actor)
    seen: dict[tuple, int] = {}
    # In rounds, so that a row whose identity an earlier row of the batch
    # took is judged after that row's fate is known: a duplicate of a row
    # that failed is written in its place, as one row at a time would be.
    pending = built
    while pending:
        taken: set[tuple] = set()
        creating: list[tuple[int, PriceRow]] = []
        changing: list[tuple[int, PriceRow, PriceRow]] = []
        later: list[tuple[int, PriceRow]] = []
        for index, row in pending:
            key = identity(row)
            matches = existing.get(key, [])
            if key in seen:
                outcomes[index] = RowOutcome.failed([FieldError(
                    "", "The same price row (variant or product, market, currency, sale type and code, minimum "
                        "quantity, validity) is on an earlier row too.", "duplicate_row")])
            elif key in taken:
                later.append((index, row))
            elif len(matches) > 1:
                outcomes[index] = RowOutcome.failed([FieldError(
                    "", f"{len(matches)} price rows have this variant or product, market, currency, sale type and "
                        "code, minimum quantity and validity: change or delete them one by one.", "ambiguous")])
            elif not matches:
                taken.add(key)
                creating.append((index, row))
            elif matches[0].unit_price == row.unit_price:
                seen[key] = index
                outcomes[index] = RowOutcome(RowStatus.UNCHANGED)
            else:
                taken.add(key)
                changing.append((index, row, matches[0]))
        created = create_price_rows([row for _, row in creating], actor=actor)
        changed = update_price_rows([(current, {"unit_price": row.unit_price}) for _, row, current in changing],
                                    actor=actor)
        for (index, row, *_), error, status in [
                *((c, e, RowStatus.CREATED) for c, e in zip(creating, created)),
                *((c, e, RowStatus.UPDATED) for c, e in zip(changing, changed))]:
            if error is None:
                seen[identity(row)] = index
                outcomes[index] = RowOutcome(status)
            else:
                outcomes[index] = RowOutcome.from_error(error)
        pending = later
    return outcomes


def _build(given: PriceRowInput, variants: dict, products: dict, markets: dict
           ) -> tuple[PriceRow, list[FieldError]]:
    # Only the references are resolved here; the row's rules (one of variant
    # and product, the sale type, the price) are validate_price_row's.
    errors: list[FieldError] = []
    variant = product = market = None
    if given.variant and (variant := variants.get(given.variant)) is None:
        errors.append(FieldError("variant", f"No variant with SKU '{given.variant}'.", "unknown_reference"))
    if given.product and (product := products.get(given.product)) is None:
        errors.append(FieldError("product", f"No product with key '{given.product}'.", "unknown_reference"))
    if not given.market:
        errors.append(FieldError("market", "A market is required.", "required"))
    elif (market := markets.get(given.market)) is None:
        errors.append(FieldError("market", f"No market with key '{given.market}'.", "unknown_reference"))
    sale_type = given.sale_type or SaleType.ALL_CUSTOMERS
    row = PriceRow(variant=variant, product=product, market=market, currency=given.currency,
                   sale_type=sale_type, sale_code=given.sale_code, min_quantity=given.min_quantity,
                   unit_price=given.unit_price, valid_from=given.valid_from, valid_until=given.valid_until)
    return row, errors
