"""The one price resolver: what a visitor pays for a variant, and why.

Prices in the storefront, on carts, on orders and in the API all come from
`resolve_prices`; `explain` is the same computation with every candidate kept.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from clientbase.catalog.models import Market, Variant
from clientbase.customers.models import Contact, CustomerGroup, Organization
from clientbase.core.currencies import EXPONENTS, has_precision, is_currency, quantize
from clientbase.core.errors import Conflict, FieldError, Invalid
from clientbase.core.models import looks_like_uuid, subtree_q
from clientbase.pricing.models import SPECIFICITY, PriceRow, SaleType


@dataclass(frozen=True)
class Candidate:
    """A price row considered for a variant: whether it applied, and if not, why."""

    row: PriceRow
    applied: bool
    reason: str = ""
    code: str = ""
    level: str = "variant"  # "variant" or "product": where the row is set

    @property
    def unit_price(self) -> Decimal:
        return quantize(self.row.unit_price, self.row.currency)


@dataclass
class Resolution:
    """The price of one SKU for one visitor. `price` is None when no row applies."""

    sku: str
    currency: str
    variant: Variant | None = None
    price: PriceRow | None = None
    candidates: list[Candidate] = field(default_factory=list)

    @property
    def unit_price(self) -> Decimal | None:
        return quantize(self.price.unit_price, self.currency) if self.price else None


@dataclass(frozen=True)
class Visitor:
    """Who is buying: a contact with its effective group keys, or anonymous."""

    contact: Contact | None
    group_keys: frozenset[str] = frozenset()

    @property
    def sale_code(self) -> str | None:
        return self.contact.sale_code if self.contact else None


def _db(value: UUID):
    return Contact._meta.pk.get_db_prep_value(value, connection)


def effective_group_keys(contact: Contact | None) -> frozenset[str]:
    """Keys of the contact's effective customer groups, in ONE query.

    Same answer as customers.services.groups.effective_groups (which also
    explains each path), computed in SQL for the resolver: ancestors of an
    organization or a group are the prefixes of its materialized path, each
    one segment (33 characters) shorter, which a recursive CTE lists and the
    path indexes look up.
    """
    if contact is None:
        return frozenset()
    org = Organization._meta.db_table
    grp = CustomerGroup._meta.db_table
    contact_orgs = Contact.organizations.through._meta.db_table
    contact_groups = Contact.customer_groups.through._meta.db_table
    org_groups = Organization.customer_groups.through._meta.db_table
    sql = f"""
        WITH RECURSIVE
          member_paths(path) AS (
            SELECT CAST(o.path AS TEXT) FROM {org} o
              JOIN {contact_orgs} m ON m.organization_id = o.id
             WHERE m.contact_id = %s
            UNION
            SELECT substr(path, 1, length(path) - 33) FROM member_paths WHERE length(path) > 33
          ),
          group_paths(path) AS (
            SELECT CAST(g.path AS TEXT) FROM {grp} g
              JOIN {contact_groups} cg ON cg.customergroup_id = g.id
             WHERE cg.contact_id = %s
            UNION
            SELECT CAST(g.path AS TEXT) FROM {grp} g
              JOIN {org_groups} og ON og.customergroup_id = g.id
              JOIN {org} o ON o.id = og.organization_id
              JOIN member_paths mp ON mp.path = o.path
            UNION
            SELECT substr(path, 1, length(path) - 33) FROM group_paths WHERE length(path) > 33
          )
        SELECT g.key FROM {grp} g JOIN group_paths gp ON gp.path = g.path
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [_db(contact.pk), _db(contact.pk)])
        return frozenset(row[0] for row in cursor.fetchall())


def visitor_for(contact: Contact | None) -> Visitor:
    return Visitor(contact, effective_group_keys(contact))


def _judge(row: PriceRow, *, visitor: Visitor, quantity: Decimal, market: Market, currency: str,
           at: datetime) -> tuple[str, str]:
    """(code, reason) why a row does not apply; ("", "") when it does."""
    if row.market_id != market.pk:
        return "market_mismatch", f"market mismatch (row is for {row.market.key})"
    if row.currency != currency:
        return "currency_mismatch", f"currency mismatch (row is in {row.currency})"
    if row.valid_from and at < row.valid_from:
        return "not_yet_valid", f"not yet valid (from {row.valid_from.isoformat()})"
    if row.valid_until and at >= row.valid_until:
        return "expired", f"expired (until {row.valid_until.isoformat()})"
    if quantity < row.min_quantity:
        return "quantity_below_minimum", f"quantity below {row.min_quantity.normalize():f}"
    if row.sale_type == SaleType.CUSTOMER:
        if visitor.contact is None:
            return "anonymous", f"customer price for {row.sale_code}; the visitor is anonymous"
        if row.sale_code not in {visitor.contact.key, str(visitor.contact.pk)}:
            return "other_customer", f"customer price for {row.sale_code}, not this contact"
    if row.sale_type == SaleType.CUSTOMER_GROUP:
        if visitor.contact is None:
            return "anonymous", f"group price for {row.sale_code}; the visitor is anonymous"
        if row.sale_code not in visitor.group_keys:
            return "not_in_group", f"contact not in group {row.sale_code}"
    return "", ""


def _applicable_q(visitor: Visitor, quantity: Decimal, at: datetime) -> Q:
    """The rows `_judge` would accept, as a filter (market and currency aside)."""
    sale = Q(sale_type=SaleType.ALL_CUSTOMERS)
    if visitor.contact is not None:
        sale |= Q(sale_type=SaleType.CUSTOMER,
                  sale_code__in=[c for c in (visitor.contact.key, str(visitor.contact.pk)) if c])
        if visitor.group_keys:
            sale |= Q(sale_type=SaleType.CUSTOMER_GROUP, sale_code__in=sorted(visitor.group_keys))
    return (sale & Q(min_quantity__lte=quantity)
            & (Q(valid_from__isnull=True) | Q(valid_from__lte=at))
            & (Q(valid_until__isnull=True) | Q(valid_until__gt=at)))


def _rank(row: PriceRow) -> tuple:
    # Lowest price wins; ties go to the more specific sale type, then to the
    # higher minimum quantity; the id keeps the answer stable.
    return (row.unit_price, SPECIFICITY[SaleType(row.sale_type)], -row.min_quantity, str(row.pk))


def resolve_prices(skus: list[str], *, visitor: Visitor, quantity: Decimal, market: Market,
                   currency: str, at: datetime | None = None,
                   explain: bool = False) -> dict[str, Resolution]:
    """The price of each SKU for `visitor`, keyed by SKU (unknown SKUs have
    `variant=None`). Two queries (variants, then price rows), whatever the
    number of SKUs; `visitor_for` costs one more.

    With explain=False only rows of the market and currency are read and the
    candidates list holds only the rows that applied; with explain=True every
    row of the variant and its product is judged, with the reason it did not
    apply.
    """
    at = at or timezone.now()
    quantity = Decimal(quantity)
    variants_qs = Variant.objects.filter(sku__in=set(skus))
    if not explain:
        # Whether the variant has any row of its own here: if so, the
        # product's rows stand aside, even when none of its own applies.
        variants_qs = variants_qs.annotate(has_own_prices=Exists(PriceRow.objects.filter(
            variant=OuterRef("pk"), market=market, currency=currency)))
    variants = {v.sku: v for v in variants_qs}
    rows = PriceRow.objects.for_variants(
        [v.pk for v in variants.values()], {v.product_id for v in variants.values()})
    if explain:
        rows = rows.select_related("market")
    else:
        # Let the database drop what cannot apply; `_judge` below gives the
        # same verdicts (the property tests compare both paths).
        rows = rows.filter(market=market, currency=currency).filter(
            _applicable_q(visitor, quantity, at))
    by_variant: dict[UUID, list[PriceRow]] = {}
    by_product: dict[UUID, list[PriceRow]] = {}
    for row in rows:
        if not explain:
            row.market = market  # filtered on it: spare a join
        if row.variant_id:
            by_variant.setdefault(row.variant_id, []).append(row)
        else:
            by_product.setdefault(row.product_id, []).append(row)

    result: dict[str, Resolution] = {}
    for sku in skus:
        resolution = Resolution(sku=sku, currency=currency, variant=variants.get(sku))
        result[sku] = resolution
        variant = resolution.variant
        if variant is None:
            continue
        own = by_variant.get(variant.pk, [])
        # Product-level rows stand in only when the variant has no row of its
        # own in this market and currency.
        has_own_here = (any(r.market_id == market.pk and r.currency == currency for r in own)
                        if explain else variant.has_own_prices)
        candidates: list[Candidate] = []
        for level, level_rows in (("variant", own), ("product", by_product.get(variant.product_id, []))):
            for row in level_rows:
                code, reason = _judge(row, visitor=visitor, quantity=quantity, market=market,
                                      currency=currency, at=at)
                if not code and level == "product" and has_own_here:
                    code = "variant_has_own_prices"
                    reason = f"the variant has its own prices in {market.key}/{currency}"
                if code and not explain:
                    continue
                candidates.append(Candidate(row, not code, reason, code, level))
        applicable = [c.row for c in candidates if c.applied]
        resolution.price = min(applicable, key=_rank) if applicable else None
        resolution.candidates = candidates
    return result


def resolve_price(sku: str, *, contact: Contact | None, quantity: Decimal = Decimal(1),
                  market: Market, currency: str | None = None, at: datetime | None = None,
                  explain: bool = False) -> Resolution:
    """The price of one SKU for a contact (None: anonymous)."""
    return resolve_prices([sku], visitor=visitor_for(contact), quantity=quantity, market=market,
                          currency=currency or market.default_currency, at=at, explain=explain)[sku]


# --- Price rows -------------------------------------------------------------


def validate_price_row(row: PriceRow) -> None:
    """Raise Invalid naming every bad field: currency of the market, price >= 0
    with the currency's precision, validity ordered, a sale code that exists."""
    errors: list[FieldError] = []
    if (row.variant_id is None) == (row.product_id is None):
        errors.append(FieldError("variant", "Give either a variant or a product, not both."))
    market = row.market
    if row.currency not in market.currencies:
        errors.append(FieldError("currency", f"Market {market.key} sells in {', '.join(market.currencies)}, "
                                             f"not {row.currency}."))
    if row.unit_price is None or row.unit_price < 0:
        errors.append(FieldError("unit_price", "A price is zero or more."))
    elif is_currency(row.currency) and not has_precision(row.unit_price, row.currency):
        errors.append(FieldError("unit_price", f"{row.currency} prices have at most "
                                               f"{EXPONENTS[row.currency]} decimal(s)."))
    if row.min_quantity is None or row.min_quantity < 0:
        errors.append(FieldError("min_quantity", "The minimum quantity is zero or more."))
    if row.valid_from and row.valid_until and row.valid_until <= row.valid_from:
        errors.append(FieldError("valid_until", "valid_until must be after valid_from."))
    if row.sale_type == SaleType.ALL_CUSTOMERS:
        if row.sale_code:
            errors.append(FieldError("sale_code", "A price for all customers has no sale code."))
    elif not row.sale_code:
        errors.append(FieldError("sale_code", f"A {row.sale_type} price needs a sale code."))
    elif row.sale_type == SaleType.CUSTOMER_GROUP:
        if not CustomerGroup.objects.filter(key=row.sale_code).exists():
            errors.append(FieldError("sale_code", f"No customer group '{row.sale_code}'."))
    elif row.sale_type == SaleType.CUSTOMER:
        code = row.sale_code
        by = {"pk": code} if looks_like_uuid(code) else {"key": code}
        if not Contact.objects.filter(**by).exists():
            errors.append(FieldError("sale_code", f"No contact with key or id '{code}'."))
    if errors:
        raise Invalid(detail="; ".join(f"{e.field}: {e.message}" for e in errors), code="validation",
                      errors=errors)


def save_price_row(row: PriceRow) -> PriceRow:
    validate_price_row(row)
    row.save()
    return row


def check_market_currencies(market: Market) -> None:
    """Refuse to drop a currency from a market while price rows use it."""
    if market._state.adding:
        return
    used = PriceRow.objects.filter(market=market).exclude(currency__in=market.currencies).count()
    if used:
        raise Conflict.on("currencies", f"{used} price row(s) of market {market.key} use a currency "
                                        "you are removing; change or delete them first.",
                          code="currency_in_use")


def rows_naming_group(group: CustomerGroup):
    return PriceRow.objects.filter(sale_type=SaleType.CUSTOMER_GROUP, sale_code=group.key)


@transaction.atomic
def delete_market(market: Market, *, delete_prices: bool = False) -> int:
    """Delete a market; refused (409, with the count) while price rows use it,
    unless `delete_prices`. Returns the number of rows deleted with it."""
    rows = PriceRow.objects.filter(market=market)
    count = rows.count()
    if count and not delete_prices:
        raise Conflict.on("id", f"{count} price row(s) use market {market.key}; delete them first "
                                "or pass delete_prices=true.", code="in_use")
    rows.delete()
    market.delete()
    return count


@transaction.atomic
def delete_group_prices(group: CustomerGroup) -> int:
    """Remove the price rows of a group (and of its subtree) before deleting it."""
    keys = CustomerGroup.objects.filter(subtree_q(group.path)).values_list("key", flat=True)
    deleted, _ = PriceRow.objects.filter(sale_type=SaleType.CUSTOMER_GROUP, sale_code__in=list(keys)).delete()
    return deleted
