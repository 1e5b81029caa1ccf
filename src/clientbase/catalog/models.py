"""What the shop sells, and where: markets, products and their variants (SKUs)."""

from django.db import models
from simple_history.models import HistoricalRecords

from clientbase.core.models import BaseModel, KeyField


class CatalogQuerySet(models.QuerySet):
    def visible_to(self, account, level: str = "view") -> "CatalogQuerySet":
        """The catalog is the shop's shop window: everyone sees all of it,
        visitors included. (Whether staff may change it is a permission.)"""
        return self

    def on_sale(self) -> "CatalogQuerySet":
        """What a shopper may find and buy: active markets, active products,
        and the active variants of active products (ON_SALE)."""
        return self.filter(**{path: True for path in ON_SALE[self.model.__name__]})


# What "on sale" means, the one place it is said: the flags that must all be
# true for a row of each model, as field paths (a variant's product's through
# its relation). `CatalogQuerySet.on_sale` filters by them and `on_sale_sql`
# writes them for a statement written by hand (pricing.listing).
ON_SALE = {
    "Market": ("is_active",),
    "Product": ("is_active",),
    "Variant": ("is_active", "product__is_active"),
}


def on_sale_sql(model, alias: str, **related: str) -> str:
    """SQL: the row `alias` of `model` is on sale — `on_sale()`'s condition
    for a statement written by hand. A flag of a related row (a variant's
    product's) is read from that row under the alias given by the relation's
    name, e.g. `on_sale_sql(Variant, "v", product="p")`: the statement joins
    it (a derived table must select its flag columns)."""
    conditions = []
    for path in ON_SALE[model.__name__]:
        *relation, flag = path.split("__")
        holder, row = model, alias
        for name in relation:  # a KeyError names a relation the caller did not join
            holder, row = holder._meta.get_field(name).related_model, related[name]
        conditions.append(f"{row}.{holder._meta.get_field(flag).column}")
    return " AND ".join(conditions)


class Market(BaseModel):
    """A place the shop sells to: a set of countries and the currencies it
    charges in (e.g. EU: DE, FR, NL in EUR)."""

    key = KeyField(required=True, help_text="The market's code, e.g. EU.")
    name = models.CharField(max_length=200)
    countries = models.JSONField(default=list, blank=True, help_text="ISO 3166-1 alpha-2 codes.")
    currencies = models.JSONField(default=list, help_text="ISO 4217 codes.")
    default_currency = models.CharField(max_length=3)
    is_active = models.BooleanField(default=True)

    history = HistoricalRecords()

    objects = CatalogQuerySet.as_manager()

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key})"


class Product(BaseModel):
    """A sellable thing; customers buy one of its variants."""

    key = KeyField()
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True, help_text="Inactive products are hidden from shoppers.")

    history = HistoricalRecords()

    objects = CatalogQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        # The storefront lists products in this order, a page at a time
        # (docs/benchmarks.md, storefront listing: without it every page
        # sorted the whole catalog).
        indexes = [models.Index(fields=["name", "id"], name="product_listing_idx")]

    def __str__(self) -> str:
        return self.name


class Variant(BaseModel):
    """One SKU of a product: a combination of option values such as size and colour."""

    sku = KeyField(required=True, db_column="sku", help_text="The stock-keeping unit code.")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    name = models.CharField(max_length=200, blank=True)
    options = models.JSONField(default=dict, blank=True, help_text='e.g. {"size": "M", "colour": "red"}')
    is_active = models.BooleanField(default=True, help_text="Inactive variants cannot be bought.")

    history = HistoricalRecords()

    objects = CatalogQuerySet.as_manager()

    class Meta:
        ordering = ["sku"]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}".strip()

    @property
    def key(self) -> str:
        """A variant's key is its SKU."""
        return self.sku
