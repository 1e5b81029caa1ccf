"""Price rows in batches (imports): upsert many rows by their natural
identity, each through `create_price_row` or `update_price_row` — the same
permission, normalisation and validation as a single write — with the
variants, products, markets and existing rows looked up once per batch.

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
from clientbase.core.errors import DomainError, FieldError
from clientbase.core.models import looks_like_uuid
from clientbase.pricing.models import PriceRow, SaleType
from clientbase.pricing.services import create_price_row, normalize_price_row, update_price_row

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
    for index, row in built:
        key = identity(row)
        matches = existing.get(key, [])
        if key in seen:
            outcomes[index] = RowOutcome.failed([FieldError(
                "", "The same price row (variant or product, market, currency, sale type and code, minimum "
                    "quantity, validity) is on an earlier row too.", "duplicate_row")])
        elif len(matches) > 1:
            outcomes[index] = RowOutcome.failed([FieldError(
                "", f"{len(matches)} price rows have this variant or product, market, currency, sale type and "
                    "code, minimum quantity and validity: change or delete them one by one.", "ambiguous")])
        else:
            outcomes[index] = _write(row, matches[0] if matches else None, actor)
            if outcomes[index].status != RowStatus.FAILED:
                seen[key] = index
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


def _write(row: PriceRow, current: PriceRow | None, actor) -> RowOutcome:
    try:
        with transaction.atomic():
            if current is None:
                create_price_row(row, actor=actor)
                return RowOutcome(RowStatus.CREATED)
            if current.unit_price == row.unit_price:
                return RowOutcome(RowStatus.UNCHANGED)
            update_price_row(current, changes={"unit_price": row.unit_price}, actor=actor)
            return RowOutcome(RowStatus.UPDATED)
    except DomainError as exc:
        return RowOutcome.from_error(exc)

