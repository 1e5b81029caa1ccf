"""`clientbase serve`: migrate, collect static files, optionally load the demo,
then serve with gunicorn (a production WSGI server; static files through
whitenoise), and, with the database job queue (the default), run the
background-jobs worker beside it as a child process. Never Django's
development server."""

import os
import subprocess
import sys

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import connections
from gunicorn.app.base import BaseApplication

from clientbase.cli import serving


# How long `serve` waits, as it stops, for the jobs worker to finish its job.
WORKER_STOP_SECONDS = 60


class ClientbaseServer(BaseApplication):
    """Gunicorn run in-process, serving clientbase's WSGI application.

    The master has already set Django up (settings, apps); each forked worker
    inherits it, so start-up costs are paid once.
    """

    def __init__(self, options: dict, banner: list[str]):
        self.options = options
        self.banner = banner
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            self.cfg.set(name, value)
        # Print the banner once the socket is bound: whoever reads our output
        # (a person, a test, a script) may connect as soon as they see the URL.
        self.cfg.set("when_ready", self._ready)

    def _ready(self, server) -> None:
        for line in self.banner:
            print(line, flush=True)

    def load(self):
        from clientbase.wsgi import application

        return application


class Command(BaseCommand):
    help = ("Serve clientbase with gunicorn: migrates, collects static files and, with "
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
                            help="Worker processes (default 2, or WEB_CONCURRENCY).")
        parser.add_argument("--threads", type=int, default=4,
                            help="Threads per worker (default 4).")
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

        # The workers are forked from this process: they must not share its
        # database connections.
        connections.close_all()
        sys.stdout.flush()
        worker = start_jobs_worker(verbosity) if jobs_worker else None
        try:
            with serving.server_options() as ops_options:
                self._serve(f"{shown_host}:{port}", workers=workers, threads=threads, verbosity=verbosity,
                            banner=banner, ops_options=ops_options)
        finally:
            stop_jobs_worker(worker)

    def _serve(self, bind: str, *, workers: int, threads: int, verbosity: int, banner: list[str],
               ops_options: dict) -> None:
        ClientbaseServer(
            {
                "bind": bind,
                "workers": workers,
                "threads": threads,
                "worker_class": "gthread" if threads > 1 else "sync",
                "accesslog": "-" if verbosity >= 2 else None,
                "errorlog": "-",
                "loglevel": "info" if verbosity >= 2 else "warning",
                "proc_name": "clientbase",
                # graceful_timeout (requests in flight finish after SIGTERM), and
                # the metrics hook with METRICS on: clientbase.cli.serving.
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
    running; after WORKER_STOP_SECONDS it is killed (that job then stays
    "running" on its page)."""
    if worker is None or worker.poll() is not None:
        return
    worker.terminate()
    try:
        worker.wait(timeout=WORKER_STOP_SECONDS)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
