"""Log lines as JSON, one object a line, each carrying the id of the request
it was written during (settings.LOGGING uses JsonFormatter for stderr).

The request id lives in a context variable that the request middleware
(clientbase.ops.middleware) sets for the time of a request (and on the
request, as `request.request_id`), so that every
line logged meanwhile, by clientbase or by Django ("Internal Server Error"),
names it without passing it around."""

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime

# The id of the request being answered in this thread; None outside one.
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

# What every LogRecord has; anything else on a record came as `extra=`.
_RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message", "asctime", "taskName"}
_PLAIN = (str, int, float, bool, type(None))


class JsonFormatter(logging.Formatter):
    """One JSON object a record: time (UTC), level, logger, message, the
    request id when there is one, each plain `extra=` field, and the
    traceback of an exception. Extras that are not plain values (Django
    passes the request object itself) are left out: their text would carry
    the query string, cookies and the like."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        # Django logs a 4xx/5xx answer once the middleware is done with it,
        # outside the context, but with the request (which carries its id).
        if current := request_id.get() or getattr(getattr(record, "request", None), "request_id", None):
            entry["request_id"] = current
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRIBUTES and key not in entry and isinstance(value, _PLAIN):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)
