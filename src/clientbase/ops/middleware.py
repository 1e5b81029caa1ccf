"""One JSON log line per request, its request id, and its metrics."""

import logging
import re
import time
import uuid
import weakref

from django.contrib.messages import middleware as messages_middleware
from django.contrib.messages.storage import default_storage
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject, empty

from clientbase.core import logs, metrics

REQUEST_ID_HEADER = "X-Request-ID"
# An id a proxy or client sent is kept only if it is short and plain: it goes
# into every log line of the request and back into a header.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Logged paths are cut here: the path is the client's to make up.
MAX_LOGGED_PATH = 512
# Metrics label every other method "OTHER": the label's values stay few.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

log = logging.getLogger("clientbase.requests")


def request_id_of(request: HttpRequest) -> str:
    """The id this request goes by: the X-Request-ID it came with when that
    is sane (a load balancer's or the caller's, so that their logs and ours
    meet), else a new one."""
    sent = request.META.get("HTTP_X_REQUEST_ID", "")
    return sent if _SANE_REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex


def _account_id(request: HttpRequest) -> str | None:
    """The authenticated account's id, if the request got that far; the
    session's user is not looked up just for the log (a query each)."""
    user = getattr(request, "user", None)
    if isinstance(user, SimpleLazyObject):
        user = None if user._wrapped is empty else user._wrapped
    return str(user.pk) if getattr(user, "is_authenticated", False) else None


def _route(request: HttpRequest) -> str:
    """The URL pattern that answered (`api/v1/contacts/<contact_id>`), not the
    path: metrics stay few whatever ids are asked for."""
    match = getattr(request, "resolver_match", None)
    return (match.route or match.view_name) if match is not None else "unmatched"


class RequestMiddleware:
    """Outermost: gives the request its id (in the log context, and back in
    the response's X-Request-ID, errors included), then logs one line and
    counts the request once the response is ready."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request.request_id = request_id = request_id_of(request)
        token = logs.request_id.set(request_id)
        try:
            # Inner middleware and views never raise past here: Django turns
            # an exception into the 500 answer (and logs it, with this id).
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            seconds = time.perf_counter() - started
            method = request.method if request.method in _METHODS else "OTHER"
            route = _route(request)
            if log.isEnabledFor(logging.INFO):
                path = request.path[:MAX_LOGGED_PATH]
                log.info("%s %s %s", method, path, response.status_code, extra={
                    "method": method, "path": path, "route": route, "status": response.status_code,
                    "duration_ms": round(seconds * 1000, 2), "account_id": _account_id(request)})
            metrics.observe_request(method, route, response.status_code, seconds)
            return response
        finally:
            logs.request_id.reset(token)


class MessageMiddleware(messages_middleware.MessageMiddleware):
    """Django's, whose message storage (on the request) holds the request
    through a weak proxy: Django's holds it strongly, a reference cycle that
    leaves every request (its resolver match, session, account) to the
    cyclic garbage collector instead of being freed with the response. The
    storage is only reached through the request (or the template context
    of the response it was rendered for)."""

    def process_request(self, request):
        request._messages = default_storage(weakref.proxy(request))
