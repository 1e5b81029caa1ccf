"""What `clientbase serve` adds to its granian settings for operations: the
graceful shutdown's timeout, and with METRICS on, a metrics directory its
workers share."""

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"


@contextmanager
def server_options() -> Iterator[dict]:
    """granian settings to add, for the time the server runs. With METRICS
    on and no PROMETHEUS_MULTIPROC_DIR given, a fresh temporary directory is
    made for the workers' metric files (before they fork, so each inherits it)
    and removed afterwards; one given by the operator is used as it is (it
    should be emptied before each start)."""
    # On SIGTERM each granian worker stops accepting at once and lets the
    # requests in flight finish; after this long it is killed.
    options = {"workers_kill_timeout": settings.GRACEFUL_TIMEOUT}
    if not settings.METRICS:
        yield options
        return
    made = None
    if not os.environ.get(MULTIPROC_DIR):
        made = tempfile.mkdtemp(prefix="clientbase-metrics-")
        os.environ[MULTIPROC_DIR] = made
    if "prometheus_client.values" in sys.modules:
        # Imported before the directory was known: pick the storage again so
        # that metrics made from now on (in the workers) go to files.
        from prometheus_client import values

        values.ValueClass = values.get_value_class()
    try:
        # The metrics are counters and histograms, which add up the files of
        # every worker, living or gone: nothing to mark when a worker ends.
        yield options
    finally:
        if made:
            os.environ.pop(MULTIPROC_DIR, None)
            shutil.rmtree(made, ignore_errors=True)
