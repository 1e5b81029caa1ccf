"""`clientbase worker`: run background jobs (large back-office imports) from
the queue TASKS_BACKEND names — the database queue (`serve` starts one of
these itself) or Redis through RQ (run as many as the load needs, on any
machine that shares the database and IMPORT_DIR)."""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = ("Run background jobs from the queue that TASKS_BACKEND names (db: the database, "
            "rq: Redis at REDIS_URL). Stops cleanly on SIGTERM or Ctrl-C.")

    def add_arguments(self, parser):
        parser.add_argument("--burst", action="store_true", help="Run the jobs waiting now, then stop.")

    def handle(self, *args, burst: bool, **options) -> None:
        verbosity = options["verbosity"]
        if settings.TASKS_BACKEND == "db":
            call_command("db_worker", queue_name="default", batch=burst, reload=False, verbosity=verbosity)
        elif settings.TASKS_BACKEND == "rq":
            call_command("rqworker", "default", burst=burst, verbosity=verbosity,
                         job_class="django_tasks_rq.Job")
        else:
            raise CommandError(f"TASKS_BACKEND={settings.TASKS_BACKEND} runs jobs at once: there is no "
                               "queue to work.")
