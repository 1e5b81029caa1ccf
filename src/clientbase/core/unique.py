"""Unique codes (keys, SKUs) on save: a duplicate is a 409 Conflict naming the
field — whether it is seen before saving or lost in a race to the database's
unique index."""

from django.db import IntegrityError, models, transaction

from clientbase.core.errors import Conflict


def _duplicate(obj: models.Model, field: str) -> Conflict:
    label = obj._meta.verbose_name
    article = "An" if label[:1].lower() in "aeiou" else "A"
    return Conflict.on(field, f"{article} {label} with {field} '{getattr(obj, field)}' already exists.",
                       code=f"duplicate_{field}")


def check_unique(obj: models.Model, field: str) -> None:
    """409 when another row already has `obj`'s (non-empty) value of `field`."""
    value = getattr(obj, field)
    if value and type(obj)._default_manager.filter(**{field: value}).exclude(pk=obj.pk).exists():
        raise _duplicate(obj, field)


def save_unique(obj: models.Model, field: str) -> None:
    """Save `obj`; a concurrent request that took the same value first makes
    this one a 409, the same answer as if it had come second."""
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:
        raise _duplicate(obj, field) from exc
