"""Answers written by pydantic-core (api.rendering): the same JSON as ninja's
encoder wrote, formats pinned, ninja's copied method pinned. (Each answer
the API tests render is compared with ninja's: tests/api/conftest.py.)"""

import hashlib
import inspect
import json
from datetime import datetime, timedelta, timezone as dt_timezone
from decimal import Decimal
from enum import Enum
from typing import Any

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import TextChoices
from ninja.operation import AsyncOperation, Operation
from pydantic import BaseModel, TypeAdapter

from clientbase.api import rendering
from clientbase.api.common import Moment, Money, Quantity, Shaped
from clientbase.api.main import api

# RenderedOperation._result_to_response is ninja's with its last steps
# replaced, and rendering.install relies on clone() keeping an operation's
# class. When ninja changes either, read the new code, carry the change
# over to api/rendering.py, and record the new digests here.
NINJA_SOURCES = {
    "_result_to_response": "6ca7ef1c987a1af9d850279ecb943312f25e0c545947d6e945b94bcb87a60fad",
    "clone": "80026bb2b80faa0e8b7153d58db2bfb487cb00b51ef583de3a1e975ca86e85d2",
}

# Answers ninja still writes: a value typed Any (its type shows only at run
# time), or a schema below the api that cannot use Moment (a domain's own).
WRITTEN_BY_NINJA = {
    "contact_personal_data",  # dict[str, Any]
    "erase_contact",  # transfer.gdpr.Erasure, a dataclass with a bare datetime
    "list_visitor_groups", "create_visitor_group", "get_visitor_group",
    "update_visitor_group",  # criteria's params: dict[str, Any]
}


@pytest.mark.parametrize("name", sorted(NINJA_SOURCES))
def test_the_ninja_code_rendering_copies_or_relies_on_is_unchanged(name):
    source = inspect.getsource(getattr(Operation, name))
    assert hashlib.sha256(source.encode()).hexdigest() == NINJA_SOURCES[name], (
        f"ninja's Operation.{name} changed: check api/rendering.py against it, then update NINJA_SOURCES.")


def bound_operations():
    for router in api._get_bound_routers():
        for path_view in router.path_operations.values():
            yield from path_view.operations


def test_every_sync_operation_is_rendered_and_only_the_known_ones_by_ninja():
    by_ninja = set()
    for operation in bound_operations():
        if isinstance(operation, AsyncOperation) or operation.stream_format is not None:
            continue
        assert type(operation) is rendering.RenderedOperation, operation.view_func.__name__
        for model in operation.response_models.values():
            if isinstance(model, type) and not rendering.written_alike(model.__pydantic_core_schema__):
                by_ninja.add(operation.view_func.__name__)
    # A new answer with a bare datetime shows here: make it common.Moment.
    assert by_ninja == WRITTEN_BY_NINJA


def test_what_ninja_would_write_otherwise_is_left_to_ninja():
    class Colour(Enum):
        RED = "red"

    class Kind(TextChoices):
        A = "a", "A"

    def alike(annotation) -> bool:
        return rendering.written_alike(TypeAdapter(annotation).core_schema)

    assert not alike(datetime) and not alike(datetime | None) and not alike(list[datetime])
    assert not alike(timedelta) and not alike(dict[str, Any]) and not alike(Any) and not alike(Colour)
    assert alike(Moment) and alike(Moment | None) and alike(Kind) and alike(Money) and alike(Decimal)


MOMENTS = [
    datetime(2026, 12, 2, 18, 57, 3, 493123, tzinfo=dt_timezone.utc),
    datetime(2026, 12, 2, 18, 57, 3, tzinfo=dt_timezone.utc),
    datetime(2026, 12, 2, 18, 57, 3, 999999, tzinfo=dt_timezone(timedelta(hours=1))),
    datetime(2026, 12, 2, 18, 57, 3, 1000),
]


def test_a_moment_is_written_as_djangos_encoder_writes_it():
    class Answer(Shaped):
        at: Moment
        maybe: Moment | None = None

    written = [json.loads(Answer(at=m, maybe=m).model_dump_json()) for m in MOMENTS]
    assert [w["at"] for w in written] == [w["maybe"] for w in written] == [
        "2026-12-02T18:57:03.493Z", "2026-12-02T18:57:03Z", "2026-12-02T18:57:03.999+01:00",
        "2026-12-02T18:57:03.001"]
    assert [w["at"] for w in written] == [DjangoJSONEncoder().default(m) for m in MOMENTS]
    # model_dump keeps the datetime, for ninja's encoder to write the same way.
    assert Answer(at=MOMENTS[0]).model_dump()["at"] == MOMENTS[0]


def test_decimals_stay_strings_in_their_formats():
    class Answer(BaseModel):
        price: Money
        quantity: Quantity
        plain: Decimal

    answer = Answer(price=Decimal("10.00"), quantity=Decimal("10.00"), plain=Decimal("12.50"))
    assert answer.__pydantic_serializer__.to_json(answer) == b'{"price":"10.00","quantity":"10","plain":"12.50"}'


def test_a_shaped_schema_reads_a_models_attributes_and_takes_no_resolver():
    class Row:
        sku = "SKU-1"
        unit_price = Decimal("1.50")

    class Line(Shaped):
        sku: str
        unit_price: Money

    assert Line.model_validate(Row()).model_dump(mode="json") == {"sku": "SKU-1", "unit_price": "1.50"}
    with pytest.raises(TypeError, match="resolve_sku"):
        class Resolving(Shaped):
            sku: str

            @staticmethod
            def resolve_sku(obj):
                return obj.key


@pytest.mark.django_db
def test_an_answer_is_written_compact_as_utf8_and_checked_against_ninja(admin_api, rendered_as_ninja_would):
    admin_api.patch("/organizations/EU-HQ", {"name": "Zürich Übersee"})
    response = admin_api.get("/organizations/EU-HQ")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response.json()["name"] == "Zürich Übersee"
    assert "Zürich".encode() in response.content and b'"name":' in response.content
    assert [name for name, _ in rendered_as_ninja_would] == ["update_organization", "get_organization"]
    created = response.json()["created_at"]
    assert created.endswith("Z") and len(created) in (20, 24), created


@pytest.mark.django_db
def test_problems_are_written_as_before(admin_api, rendered_as_ninja_would):
    response = admin_api.get("/organizations/NOPE")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.content.startswith(b'{"type": "urn:clientbase:problem:')  # json.dumps, as ever
    assert rendered_as_ninja_would == []


def test_what_only_pythons_encoder_can_write_is_left_to_it(rf):
    class Answer(BaseModel):
        sku: str

    operation = rendering.RenderedOperation("/x", ["GET"], lambda request: None, response=Answer)
    operation.api = api
    request = rf.get("/x")
    response = operation._result_to_response(request, {"sku": "a\ud800b"}, api.create_temporal_response(request))
    assert response.status_code == 200 and response.content == b'{"sku": "a\\ud800b"}'
    response = operation._result_to_response(request, {"sku": "Zürich"}, api.create_temporal_response(request))
    assert response.content == '{"sku":"Zürich"}'.encode()
