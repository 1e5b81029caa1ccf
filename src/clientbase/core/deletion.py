"""Deleting an object with what depends on it, as Django's cascade does, and
only by someone who may delete each kind of thing it takes along (the rule
Django's admin applies on its delete pages, here for every door)."""

from django.db import router
from django.db.models import Model
from django.db.models.deletion import Collector

from clientbase.core.history import record_actor
from clientbase.core.permissions import require


def collect_deletion(obj: Model, *, actor) -> Collector:
    """What deleting `obj` takes along, ready to `delete()`; Forbidden unless
    `actor` may delete every kind of it (a product with variants and prices
    needs delete_product, delete_variant and delete_pricerow).

    Raises Django's ProtectedError when a protecting reference forbids it.
    """
    collector = Collector(using=router.db_for_write(type(obj), instance=obj))
    collector.collect([obj])
    kinds = set(collector.data)
    # Fast deletes are unevaluated querysets; a kind counts only if it has rows.
    kinds |= {qs.model for qs in collector.fast_deletes if qs.exists()}
    # Link rows of many-to-many fields are not things anyone deletes by themselves.
    require(actor, *sorted(f"{m._meta.app_label}.delete_{m._meta.model_name}"
                           for m in kinds if not m._meta.auto_created))
    record_actor(obj, actor)
    return collector
