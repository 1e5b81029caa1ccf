"""What `clientbase serve` adds to its gunicorn settings for operations: the
graceful shutdown (its timeout, and workers that stop listening at once),
and with METRICS on, a metrics directory its workers share."""

import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"


def _child_exit(server, worker) -> None:
    """gunicorn's child_exit hook: a worker that ended no longer counts in
    the gauges that add up live processes."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def _stop_listening_on_sigterm(worker) -> None:
    """gunicorn's post_worker_init hook. On SIGTERM the master closes its
    listening sockets, but each worker holds them open too while it finishes
    its requests, so new connections would still be queued (and reset once it
    exits). Here a worker closes them as soon as it starts stopping, so they
    are refused and a load balancer moves on at once. The closing runs in the
    worker's own loop (threaded workers), never inside the signal handler,
    where it could pull a socket from under an accept."""
    queue = getattr(worker, "method_queue", None)
    if queue is None:
        return  # not the threaded worker: gunicorn's own behaviour
    graceful = worker.handle_exit

    def close_listeners() -> None:
        worker.set_accept_enabled(False)
        for listener in worker.sockets:
            listener.close()

    def handle_exit(sig, frame) -> None:
        graceful(sig, frame)
        queue.defer(close_listeners)

    signal.signal(signal.SIGTERM, handle_exit)


@contextmanager
def server_options() -> Iterator[dict]:
    """gunicorn settings to add, for the time the server runs. With METRICS
    on and no PROMETHEUS_MULTIPROC_DIR given, a fresh temporary directory is
    made for the workers' metric files (before they fork, so each inherits it)
    and removed afterwards; one given by the operator is used as it is (it
    should be emptied before each start)."""
    options = {"graceful_timeout": settings.GRACEFUL_TIMEOUT, "post_worker_init": _stop_listening_on_sigterm}
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
        yield {**options, "child_exit": _child_exit}
    finally:
        if made:
            os.environ.pop(MULTIPROC_DIR, None)
            shutil.rmtree(made, ignore_errors=True)
