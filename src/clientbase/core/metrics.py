"""Prometheus metrics, collected only when settings.METRICS is on (off by
default: then each hook below is a no-op and prometheus_client is never
imported).

The metrics are made on first use, not at import: `clientbase serve` points
PROMETHEUS_MULTIPROC_DIR at a directory before its workers start, and
prometheus_client picks its storage (memory, or files that the workers share
so that /metrics adds them up) when it is first imported."""

import threading
import time
from functools import wraps
from types import SimpleNamespace

from django.conf import settings

# Latency buckets (seconds) for HTTP requests: from a cached lookup to a large export.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
# The resolver answers in milliseconds; finer buckets at the bottom.
RESOLVER_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1)

_made: SimpleNamespace | None = None
_lock = threading.Lock()


def made() -> SimpleNamespace:
    """The process's metrics, made once (by whichever thread comes first)."""
    global _made
    if _made is None:
        with _lock:
            if _made is None:
                from prometheus_client import Counter, Histogram

                _made = SimpleNamespace(
                    requests=Counter("clientbase_http_requests", "HTTP requests answered, by route and status.",
                                     ["method", "route", "status"]),
                    latency=Histogram("clientbase_http_request_duration_seconds",
                                      "Time to answer an HTTP request (to the response's start), by route.",
                                      ["method", "route"], buckets=REQUEST_BUCKETS),
                    resolver=Histogram("clientbase_price_resolve_seconds",
                                       "Time the price resolver takes for one call (any number of SKUs).",
                                       buckets=RESOLVER_BUCKETS),
                )
    return _made


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request and its latency (nothing when metrics are off)."""
    if not settings.METRICS:
        return
    found = made()
    found.requests.labels(method, route, str(status)).inc()
    found.latency.labels(method, route).observe(seconds)


def timed_resolver(function):
    """Decorate the price resolver's entry point: each call's duration goes
    to clientbase_price_resolve_seconds (when metrics are on)."""

    @wraps(function)
    def wrapper(*args, **kwargs):
        if not settings.METRICS:
            return function(*args, **kwargs)
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            made().resolver.observe(time.perf_counter() - started)

    return wrapper
