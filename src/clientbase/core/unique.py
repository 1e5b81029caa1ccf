"""Unique codes (keys, SKUs, e-mails) on save: a duplicate is a 409 Conflict
naming the field — whether it is seen before saving or lost in a race to the
database's unique index. Every model with a key saves through here."""

from django.db import IntegrityError, models, transaction

from clientbase.core.errors import Conflict


def _duplicate(obj: models.Model, field: str) -> Conflict:
    label = obj._meta.verbose_name
    article = "An" if label[:1].lower() in "aeiou" else "A"
    field_label = obj._meta.get_field(field).verbose_name
    return Conflict.on(field, f"{article} {label} with {field_label} '{getattr(obj, field)}' already exists.",
                       code=f"duplicate_{field}")


def check_unique(obj: models.Model, *fields: str) -> None:
    """409 on the first of `fields` whose (non-empty) value another row of
    `obj`'s model already has. Values are compared as stored: save()
    normalises e-mails to lower case, so equality is enough."""
    others = type(obj)._default_manager.exclude(pk=obj.pk)
    for field in fields:
        value = getattr(obj, field)
        if value and others.filter(**{field: value}).exists():
            raise _duplicate(obj, field)


def save_unique(obj: models.Model, *fields: str, **save_kwargs) -> None:
    """Save `obj`; a concurrent request that took one of `fields`' values
    first makes this one a 409, the same answer as if it had come second."""
    try:
        with transaction.atomic():
            obj.save(**save_kwargs)
    except IntegrityError as exc:
        check_unique(obj, *fields)  # names the field the other request took
        if len(fields) == 1:
            raise _duplicate(obj, fields[0]) from exc
        raise
