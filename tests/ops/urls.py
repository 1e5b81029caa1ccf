"""Test-only routes in front of clientbase's own (never in production URLs):
a request that takes its time, for the graceful-shutdown test, a view that
says which worker answered, for the metrics test, and a view that fails,
for the 500 answer."""

import os
import re
import time
from pathlib import Path

from django.http import HttpRequest, HttpResponse

from django.urls import path

from clientbase.urls import urlpatterns as clientbase_urlpatterns

SLOW_BODY_BYTES = 256 * 1024


def slow(request: HttpRequest) -> HttpResponse:
    """Writes `<name>.started` (its process id) in the folder SLOW_DIR names,
    then answers SLOW_BODY_BYTES bytes once `<name>.release` is there (at most
    two minutes later): the test decides how long the request is in flight."""
    name = request.GET.get("name", "")
    if not re.fullmatch(r"[a-z0-9]{1,20}", name):
        return HttpResponse("name: a-z0-9\n", status=400)
    folder = Path(os.environ["SLOW_DIR"])
    # Written aside and renamed: the test, polling for the file, reads it whole.
    partial = folder / f"{name}.started.partial"
    partial.write_text(str(os.getpid()))
    partial.replace(folder / f"{name}.started")
    deadline = time.monotonic() + 120
    while not (folder / f"{name}.release").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return HttpResponse(b"x" * SLOW_BODY_BYTES, content_type="application/octet-stream")


def pid(request: HttpRequest) -> HttpResponse:
    """The id of the worker process that answered."""
    return HttpResponse(str(os.getpid()), content_type="text/plain")


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("boom at the test's request")


urlpatterns = [path("test-slow", slow), path("test-boom", boom), path("test-pid", pid), *clientbase_urlpatterns]
