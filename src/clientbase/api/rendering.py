"""Answers written by pydantic-core straight to JSON bytes.

ninja validates a view's result against the operation's response schema,
dumps it to Python objects (model_dump) and has json.dumps write those with
Django's encoder: two passes over every value, the second in Python. A
RenderedOperation validates the same way and has the schema's own serializer
(Rust) write the bytes in one pass: for a page of 50 prices, a third of the
request.

The JSON is the same as ninja's once parsed (json.loads), not to the byte: it
is compact (no space after `,` and `:`) and keeps non-ASCII characters as
UTF-8 instead of `\\u` escapes; the content type says utf-8 either way.
Values pydantic would write otherwise than Django's encoder are not left to
chance: an answer schema holding a datetime, time or timedelta without its
own serializer (datetimes in answers are common.Moment, Django's format), a
plain Enum, or a value typed Any (whose type only shows at run time) is
written the old way, by ninja (`written_alike`). tests/api/conftest.py checks
every answer the tests render against the old encoder.
"""

import warnings
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from ninja.constants import NOT_SET
from ninja.errors import ConfigError
from ninja.operation import Operation, ResponseObject
from ninja.responses import Status
from pydantic import BaseModel, TypeAdapter
from pydantic_core import PydanticSerializationError

# Types pydantic writes unlike Django's encoder (unless the schema gives them
# a serializer of their own): datetime and time (microseconds, `+00:00`),
# timedelta (ISO 8601), and Any, whose value may be any of those.
_UNLIKE = frozenset({"datetime", "time", "timedelta", "any"})

# response model (ninja's wrapper, or an answer's own class) -> its writer, or
# None when ninja writes it; filled on first use.
_writers: dict[type, Any] = {}


def written_alike(core_schema: Any) -> bool:
    """Whether pydantic-core writes every value of `core_schema` as ninja's
    encoder would (the same JSON once parsed)."""
    if isinstance(core_schema, dict):
        kind = core_schema.get("type")
        kind = kind if isinstance(kind, str) else None  # a field named `type` holds a dict
        if kind in _UNLIKE and "serialization" not in core_schema:
            return False
        # A plain Enum: ninja's encoder writes str(member), pydantic its value.
        if kind == "enum" and core_schema.get("sub_type") not in ("str", "int"):
            return False
        return all(written_alike(value) for key, value in core_schema.items() if key != "serialization")
    if isinstance(core_schema, (list, tuple)):
        return all(written_alike(value) for value in core_schema)
    return True


def _writer_of_field(response_model: type) -> Any:
    """The serializer of the answer field of ninja's response wrapper, or None."""
    try:
        return _writers[response_model]
    except KeyError:
        pass
    writer = None
    if written_alike(response_model.__pydantic_core_schema__):
        annotation = response_model.model_fields["response"].rebuild_annotation()
        writer = TypeAdapter(annotation).serializer
    _writers[response_model] = writer
    return writer


def _writer_of_model(model: type[BaseModel]) -> Any:
    """The serializer of an answer's own class (a model instance returned as
    it is), or None."""
    try:
        return _writers[model]
    except KeyError:
        pass
    writer = model.__pydantic_serializer__ if written_alike(model.__pydantic_core_schema__) else None
    _writers[model] = writer
    return writer


class RenderedOperation(Operation):
    """A sync ninja operation whose answers pydantic-core writes (module doc).

    `_result_to_response` is ninja's (1.7.1) with its last steps replaced;
    tests/api/test_rendering.py pins ninja's source, so that an upgrade that
    changes it fails there rather than here."""

    def _result_to_response(self, request: HttpRequest, result: Any,
                            temporal_response: HttpResponse) -> HttpResponseBase:
        if isinstance(result, HttpResponseBase):
            return result

        status: int = 200
        if len(self.response_models) == 1:
            status = next(iter(self.response_models))
        if isinstance(result, Status):
            status = result.status_code
            result = result.value
        elif isinstance(result, tuple) and len(result) == 2:
            warnings.warn(
                "Returning tuple (status_code, response) is deprecated. "
                "Use Status(status_code, response) instead.",
                DeprecationWarning,
                stacklevel=2,
            )
            status, result = result

        if status in self.response_models:
            response_model = self.response_models[status]
        elif Ellipsis in self.response_models:
            response_model = self.response_models[Ellipsis]
        else:
            raise ConfigError(f"Schema for status {status} is not set in response"
                              f" {self.response_models.keys()}")
        if response_model is NOT_SET or response_model is None:
            return super()._result_to_response(request, Status(status, result), temporal_response)

        context = {"request": request, "response_status": status}
        annotation = response_model.model_fields["response"].annotation
        if isinstance(annotation, type) and isinstance(result, BaseModel) and isinstance(result, annotation):
            # ninja does not validate a model instance of the answer's class again.
            writer = _writer_of_model(type(result))
            answer = result
        else:
            writer = _writer_of_field(response_model)
            if writer is None:
                return super()._result_to_response(request, Status(status, result), temporal_response)
            answer = response_model.model_validate(ResponseObject(result), context=context).response
        if writer is None:
            return super()._result_to_response(request, Status(status, result), temporal_response)

        temporal_response.status_code = status
        try:
            temporal_response.content = self._render(writer, answer, context)
        except PydanticSerializationError:
            # What only Python's encoder writes (a lone surrogate, as `\ud800`): ninja's way.
            dumped = writer.to_python(answer, context=context, **self._dump_options())
            return self.api.create_response(request, dumped, temporal_response=temporal_response)
        return temporal_response

    def _render(self, writer: Any, answer: Any, context: dict) -> bytes:
        return writer.to_json(answer, context=context, **self._dump_options())

    def _dump_options(self) -> dict:
        return {"by_alias": self.by_alias, "exclude_unset": self.exclude_unset,
                "exclude_defaults": self.exclude_defaults, "exclude_none": self.exclude_none}


def install(router) -> None:
    """Make each plain sync operation of `router` (and of the routers below
    it) a RenderedOperation. ninja clones operations by their class when it
    binds a router to an API, so the clones are rendered too."""
    for path_view in router.path_operations.values():
        for operation in path_view.operations:
            if type(operation) is Operation and operation.stream_format is None:
                operation.__class__ = RenderedOperation
    for _prefix, child, _tags in router._routers:
        install(child)
