"""`clientbase worker`: run background jobs (large back-office imports) from
the queue TASKS_BACKEND names — the database queue (`serve` starts one of
these itself) or Redis through RQ (run as many as the load needs, on any
machine that shares the database and IMPORT_DIR). On start it marks failed
the imports whose worker died while they ran (a worker restarted after a
crash finds its own)."""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from clientbase.transfer.jobs import fail_jobs_whose_worker_died


class Command(BaseCommand):
    help = ("Run background jobs from the queue that TASKS_BACKEND names (db: the database, "
            "rq: Redis at REDIS_URL). Stops cleanly on SIGTERM or Ctrl-C.")

    def add_arguments(self, parser):
        parser.add_argument("--burst", action="store_true", help="Run the jobs waiting now, then stop.")

    def handle(self, *args, burst: bool, **options) -> None:
        verbosity = options["verbosity"]
        if settings.TASKS_BACKEND not in ("db", "rq"):
            raise CommandError(f"TASKS_BACKEND={settings.TASKS_BACKEND} runs jobs at once: there is no "
                               "queue to work.")
        try:
            dead = fail_jobs_whose_worker_died()
        except DatabaseError as exc:
            raise CommandError(f"Cannot read the import jobs ({exc}); run `clientbase migrate` first?") from exc
        if dead and verbosity:
            self.stdout.write(f"Marked {dead} import(s) failed: their worker had stopped.")
        if settings.TASKS_BACKEND == "db":
            call_command("db_worker", queue_name="default", batch=burst, reload=False, verbosity=verbosity)
        else:
            call_command("rqworker", "default", burst=burst, verbosity=verbosity,
                         job_class="django_tasks_rq.Job")
