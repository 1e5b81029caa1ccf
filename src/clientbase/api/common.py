"""Helpers every router uses: permissions, id-or-key lookups, ETags, pages
(cursors: clientbase.core.pagination)."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Iterable
from uuid import UUID

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Field, Schema
from pydantic import (
    AfterValidator, BaseModel, BeforeValidator, ConfigDict, PlainSerializer, StringConstraints, WithJsonSchema,
)

from clientbase.core.errors import Invalid, NotFound
from clientbase.core.models import KEY_MAX_LENGTH, KEY_PATTERN, looks_like_uuid, validate_key
from clientbase.core.permissions import require


def _valid_key(value: str) -> str:
    try:
        validate_key(value)
    except ValidationError as exc:
        raise ValueError(exc.messages[0]) from exc
    return value


# A `key` in a request body: the model's rules (pattern, length, never a UUID)
# checked at the edge, so that a bad key is a 422 on `key` and never reaches
# the database.
KeyStr = Annotated[str, StringConstraints(max_length=KEY_MAX_LENGTH, pattern=KEY_PATTERN),
                   AfterValidator(_valid_key)]


# --- how the schema names objects ---------------------------------------------
#
# Wherever the API takes an object (a path's `ident`, a body's `parent`,
# `organizations`, `market`...), it takes what its answers give out, the id (a
# UUID), as well as the key. The schema says so with a union, so that a
# generated client types these `UUID | str` and passes on the id it was given.
# The value stays a string here: by_id_or_key and resolve_refs tell the two apart.

UUID_EXAMPLE = "3f2b8c1e-0a4d-4c55-9b1e-2d6f7a8b9c0d"
_UUID_SCHEMA = {"type": "string", "format": "uuid"}

IdOrKey = Annotated[str, WithJsonSchema({
    "anyOf": [_UUID_SCHEMA, {"type": "string", "pattern": KEY_PATTERN, "maxLength": KEY_MAX_LENGTH}],
    "description": "An id (a UUID) or a key (a variant's key is its SKU).",
    "examples": [UUID_EXAMPLE, "EU-MGMT"],
})]

# Objects without a key: grants, tokens, price rows. `Id` leaves the value a
# string (anything else names nothing: 404); `UUIDId` parses it (422).
_ID_SCHEMA = {**_UUID_SCHEMA, "description": "An id (a UUID).", "examples": [UUID_EXAMPLE]}
Id = Annotated[str, WithJsonSchema(_ID_SCHEMA)]
UUIDId = Annotated[UUID, WithJsonSchema(_ID_SCHEMA)]

# Accounts have no key: their e-mail address plays its part.
AccountIdOrEmail = Annotated[str, WithJsonSchema({
    "anyOf": [_UUID_SCHEMA, {"type": "string", "maxLength": 254}],
    "description": "An account's id (a UUID) or its e-mail address (any case).",
    "examples": [UUID_EXAMPLE, "anna@example.com"],
})]
AccountIdent = Annotated[str, WithJsonSchema({
    "anyOf": [_UUID_SCHEMA, {"type": "string", "maxLength": 254}],
    "description": "An account's id (a UUID), its e-mail address (any case), or `me` for your own.",
    "examples": [UUID_EXAMPLE, "anna@example.com", "me"],
})]

# Roles are Django groups: an integer id, or the name. A JSON number is the id.
RoleIdOrName = Annotated[str, BeforeValidator(
    lambda v: str(v) if isinstance(v, int) and not isinstance(v, bool) else v,
), WithJsonSchema({
    "anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "maxLength": 150}],
    "description": "A role's id (an integer) or its name.",
    "examples": [3, "CustomerServiceRepresentatives"],
})]


# --- decimals -------------------------------------------------------------------
#
# Decimals travel as strings, never as JSON numbers (a float cannot hold 0.10
# exactly), each kind in one format. Answers use Money and Quantity; request
# fields use MoneyIn and QuantityIn, which stay Decimals in the view (and still
# read a JSON number).

def _money_text(value: Decimal) -> str:
    return f"{value:f}"


def _plain_decimal(value: Decimal) -> str:
    # normalize() drops trailing zeros ("10.00" -> 1E+1); "f" writes it out ("10").
    return f"{value.normalize():f}"


_MONEY_SCHEMA = {
    "type": "string",
    "pattern": r"^\d+(\.\d+)?$",
    "description": "An amount as a decimal string, with its currency's decimals: "
                   "\"12.50\" (EUR), \"1200\" (JPY), \"1.250\" (KWD).",
    "examples": ["12.50", "1200"],
}

# An amount of money (a unit price, a line total, a total): a string with
# exactly its currency's decimals. Quantize it (core.currencies.quantize)
# before it gets here; this only writes it out without an exponent.
Money = Annotated[Decimal, PlainSerializer(_money_text, return_type=str), WithJsonSchema(_MONEY_SCHEMA)]
MoneyIn = Annotated[Decimal, WithJsonSchema({
    **_MONEY_SCHEMA,
    "description": "An amount as a decimal string, with at most its currency's decimals: "
                   "\"12.5\" or \"12.50\" (EUR), \"1200\" (JPY).",
})]

# A quantity (a minimum quantity, a quantity asked for): a plain decimal
# string without trailing zeros, "10" and "2.5".
Quantity = Annotated[Decimal, PlainSerializer(_plain_decimal, return_type=str), WithJsonSchema({
    "type": "string",
    "pattern": r"^\d+(\.\d*[1-9])?$",
    "description": "A quantity as a plain decimal string without trailing zeros: \"10\", \"2.5\".",
    "examples": ["1", "2.5"],
})]
QuantityIn = Annotated[Decimal, WithJsonSchema({
    "type": "string",
    "pattern": r"^\d+(\.\d+)?$",
    "description": "A quantity as a decimal string, e.g. \"10\" or \"2.5\".",
    "examples": ["1", "2.5"],
})]


# --- moments -------------------------------------------------------------------
#
# A moment in an answer (created_at, valid_from...) is written as Django's JSON
# encoder writes it, and as the API always has: ISO 8601 to the millisecond,
# `Z` for UTC ("2026-12-02T18:57:03.493Z"). pydantic's own JSON would give
# microseconds and `+00:00`-less `Z` ("...03.493123Z"); answers written by
# pydantic-core (api.rendering) need this type for every datetime, and
# api.rendering leaves an answer with a bare datetime to ninja's encoder.
# Only JSON: model_dump keeps the datetime (ninja's encoder writes it the same).
Moment = Annotated[datetime, PlainSerializer(DjangoJSONEncoder().default, when_used="json")]


def require_perm(request: HttpRequest, *perms: str) -> None:
    """403 unless the caller holds every permission named (app_label.codename)."""
    require(request.user, *perms)


def by_id_or_key(queryset: QuerySet, ident: str | UUID, *, key_field: str = "key",
                 label: str | None = None) -> Model:
    """The object whose id or key is `ident`, from an already-scoped queryset.

    Raises NotFound (404) when there is none: an object the caller may not see
    is indistinguishable from one that does not exist.
    """
    obj = by_id_or_key_query(queryset, ident, key_field=key_field).first()
    if obj is None:
        raise not_found(queryset, ident, label=label)
    return obj


def by_id_or_key_query(queryset: QuerySet, ident: str | UUID, *, key_field: str = "key") -> QuerySet:
    """`queryset` narrowed to the object whose id or key is `ident` (by_id_or_key's lookup)."""
    return queryset.filter(**id_or_key_lookup(ident, key_field=key_field))


def id_or_key_lookup(ident: str | UUID, *, key_field: str = "key") -> dict[str, str]:
    """by_id_or_key's lookup for `ident`: {"pk": ident} for an id, else {key_field: ident}."""
    ident = str(ident).strip()
    return {"pk": ident} if looks_like_uuid(ident) else {key_field: ident}


def not_found(queryset: QuerySet, ident: str | UUID, *, label: str | None = None) -> NotFound:
    """by_id_or_key's 404 for `ident` in `queryset`."""
    label = label or queryset.model._meta.verbose_name
    return NotFound(detail=f"No {label} '{str(ident).strip()}'.", code="not_found")


def resolve_refs(queryset: QuerySet, idents: Iterable[str | UUID], field: str, *,
                 key_field: str = "key") -> list[Model]:
    """Objects for a list of ids or keys, in one query; 422 naming `field` for
    any that does not exist (or is not visible)."""
    idents = [_normalize(i) for i in idents]
    ids = [i for i in idents if looks_like_uuid(i)]
    keys = [i for i in idents if not looks_like_uuid(i)]
    found = list(queryset.filter(Q(pk__in=ids) | Q(**{f"{key_field}__in": keys})))
    known = {str(o.pk) for o in found} | {getattr(o, key_field) for o in found}
    missing = [i for i in idents if i not in known]
    if missing:
        raise unknown_refs(queryset, missing, field)
    return found


def unknown_refs(queryset: QuerySet, idents: Iterable[str | UUID], field: str) -> Invalid:
    """resolve_refs' 422 naming `field` for ids or keys that do not exist (or are not visible)."""
    label = queryset.model._meta.verbose_name
    missing = ", ".join(repr(_normalize(i)) for i in idents)
    return Invalid.on(field, f"No {label} {missing}.", code="unknown_reference")


def _normalize(ident: str | UUID) -> str:
    ident = str(ident).strip()
    return str(UUID(ident)) if looks_like_uuid(ident) else ident


def resolve_ref(queryset: QuerySet, ident: str | UUID | None, field: str, *,
                key_field: str = "key") -> Model | None:
    if ident is None:
        return None
    return resolve_refs(queryset, [ident], field, key_field=key_field)[0]


def if_match(request: HttpRequest) -> set[int] | None:
    """The versions an If-Match header accepts, for the service's version
    check; None without the header or with `*`. A tag that is no version of
    ours (`"abc"`) accepts none, so the write is refused (412)."""
    header = request.headers.get("If-Match")
    if not header:
        return None
    tags = [t.strip().removeprefix("W/").strip('"') for t in header.split(",")]
    if "*" in tags:
        return None
    return {int(t) for t in tags if t.isascii() and t.isdigit() and len(t) < 10}


def set_etag(response: HttpResponse, obj: Model) -> None:
    response["ETag"] = obj.etag


class Shaped(BaseModel):
    """An answer's schema that takes an already-shaped dict as it is.

    ninja validates an answer through a getter that asks the object for each
    field in Python (a `resolve_<field>` method, else the attribute); for a
    list of 50 prices that is ~850 Python calls, a third of a request. A
    Shaped schema is a plain pydantic model: no Python runs while it is
    validated. A dict goes straight to pydantic, which validates its keys in
    Rust: the schema's `shape` classmethod (the one place that says how an
    object becomes this answer) builds that dict, and the answer's JSON is
    the same to the byte. Anything else (a model instance) is read attribute
    by attribute, in Rust too (`from_attributes`): a field that is not a
    plain attribute (a relation's manager, a method, a `resolve_<field>`)
    belongs in `shape`, and a Shaped schema with a resolver is refused."""

    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if resolvers := sorted(name for name in dir(cls) if name.startswith("resolve_")):
            raise TypeError(f"{cls.__name__}: a Shaped schema has no resolvers ({', '.join(resolvers)}); "
                            "build the field in its shape().")

    @classmethod
    def shape(cls, obj) -> dict:
        """The answer for `obj`: each field is its attribute of that name.
        A schema with computed fields overrides this."""
        return {name: getattr(obj, name) for name in cls.model_fields}


class _NextCursor(BaseModel):
    next_cursor: str | None = None


# A page of a list: its items (a subclass's `items`) and the cursor of the next.
# (Comments, not docstrings: a docstring would become the schema's description.)
class Page(Schema, _NextCursor):
    pass


# A Page of Shaped items, itself Shaped (its view answers a dict).
class ShapedPage(Shaped, _NextCursor):
    pass


# The query of a plain list (markets, products, variants): a prefix search, and the page.
class ListParams(Schema):
    q: str | None = Field(None, max_length=200, description="Prefix of the key or name.")
    limit: int = Field(50, ge=1, le=500)
    cursor: str | None = Field(None, max_length=2000)
