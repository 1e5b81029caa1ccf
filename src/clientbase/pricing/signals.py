"""Keep price rows pointing at the right customers and groups.

Price rows name a contact or a customer group by its code (key), not by a
foreign key, as imports and other systems do. So when a key changes, the rows
follow; and a group that rows still name cannot be deleted. Likewise a
market keeps the currencies its rows are in. And every change that can
change a resolved price bumps its SKU's version in the price cache.
"""

from django.db.models.signals import post_delete, post_save, pre_delete, pre_save
from django.dispatch import receiver

from clientbase.core.batches import rows_written
from clientbase.core.caching import bump
from clientbase.core.errors import Conflict
from clientbase.catalog.models import Market, Product, Variant
from clientbase.customers.models import Contact, CustomerGroup
from clientbase.pricing.models import PriceRow, SaleType
from clientbase.pricing.price_cache import bump_priced_by, sku_version
from clientbase.pricing.services import check_market_currencies


@receiver(pre_save, sender=CustomerGroup)
def follow_group_key(sender, instance: CustomerGroup, **kwargs) -> None:
    if instance._state.adding:
        return
    old = CustomerGroup.objects.filter(pk=instance.pk).values_list("key", flat=True).first()
    if old and old != instance.key:
        PriceRow.objects.filter(sale_type=SaleType.CUSTOMER_GROUP, sale_code=old).update(
            sale_code=instance.key)


@receiver(pre_save, sender=Market)
def keep_priced_currencies(sender, instance: Market, **kwargs) -> None:
    # Whoever saves the market (catalog.services knows nothing of prices).
    check_market_currencies(instance)


@receiver(pre_save, sender=Contact)
def follow_contact_key(sender, instance: Contact, **kwargs) -> None:
    if instance._state.adding:
        return
    old = Contact.objects.filter(pk=instance.pk).values_list("key", flat=True).first()
    new_code, old_code = instance.key or str(instance.pk), old or str(instance.pk)
    if new_code != old_code:
        PriceRow.objects.filter(sale_type=SaleType.CUSTOMER, sale_code=old_code).update(sale_code=new_code)


@receiver(pre_delete, sender=CustomerGroup)
def refuse_deleting_priced_group(sender, instance: CustomerGroup, **kwargs) -> None:
    count = PriceRow.objects.filter(sale_type=SaleType.CUSTOMER_GROUP, sale_code=instance.key).count()
    if count:
        raise Conflict.on(
            "id", f"{count} price row(s) use customer group {instance.key}; delete them first "
                  "or pass delete_prices=true.", code="in_use")


@receiver(pre_delete, sender=Contact)
def delete_customer_prices(sender, instance: Contact, **kwargs) -> None:
    # A customer-specific price is meaningless without its customer.
    PriceRow.objects.filter(sale_type=SaleType.CUSTOMER,
                            sale_code__in=[c for c in (instance.key, str(instance.pk)) if c]).delete()


# --- The price cache's versions (pricing.price_cache) -------------------------


def _skus(variant_id=None, product_id=None) -> set[str]:
    if variant_id:
        return set(Variant.objects.filter(pk=variant_id).values_list("sku", flat=True))
    if product_id:
        return set(Variant.objects.filter(product_id=product_id).values_list("sku", flat=True))
    return set()


def _row_skus(row: PriceRow) -> set[str]:
    if row.variant_id and PriceRow.variant.field.is_cached(row) and row.variant is not None:
        return {row.variant.sku}
    return _skus(row.variant_id, row.product_id)


@receiver(pre_save, sender=PriceRow)
def _price_row_before(sender, instance: PriceRow, **kwargs) -> None:
    # An update may move the row to another variant or product.
    if not instance._state.adding:
        old = PriceRow.objects.filter(pk=instance.pk).values_list("variant_id", "product_id").first()
        instance._cache_old_skus = _skus(*old) if old else set()


@receiver(post_save, sender=PriceRow)
@receiver(post_delete, sender=PriceRow)
def _price_row_changed(sender, instance: PriceRow, **kwargs) -> None:
    skus = _row_skus(instance) | getattr(instance, "_cache_old_skus", set())
    bump(*(sku_version(sku) for sku in sorted(skus)))


@receiver(rows_written, sender=PriceRow)
def _price_rows_written(sender, rows, before=None, **kwargs) -> None:
    # Rows written in bulk (imports: pricing.services.create_price_rows,
    # update_price_rows): where each prices now and, updated, where it priced before.
    places = [(row.variant_id, row.product_id) for row in rows]
    places += [(old.get("variant_id", row.variant_id), old.get("product_id", row.product_id))
               for row, old in zip(rows, before or ())]
    bump_priced_by(places)


@receiver(pre_save, sender=Variant)
def _variant_before(sender, instance: Variant, **kwargs) -> None:
    if not instance._state.adding:
        instance._cache_old_skus = _skus(instance.pk)


@receiver(post_save, sender=Variant)
@receiver(post_delete, sender=Variant)
def _variant_changed(sender, instance: Variant, **kwargs) -> None:
    # Created: an "unknown SKU" answer ends; renamed or moved: both SKUs change.
    skus = {instance.sku} | getattr(instance, "_cache_old_skus", set())
    bump(*(sku_version(sku) for sku in sorted(skus)))


@receiver(post_save, sender=Product)
def _product_changed(sender, instance: Product, created: bool, **kwargs) -> None:
    # Answers carry the product's key for product-level rows.
    if not created:
        bump(*(sku_version(sku) for sku in sorted(_skus(product_id=instance.pk))))
