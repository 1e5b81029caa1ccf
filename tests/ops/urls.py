"""Test-only routes in front of clientbase's own (never in production URLs):
a request that takes its time, for the graceful-shutdown test, and a view
that fails, for the 500 answer."""

import os
import time
from pathlib import Path

from django.http import HttpRequest, HttpResponse

from clientbase.urls import urlpatterns as clientbase_urlpatterns
from django.urls import path

SLOW_BODY_BYTES = 256 * 1024


def slow(request: HttpRequest) -> HttpResponse:
    """Marks (in the file SLOW_MARKER names) that it has started, then takes
    `seconds` (default 3) to answer SLOW_BODY_BYTES bytes."""
    if marker := os.environ.get("SLOW_MARKER"):
        Path(marker).write_text(str(os.getpid()))
    time.sleep(float(request.GET.get("seconds", "3")))
    return HttpResponse(b"x" * SLOW_BODY_BYTES, content_type="application/octet-stream")


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("boom at the test's request")


urlpatterns = [path("test-slow", slow), path("test-boom", boom), *clientbase_urlpatterns]
