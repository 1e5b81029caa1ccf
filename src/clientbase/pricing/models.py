"""Price rows: who pays what for a variant (or a whole product), where and when."""

from decimal import Decimal

from django.db import models
from simple_history.models import HistoricalRecords

from clientbase.core.currencies import is_currency, quantize
from clientbase.core.models import BaseModel
from clientbase.customers.models import Contact
from clientbase.customers.models.visibility import contact_scope


class SaleType(models.TextChoices):
    """Whom a price row is for. The order is the tie-break: more specific first."""

    CUSTOMER = "customer", "One customer"
    CUSTOMER_GROUP = "customer_group", "A customer group"
    ALL_CUSTOMERS = "all_customers", "All customers"


# Lower is more specific: a customer's own price beats its group's, which
# beats everyone's, when the unit prices are equal.
SPECIFICITY = {SaleType.CUSTOMER: 0, SaleType.CUSTOMER_GROUP: 1, SaleType.ALL_CUSTOMERS: 2}


class UUIDText(models.Func):
    """A UUID column as `str(uuid)` spells it (lower case, hyphens): what a
    customer price row's sale code holds for a contact without a key."""

    output_field = models.CharField()

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        if connection.vendor == "postgresql":
            return f"({sql})::text", params
        # SQLite keeps a UUID as its 32 hex digits.
        parts = [f"substr({sql}, {start}, {length})"
                 for start, length in ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))]
        return "lower(" + " || '-' || ".join(parts) + ")", tuple(params) * len(parts)


class PriceRowQuerySet(models.QuerySet):
    def visible_to(self, account, level: str = "view") -> "PriceRowQuerySet":
        """The price rows `account` may read; none for an anonymous or
        inactive account (visitors see prices only through the resolver).

        Permissions say which staff may read prices at all; of those rows, a
        customer price names a contact by its sale code, so it is visible
        only to whom sees that contact (issue 8: a price, a key, never
        betrays a contact the reader cannot see). Administrators and holders
        of `view_all_contacts` see every row. Still one query: the visible
        contacts' keys and ids are subqueries, computed once (no join per
        row). `level` is accepted for symmetry; reading a contact's prices
        needs only to see the contact.
        """
        if account is None or not account.is_authenticated or not account.is_active:
            return self.none()
        if contact_scope(account).everything:
            return self
        contacts = Contact.objects.visible_to(account).order_by()
        return self.exclude(
            models.Q(sale_type=SaleType.CUSTOMER)
            & ~models.Q(sale_code__in=contacts.filter(key__isnull=False).values("key"))
            & ~models.Q(sale_code__in=contacts.annotate(id_text=UUIDText("pk")).values("id_text"))
        )

    def for_variants(self, variant_ids, product_ids) -> "PriceRowQuerySet":
        """Rows on these variants, or on these products (product-level rows)."""
        return self.filter(models.Q(variant_id__in=variant_ids) | models.Q(product_id__in=product_ids))


class PriceRow(BaseModel):
    """A unit price for a variant (or for each variant of a product that has no
    row of its own in that market and currency), for a sale type and code,
    from a minimum quantity, within an optional validity window."""

    variant = models.ForeignKey(
        "catalog.Variant", null=True, blank=True, on_delete=models.CASCADE, related_name="prices"
    )
    product = models.ForeignKey(
        "catalog.Product", null=True, blank=True, on_delete=models.CASCADE, related_name="prices"
    )
    market = models.ForeignKey("catalog.Market", on_delete=models.PROTECT, related_name="prices")
    currency = models.CharField(max_length=3)
    sale_type = models.CharField(max_length=20, choices=SaleType.choices,
                                 default=SaleType.ALL_CUSTOMERS)
    sale_code = models.CharField(
        max_length=100, blank=True,
        help_text="A contact's key (or id) for customer prices; a group's key for group prices.",
    )
    min_quantity = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    unit_price = models.DecimalField(max_digits=19, decimal_places=4)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()
    objects = PriceRowQuerySet.as_manager()

    class Meta:
        # The variant index serves this order, so a page of a 2,000,000-row
        # list (admin, API) reads an index range instead of sorting the table.
        ordering = ["variant_id", "market_id", "currency", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(variant__isnull=False, product__isnull=True)
                           | models.Q(variant__isnull=True, product__isnull=False)),
                name="price_on_variant_xor_product",
            ),
            models.CheckConstraint(condition=models.Q(unit_price__gte=0), name="price_not_negative"),
            models.CheckConstraint(condition=models.Q(min_quantity__gte=0),
                                   name="price_min_quantity_not_negative"),
            models.CheckConstraint(
                condition=(models.Q(valid_from__isnull=True) | models.Q(valid_until__isnull=True)
                           | models.Q(valid_until__gt=models.F("valid_from"))),
                name="price_validity_ordered",
            ),
        ]
        indexes = [
            # The resolver's two lookups: rows of these variants / products in
            # one market and currency.
            models.Index(fields=["variant", "market", "currency", "id"], name="price_variant_idx"),
            models.Index(fields=["product", "market", "currency"], name="price_product_idx"),
            # Deleting or renaming a group or a customer finds the rows that
            # name it. On sale_code alone: led by sale_type, this index
            # tempted SQLite's planner to drive the resolver's query by
            # `sale_type = 'all_customers'` instead of by the variants.
            models.Index(fields=["sale_code"], name="price_sale_code_idx"),
        ]

    @property
    def sku(self) -> str | None:
        """The variant's SKU for a variant-level row; None for a product-level one.

        The resolver's query brings it along as `for_sku`, saving a query per row.
        """
        if not self.variant_id:
            return None
        return self.__dict__.get("for_sku") or self.variant.sku

    @property
    def shown_price(self) -> Decimal:
        """The unit price in its currency's precision (it is stored with four
        decimals): what the API, the back office and the storefront show."""
        return quantize(self.unit_price, self.currency) if is_currency(self.currency) else self.unit_price

    def __str__(self) -> str:
        target = self.variant or self.product
        who = self.sale_type if not self.sale_code else f"{self.sale_type}:{self.sale_code}"
        return f"{target} {self.market_id and self.market.key} {self.unit_price} {self.currency} ({who}, ≥{self.min_quantity})"
