"""Rows read by hand-written SQL, turned into the values the ORM would have
made of them.

A path run on every request (customers.services.principals) writes its
statements out once rather than have Django build and compile a query each
time, which costs more than a small query itself. What comes back must
still be converted as Django converts it: SQLite answers text for a UUID or
a moment, and 0 or 1 for a boolean.
"""

from collections.abc import Callable, Sequence
from functools import lru_cache

from django.db import connections
from django.db.models import Field, UUIDField

# Every id is a UUIDField (core.models.BaseModel, the accounts too): how one
# is bound is the field's rule, whichever model it is the id of.
_ID = UUIDField()


def bound_id(value, connection):
    """An id (a UUID, or its text) as the database binds it: a UUID on
    PostgreSQL, 32 hex digits on SQLite; None stays None."""
    return _ID.get_db_prep_value(value, connection)


def converter(fields: Sequence[Field], connection) -> Callable[[Sequence], list]:
    """A function turning a row of the columns of `fields`, in that order,
    into the values Django's own loading gives: the database's converters,
    then each field's (`Model.from_db` takes them as they are)."""
    steps = []
    for index, f in enumerate(fields):
        col = f.get_col(f.model._meta.db_table)
        for convert in connection.ops.get_db_converters(col) + f.get_db_converters(connection):
            steps.append((index, convert, col))
    if not steps:
        return list  # as they are (most columns on PostgreSQL)

    def convert_row(row: Sequence) -> list:
        values = list(row)
        for index, convert, col in steps:
            values[index] = convert(values[index], col, connection)
        return values

    return convert_row


def model_converter(model, names: Sequence[str], connection) -> Callable[[Sequence], list]:
    """`converter` for the fields of `model` named `names` (names or
    attribute names), built once per model, names and connection alias:
    building one cost more than converting the row it is for. (The steps
    are the same for any connection of an alias: same database, same kind.)"""
    return _model_converter(model, tuple(names), connection.alias)


@lru_cache(maxsize=256)
def _model_converter(model, names: tuple[str, ...], alias: str) -> Callable[[Sequence], list]:
    return converter([model._meta.get_field(name) for name in names], connections[alias])


def value_converter(field: Field, connection) -> Callable:
    """A function turning one database value of `field`'s column into what
    Django's own loading gives (converter's, for a single column)."""
    col = field.get_col(field.model._meta.db_table)
    steps = connection.ops.get_db_converters(col) + field.get_db_converters(connection)

    def convert_value(value):
        for convert in steps:
            value = convert(value, col, connection)
        return value

    return convert_value


def fetch(connection, sql: str, params: Sequence) -> list[tuple]:
    """Every row of one statement run on `connection`."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
