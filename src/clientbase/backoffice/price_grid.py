"""A variant's price grid, the explain table of a resolved price, and the
links to the price previews, shared by the variant page (backoffice.catalog),
the price pages (backoffice.prices) and the contact 360."""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.urls import reverse
from django.utils import timezone

from clientbase.catalog.models import Market, Variant
from clientbase.customers.models import Contact
from clientbase.pricing import services
from clientbase.pricing.models import SPECIFICITY, PriceRow, SaleType
from clientbase.pricing.resolver import Resolution


def quantity_label(quantity: Decimal) -> str:
    return f"{quantity.normalize():f}"


# --- The price grid -------------------------------------------------------------


@dataclass
class GridCell:
    """One price row in the grid: its unit price and validity window."""

    row: PriceRow
    url: str
    unit_price: Decimal
    valid_from: Any = None
    valid_until: Any = None
    state: str = ""  # "", "expired" or "future"


@dataclass
class GridLine:
    """A grid row: the prices of one (level, market, currency, sale type,
    sale code), one list of cells per quantity break."""

    level: str  # "variant" or "product"
    market: Market
    currency: str
    sale_type: SaleType
    sale_code: str
    cells: list[list[GridCell]] = field(default_factory=list)
    shadowed: bool = False  # a product row the variant's own rows replace here

    @property
    def sale_type_label(self) -> str:
        return SaleType(self.sale_type).label


@dataclass
class PriceGrid:
    columns: list[Decimal]
    lines: list[GridLine]

    @property
    def column_labels(self) -> list[str]:
        return [quantity_label(q) for q in self.columns]


def price_grid(variant: Variant, viewer) -> PriceGrid:
    """A variant's price rows, and its product's, that `viewer` may see (no
    customer's price unless it sees the customer), as a grid: one line per
    (level, market, currency, sale type, sale code), one column per distinct
    minimum quantity. Two queries, whatever the number of rows."""
    rows = list(PriceRow.objects.visible_to(viewer).for_variants([variant.pk], [variant.product_id])
                .select_related("market"))
    now = timezone.now()
    columns = sorted({r.min_quantity for r in rows})
    own_here = {(r.market_id, r.currency) for r in rows if r.variant_id}
    lines: dict[tuple, GridLine] = {}
    for row in rows:
        level = "variant" if row.variant_id else "product"
        key = (level, row.market_id, row.currency, row.sale_type, row.sale_code)
        line = lines.get(key)
        if line is None:
            line = lines[key] = GridLine(
                level=level, market=row.market, currency=row.currency, sale_type=row.sale_type,
                sale_code=row.sale_code, cells=[[] for _ in columns],
                shadowed=level == "product" and (row.market_id, row.currency) in own_here,
            )
        state = ("expired" if row.valid_until and row.valid_until <= now
                 else "future" if row.valid_from and row.valid_from > now else "")
        line.cells[columns.index(row.min_quantity)].append(GridCell(
            row=row, url=reverse("admin:pricing_pricerow_change", args=[row.pk]),
            unit_price=row.shown_price, valid_from=row.valid_from, valid_until=row.valid_until,
            state=state,
        ))
    # Market and currency first; the variant's own rows before the product's;
    # then everyone's price, groups and single customers, as the resolver
    # reads them from the general to the specific.
    ordered = sorted(lines.values(), key=lambda ln: (
        ln.market.key, ln.currency, ln.level != "variant",
        -SPECIFICITY[SaleType(ln.sale_type)], ln.sale_code))
    return PriceGrid(columns=columns, lines=ordered)


def variant_preview_url(variant: Variant) -> str:
    return reverse("admin:pricing_variant_preview", args=[variant.pk])


def contact_prices_url(contact: Contact | None = None) -> str:
    """The "prices as this contact" page (anonymous without a contact)."""
    url = reverse("admin:pricing_pricerow_preview")
    return f"{url}?contact={contact.pk}" if contact is not None else url


# --- Why a price won ------------------------------------------------------------


def explain_rows(resolution: Resolution, viewer) -> list[dict[str, Any]]:
    """The explain table's rows of a resolution made with `explain=True`
    (the variant's price preview and the contact 360's both show it): each
    candidate `viewer` may see — its row, level, whether it applied and why,
    its unit price and its admin URL — the winner first, then the others
    that applied, then the rest in grid order."""
    winner = resolution.price
    rows = []
    for candidate in services.shown_candidates(resolution.candidates, viewer):
        row = candidate.row
        rows.append({
            "row": row,
            "level": candidate.level,
            "applied": candidate.applied,
            "wins": winner is not None and row.pk == winner.pk,
            "reason": candidate.reason or ("the lowest applicable price" if winner and row.pk == winner.pk
                                           else "applies; a lower or more specific price wins"),
            "unit_price": row.shown_price,
            "url": reverse("admin:pricing_pricerow_change", args=[row.pk]),
        })
    rows.sort(key=lambda r: (not r["wins"], not r["applied"], r["row"].market.key, r["row"].currency,
                             r["level"] != "variant", -SPECIFICITY[SaleType(r["row"].sale_type)],
                             r["row"].min_quantity))
    return rows
