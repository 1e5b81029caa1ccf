"""`clientbase serve`: migrate, collect static files, optionally load the demo,
then serve with granian (a production WSGI server: HTTP in Rust, the Django
application in a pool of Python threads per worker process; static files
through whitenoise), and, with the database job queue (the default), run the
background-jobs worker beside it as a child process. Never Django's
development server. Why granian rather than gunicorn: docs/scaling.md,
"Every core busy"."""

import os
import socket
import subprocess
import sys
import threading
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import connections
from granian import Granian
from granian.constants import Interfaces
from granian.log import LogLevels

from clientbase.cli import serving
from clientbase.ops.process import settle_for_serving


# How long `serve` waits, as it stops, for the jobs worker to finish its job.
WORKER_STOP_SECONDS = 60
# How long the banner waits for a worker to listen (it is printed anyway then).
READY_SECONDS = 120
# How often a stopping server repeats SIGTERM to the workers still running.
RESIGNAL_SECONDS = 0.5


class GracefulGranian(Granian):
    """granian's server, whose stop also reaches a worker that was still
    starting when SIGTERM came.

    A worker is forked with its parent's signal handlers and sets up its own
    a moment later; a SIGTERM sent to it in between is taken by the inherited
    handler and lost, and the worker would serve on until the kill timeout
    (GRACEFUL_TIMEOUT), dropping whatever it had in flight then. So while the
    workers stop, SIGTERM is repeated to those still alive: one that heard it
    already is only told again (its handler sets an event), one that missed it
    hears it now. granian 2.x's `_stop_workers`, which this wraps, sends the
    first and waits; tests/ops/test_serve.py holds the behaviour."""

    def _stop_workers(self) -> None:
        stopped = threading.Event()

        def repeat() -> None:
            while not stopped.wait(RESIGNAL_SECONDS):
                for worker in list(self.wrks):
                    if worker.is_alive():
                        worker.terminate()  # SIGTERM; nothing once it has ended

        repeater = threading.Thread(target=repeat, name="resignal-workers", daemon=True)
        repeater.start()
        try:
            super()._stop_workers()
        finally:
            stopped.set()
            repeater.join()


class ClientbaseServer:
    """Granian run in-process, serving clientbase's WSGI application
    (`clientbase.wsgi:application`).

    The main process has already set Django up (settings, apps); each worker
    is forked from it and inherits that, so start-up costs are paid once.
    """

    def __init__(self, options: dict, banner: list[str]):
        self.options = options
        self.banner = banner

    def run(self) -> None:
        """Serve until SIGTERM or Ctrl-C (SIGINT); then every worker stops
        accepting, finishes the requests in flight (GRACEFUL_TIMEOUT at
        most) and exits, and so does this call."""
        server = GracefulGranian("clientbase.wsgi:application", interface=Interfaces.WSGI, **self.options)
        server.on_startup(self._announce_when_listening)
        server.serve()

    def _announce_when_listening(self) -> None:
        # Print the banner once a worker listens: whoever reads our output (a
        # person, a test, a script) may connect as soon as they see the URL.
        # On Linux each worker binds its own socket (SO_REUSEPORT, so that the
        # kernel spreads connections over the workers), after this hook runs:
        # wait for one to accept a connection.
        threading.Thread(target=self._ready, daemon=True).start()

    def _ready(self) -> None:
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.options["address"], self.options["address"])
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            try:
                socket.create_connection((host, self.options["port"]), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        for line in self.banner:
            print(line, flush=True)


class Command(BaseCommand):
    help = ("Serve clientbase with granian: migrates, collects static files and, with "
            "--demo, loads the demo data the first time.")
    requires_system_checks = []  # `check` runs as part of migrate anyway

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"),
                            help="Address to listen on (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")),
                            help="Port to listen on (default 8000).")
        parser.add_argument("--demo", action="store_true",
                            help="Load the demo data unless it is already there.")
        parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")),
                            help="Worker processes (default 2, or WEB_CONCURRENCY): one a core.")
        parser.add_argument("--threads", type=int, default=4,
                            help="Python threads per worker that run requests (default 4): while one "
                                 "waits on the database, another runs.")
        parser.add_argument("--no-jobs-worker", dest="jobs_worker", action="store_false",
                            help="Do not start the background-jobs worker (with TASKS_BACKEND=db, the "
                                 "default, `clientbase worker` must then run elsewhere).")

    def handle(self, *args, host: str, port: int, demo: bool, workers: int, threads: int,
               jobs_worker: bool = True, **options) -> None:
        verbosity = options["verbosity"]
        self.stdout.write("Preparing the database…")
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)

        banner = []
        shown_host = f"[{host}]" if ":" in host else host
        if demo:
            from clientbase.cli.management.commands.demo import load_all
            from clientbase.customers.demo import is_loaded, login_lines
            from clientbase.pricing.demo import price_lines

            # Once only: later starts keep what was changed in the back office.
            if is_loaded():
                self.stdout.write("Demo data already loaded (run `clientbase demo` to restore it).")
            else:
                for line in load_all():
                    self.stdout.write(f"Demo data: {line}")
            banner += ["", *login_lines(), *price_lines()]
        banner = [f"clientbase is serving on http://{shown_host}:{port}/ "
                  f"(shop /, back office /admin/, API docs /api/v1/docs) — Ctrl-C stops it.", *banner, ""]

        # Every view imported and the loaded objects frozen out of the garbage
        # collector's sight here, before the workers are forked: each starts
        # ready, and their copies of these pages stay shared with this process.
        settle_for_serving()
        # The workers are forked from this process: they must not share its
        # database connections, nor its connection pool (DATABASE_POOL) and
        # the pool's threads; each opens its own.
        connections.close_all()
        for connection in connections.all(initialized_only=True):
            if connection.alias in getattr(connection, "_connection_pools", {}):
                connection.close_pool()
        sys.stdout.flush()
        worker = start_jobs_worker(verbosity) if jobs_worker else None
        try:
            with serving.server_options() as ops_options:
                self._serve(host, port, workers=workers, threads=threads, verbosity=verbosity,
                            banner=banner, ops_options=ops_options)
        finally:
            stop_jobs_worker(worker)

    def _serve(self, host: str, port: int, *, workers: int, threads: int, verbosity: int,
               banner: list[str], ops_options: dict) -> None:
        ClientbaseServer(
            {
                "address": host,
                "port": port,
                "workers": workers,
                "blocking_threads": threads,
                "log_access": verbosity >= 2,
                "log_level": LogLevels.info if verbosity >= 2 else LogLevels.warning,
                # How long requests in flight may take to finish after
                # SIGTERM (GRACEFUL_TIMEOUT): clientbase.cli.serving.
                **ops_options,
            },
            banner,
        ).run()


def start_jobs_worker(verbosity: int = 1) -> subprocess.Popen | None:
    """With the database queue (TASKS_BACKEND=db, the default), the worker
    that runs background jobs (large back-office imports), as a child process
    of `serve`: `clientbase worker`. None for a queue whose workers run on
    their own (rq) or for no queue at all (immediate)."""
    from django.conf import settings

    if settings.TASKS_BACKEND != "db":
        return None
    # A session of its own: Ctrl-C reaches `serve` only, which then stops the
    # worker once (a second signal would make it drop the job it runs).
    return subprocess.Popen([sys.executable, "-m", "clientbase.cli", "worker", f"--verbosity={verbosity}"],
                            start_new_session=True)


def stop_jobs_worker(worker: subprocess.Popen | None) -> None:
    """Stop the worker as `serve` ends: SIGTERM lets it finish the job it is
    running; after WORKER_STOP_SECONDS it is killed (that job is then marked
    failed once its heartbeat is old: transfer.jobs.fail_if_worker_died)."""
    if worker is None or worker.poll() is not None:
        return
    worker.terminate()
    try:
        worker.wait(timeout=WORKER_STOP_SECONDS)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
