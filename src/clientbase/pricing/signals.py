"""Keep price rows pointing at the right customers and groups.

Price rows name a contact or a customer group by its code (key), not by a
foreign key, as imports and other systems do. So when a key changes, the rows
follow; and a group that rows still name cannot be deleted. Likewise a
market keeps the currencies its rows are in.
"""

from django.db.models.signals import pre_delete, pre_save
from django.dispatch import receiver

from clientbase.core.errors import Conflict
from clientbase.catalog.models import Market
from clientbase.customers.models import Contact, CustomerGroup
from clientbase.pricing.models import PriceRow, SaleType
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
