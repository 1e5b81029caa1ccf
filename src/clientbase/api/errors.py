"""Every error the API returns is an RFC 9457 problem (application/problem+json)."""

import json
import logging
from functools import wraps
from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, TooManyFieldsSent, ValidationError
from django.db import DataError
from django.http import Http404, HttpRequest, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt
from ninja.errors import AuthenticationError, AuthorizationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from clientbase.core.errors import DomainError, FieldError, TooManyRequests

log = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "urn:clientbase:problem:"


PROBLEM_SCHEMA = {
    "type": "object",
    "title": "Problem",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "For validation: one entry per field at fault.",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "code": {"type": "string"},
                },
            },
        },
    },
}


def problem(status: int, detail: str, *, code: str | None = None, title: str | None = None,
            errors: list[FieldError] | None = None) -> JsonResponse:
    body = {
        "type": PROBLEM_TYPE_BASE + (code or HTTPStatus(status).phrase.lower().replace(" ", "_")),
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = [{"field": e.field, "message": e.message, "code": e.code} for e in errors]
    return JsonResponse(body, status=status, content_type=PROBLEM_CONTENT_TYPE)


@csrf_exempt  # an unknown URL is a 404 whatever the method; there is nothing to protect
def not_found_view(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    """Every URL under /api/v1/ that names no operation."""
    return problem(404, f"No API operation at {request.path}; see /api/v1/docs.", code="no_such_url")


def too_large() -> JsonResponse:
    """The problem for a body over DATA_UPLOAD_MAX_MEMORY_SIZE (or with more
    fields than DATA_UPLOAD_MAX_NUMBER_FIELDS); Django's own answer is an HTML
    400 page."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return problem(413, f"The request body is larger than this API accepts ({limit} bytes).",
                   code="payload_too_large", title="Content Too Large")


def _nul_in(value, where: str) -> str | None:
    """The dotted name of the first string inside `value` holding a NUL, or None."""
    if isinstance(value, str):
        return where if "\x00" in value else None
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        name = str(key) if not where else f"{where}.{key}"
        if isinstance(key, str) and "\x00" in key:
            return name
        if found := _nul_in(item, name):
            return found
    return None


def _field_with_nul(request: HttpRequest) -> str | None:
    """The input field (query parameter or body field) that holds a NUL
    character, or None. PostgreSQL cannot store NUL in text, so such input
    must be refused before it reaches a query."""
    for key, values in request.GET.lists():
        if "\x00" in key or any("\x00" in v for v in values):
            return key.replace("\x00", "")
    # Only JSON bodies: ninja reads them whole anyway, whereas touching the
    # body of a large multipart upload would load it into memory.
    is_json = request.content_type == "application/json" or request.content_type.endswith("+json")
    body = request.body if is_json and request.method in ("POST", "PUT", "PATCH", "DELETE") else b""
    if b"\x00" in body or b"\\u0000" in body:
        try:
            return _nul_in(json.loads(body), "") or "body"
        except ValueError:
            return "body"
    return None


def as_problem(view):
    """Wrap a view of the API so that the responses ninja builds itself, outside
    every exception handler (405 for a method the path does not offer), are
    problems too; and refuse a NUL character in any input (on PostgreSQL it
    would otherwise be a database error): 404 in a path, 422 naming the field
    in a query or body."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        if _nul_in(kwargs, ""):
            # An id or key with a NUL names nothing, like any unknown id.
            return problem(404, "Nothing has this id or key.", code="not_found")
        try:
            # Read the body here, once (Django caches it), so that one over
            # the limit is refused before the view, as a problem. Not a
            # multipart one: its files stream to disk; a form part over the
            # limit raises in the view, where the handlers below answer.
            field = _field_with_nul(request)
            if (request.method in ("POST", "PUT", "PATCH", "DELETE")
                    and not request.content_type.startswith("multipart/")):
                request.body  # noqa: B018
        except (RequestDataTooBig, TooManyFieldsSent):
            return too_large()
        if field:
            return problem(422, f"Invalid input: {field}.", code="validation", title="Validation failed",
                           errors=[FieldError(field, "Text may not contain NUL characters.", "nul_character")])
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and not response.get("Content-Type", "").startswith(
                PROBLEM_CONTENT_TYPE):
            allowed = response.get("Allow", "")
            response = problem(405, f"{request.method} is not allowed here; use {allowed}.",
                               code="method_not_allowed")
            response["Allow"] = allowed
        return response

    return wrapped


def _field_name(loc) -> str:
    # pydantic locations look like ("body", "payload", "email") or ("query", "limit");
    # callers know the field by its own name, so drop the transport parts.
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie", "form")]
    if parts and parts[0] in ("payload", "data", "filters", "params"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def _message(err: dict) -> str:
    message = err.get("msg", "Invalid value.")
    if err.get("type") == "extra_forbidden":
        return "Unknown field."
    if err.get("type") == "json_invalid":
        return "The request body is not valid JSON."
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    return message


def install(api) -> None:
    """Register the problem handlers on a NinjaAPI."""

    @api.exception_handler(DomainError)
    def domain_error(request: HttpRequest, exc: DomainError):
        response = problem(exc.status, exc.detail, code=exc.code, title=exc.title, errors=exc.errors)
        if isinstance(exc, TooManyRequests):
            response["Retry-After"] = str(exc.retry_after)
        return response

    @api.exception_handler(NinjaValidationError)
    def validation_error(request: HttpRequest, exc: NinjaValidationError):
        errors = [FieldError(_field_name(e.get("loc", ())), _message(e), e.get("type", "invalid"))
                  for e in exc.errors]
        if any(e.code == "json_invalid" for e in errors):
            return problem(400, "The request body is not valid JSON.", code="invalid_json",
                           title="Bad request", errors=errors)
        fields = ", ".join(sorted({e.field for e in errors}))
        return problem(422, f"Invalid input: {fields}.", code="validation", title="Validation failed",
                       errors=errors)

    @api.exception_handler(ValidationError)
    def django_validation_error(request: HttpRequest, exc: ValidationError):
        errors = []
        if hasattr(exc, "error_dict"):
            for name, errs in exc.error_dict.items():
                for e in errs:
                    errors.append(FieldError(name if name != "__all__" else "body",
                                             " ".join(e.messages), e.code or "invalid"))
        else:
            errors = [FieldError("body", m) for m in exc.messages]
        return problem(422, "; ".join(f"{e.field}: {e.message}" for e in errors),
                       code="validation", title="Validation failed", errors=errors)

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError):
        response = problem(401, "Log in, or send 'Authorization: Bearer <token>'.",
                           code="unauthenticated", title="Unauthorized")
        response["WWW-Authenticate"] = 'Bearer realm="clientbase"'
        return response

    @api.exception_handler(AuthorizationError)
    def forbidden(request: HttpRequest, exc: AuthorizationError):
        return problem(403, str(exc) or "You may not do this.", code="forbidden")

    @api.exception_handler(PermissionDenied)
    def permission_denied(request: HttpRequest, exc: PermissionDenied):
        return problem(403, str(exc) or "You may not do this.", code="forbidden")

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404):
        return problem(404, str(exc) or "Not found.", code="not_found")

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError):
        return problem(exc.status_code, str(exc))

    @api.exception_handler(RequestDataTooBig)
    def request_too_big(request: HttpRequest, exc: RequestDataTooBig):
        return too_large()

    @api.exception_handler(TooManyFieldsSent)
    def too_many_fields(request: HttpRequest, exc: TooManyFieldsSent):
        return too_large()

    @api.exception_handler(MultiPartParserError)
    def broken_multipart(request: HttpRequest, exc: MultiPartParserError):
        # A multipart Content-Type whose body cannot be parsed (no boundary...):
        # the CSRF check reads request.POST for a form's token, and it raised.
        return problem(400, "The request body does not match its multipart Content-Type; send JSON.",
                       code="invalid_body", title="Bad request")

    @api.exception_handler(DataError)
    def data_error(request: HttpRequest, exc: DataError):
        # A value the database cannot hold (a number out of range...): bad
        # input that slipped past the schema. Logged, because the schema
        # should have caught it and named the field.
        log.warning("Database refused a value in %s %s: %s", request.method, request.path, exc)
        return problem(422, "A value is out of the range this field accepts.", code="validation",
                       title="Validation failed",
                       errors=[FieldError("body", "A value is out of range.", "out_of_range")])

    @api.exception_handler(Exception)
    def server_error(request: HttpRequest, exc: Exception):
        log.exception("Unhandled error in %s %s", request.method, request.path)
        return problem(500, "Something went wrong on our side; it has been logged.",
                       code="server_error")
