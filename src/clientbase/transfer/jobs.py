"""Import jobs: the back office's imports, run by the uploading account.

A file is received (`receive_upload`): stored under IMPORT_DIR in a folder of
its own, checked end to end by the same reader as `clientbase import` (a bad
file is refused with its message and nothing is kept), and recorded as an
ImportJob. Its owner then runs it (`start_job`), as a dry run or for real:
a file of at most IMPORT_BACKGROUND_ROWS rows runs at once, in the request;
a larger one is handed to Django's Tasks API (the django-tasks backport) and
run by a worker — the database queue's worker that `clientbase serve`
starts, or RQ workers with TASKS_BACKEND=rq. Either way the rows go through
`transfer.imports.run_import` with the owner's account as the actor: its
permissions and scope apply to every row, as `clientbase import --as` does.

While a job runs, its progress is written to a small file in its folder
after each batch; the job's page reads it from another process. (A dry run
runs in one transaction, so its progress could not be read from the
database until it ends.) When a real run ends the uploaded file is removed;
the errors file stays for download until `clientbase purge`.

A running job's worker also touches a heartbeat file in the folder every
HEARTBEAT_SECONDS, from a thread of its own (so a slow batch is not a dead
worker). A worker that dies — killed, out of memory, its machine restarted —
runs no `finally` and leaves its job "running"; once the heartbeat is older
than DEAD_AFTER_SECONDS, the job's page (and `clientbase purge`, and a
`clientbase worker` starting) marks it failed and says why
(`fail_if_worker_died`).
"""

import json
import logging
import os
import shutil
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from clientbase.core.errors import Conflict, DomainError, Forbidden, Invalid
from clientbase.transfer.entities import IMPORTS
from clientbase.transfer.imports import ErrorsWriter, ImportResult, run_import
from clientbase.transfer.models import ACTIVE_STATUSES, RUNNABLE_STATUSES, ImportJob, JobStatus
from clientbase.transfer.readers import Table, open_table

logger = logging.getLogger(__name__)

UPLOAD_NAME = "upload"
ERRORS_NAME = "errors.csv"
PROGRESS_NAME = "progress.json"
HEARTBEAT_NAME = "heartbeat"
# The row errors a job keeps for its page; the errors file has them all.
KEPT_ERRORS = 100
PREVIEW_ROWS = 10
# Uploads and errors files of finished jobs are removed by `clientbase purge`
# this many days after the job ended.
FILES_KEPT_DAYS = 7


def entity_names() -> list[str]:
    """What a file may hold, by the names the CLI uses."""
    return sorted(IMPORTS)


def job_folder(job_id) -> Path:
    return Path(settings.IMPORT_DIR) / str(job_id)


def upload_path(job: ImportJob) -> Path:
    return job_folder(job.pk) / (UPLOAD_NAME + Path(job.file_name).suffix.lower()[:10])


def errors_path(job: ImportJob) -> Path:
    return job_folder(job.pk) / ERRORS_NAME


def _megabytes(size: int) -> str:
    """A size as people read it: 200 MB, 12.5 kB, 900 bytes."""
    if size >= 100_000:
        return f"{size / 1_000_000:,.1f} MB".replace(".0 MB", " MB")
    return f"{size / 1000:,.1f} kB".replace(".0 kB", " kB") if size >= 1000 else f"{size} bytes"


def _open(job: ImportJob) -> Table:
    kind = IMPORTS[job.entity]()
    path = upload_path(job)
    if not path.is_file():
        raise Invalid.on("file", "The uploaded file is no longer kept; upload it again.", "file_gone")
    return open_table(path, allowed=kind.columns, required=kind.required)


# --- receiving a file --------------------------------------------------------

def check_upload_size(size: int) -> None:
    """Invalid when `size` bytes are over IMPORT_MAX_BYTES (a door may ask
    before it receives the file)."""
    limit = settings.IMPORT_MAX_BYTES
    if size > limit:
        raise Invalid.on("file", f"The file is {_megabytes(size)}; the largest import is {_megabytes(limit)}. "
                                 "Split it, or import it with `clientbase import`.", "file_too_large")


def receive_upload(*, owner, entity: str, upload) -> ImportJob:
    """Store `upload` (a Django File: name, size, chunks()) as a new job of
    `owner` for `entity`, once the whole file has been checked as an import
    of that entity would check it.

    Raises Invalid for an unknown entity or a file over IMPORT_MAX_BYTES, and
    the reader's FileProblem (wrong encoding, missing header, unknown column,
    oversized field); then nothing is kept.
    """
    if owner is None or not (owner.is_authenticated and owner.is_active):
        raise Forbidden(detail="Only an active account may upload an import.", code="forbidden")
    if entity not in IMPORTS:
        raise Invalid.on("entity", f"Unknown entity '{entity}'. Choose one of: {', '.join(entity_names())}.",
                         "unknown_entity")
    if upload.size is not None:
        check_upload_size(upload.size)
    name = Path(upload.name or "upload.csv").name[:255]
    job = ImportJob(id=uuid.uuid4(), owner=owner, entity=entity, file_name=name)
    folder = job_folder(job.pk)
    folder.mkdir(mode=0o700, parents=True)
    try:
        size = 0
        with upload_path(job).open("wb") as out:
            for chunk in upload.chunks():
                size += len(chunk)
                check_upload_size(size)  # a client that lied about the size
                out.write(chunk)
        job.size = size
        job.total = _open(job).total
        job.save()
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return job


@dataclass
class Preview:
    columns: list[str]
    rows: list[list[str]]  # the first rows' values, in the columns' order
    total: int


def preview(job: ImportJob, limit: int = PREVIEW_ROWS) -> Preview:
    """The first `limit` data rows of the job's file as the import reads them."""
    table = _open(job)
    rows = [[row.values.get(c, "") for c in table.columns] for row in islice(table.rows(), limit)]
    return Preview(columns=table.columns, rows=rows, total=table.total)


# --- running -----------------------------------------------------------------

def start_job(job: ImportJob, *, actor, dry_run: bool, atomic: bool = False) -> ImportJob:
    """Run `job` (a dry run, or the import; `atomic`: all or nothing) for its owner `actor`: at once
    when its file has at most IMPORT_BACKGROUND_ROWS rows, otherwise queued
    for a worker. Answers the job as it is now (done, or queued).

    Forbidden for anybody but the owner (the rows run with its permissions);
    Conflict when the job is queued, running or already imported.
    """
    if actor is None or actor.pk != job.owner_id:
        raise Forbidden(detail="Only the account that uploaded the file may run its import.", code="forbidden")
    with transaction.atomic():
        claimed = ImportJob.objects.filter(pk=job.pk, status__in=RUNNABLE_STATUSES).update(
            status=JobStatus.QUEUED, dry_run=dry_run, atomic=atomic, done=0, created=0, updated=0, unchanged=0, failed=0,
            errors=[], has_errors_file=False, problem="", task_id="", started_at=None, finished_at=None)
    if not claimed:
        raise Conflict(detail="This import is running or has run already.", code="job_not_runnable")
    if job.total > settings.IMPORT_BACKGROUND_ROWS:
        result = run_import_job.enqueue(str(job.pk))
        ImportJob.objects.filter(pk=job.pk).update(task_id=str(result.id)[:64])
    else:
        execute_job(job.pk)
    job.refresh_from_db()
    return job


class ProgressFile:
    """Rows done so far, for other processes: rewritten whole (write, then
    rename) after each batch, so a reader never sees half of it."""

    def __init__(self, job_id, total: int):
        self.path = job_folder(job_id) / PROGRESS_NAME
        self.total = total
        self.started = time.time()

    def __call__(self, done: int) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"done": done, "total": self.total, "started": self.started,
                                   "at": time.time()}))
        os.replace(tmp, self.path)


# A running job's worker touches its heartbeat file this often; a job whose
# heartbeat is older than DEAD_AFTER_SECONDS has lost its worker. Ten missed
# beats: a worker paused by a long garbage collection or a busy machine is
# not taken for dead, and a dead one is found within five minutes.
HEARTBEAT_SECONDS = 30
DEAD_AFTER_SECONDS = 300


class Heartbeat:
    """While a job runs (`with Heartbeat(job_id):`), a thread of the worker
    touches the job's heartbeat file every HEARTBEAT_SECONDS. The thread
    lives and dies with the process: a dead worker stops beating, a worker
    busy on a long batch does not."""

    def __init__(self, job_id):
        self.path = job_folder(job_id) / HEARTBEAT_NAME
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{job_id}", daemon=True)

    def beat(self) -> None:
        try:
            self.path.touch()
        except OSError:  # the folder went (purged, or a disk problem): the run itself will say so
            logger.warning("Cannot touch the heartbeat %s", self.path)

    def _run(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            self.beat()

    def __enter__(self) -> "Heartbeat":
        self.beat()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.path.unlink(missing_ok=True)


def last_sign_of_life(job: ImportJob) -> float | None:
    """When the worker running `job` was last known alive (a Unix time): the
    latest of its heartbeat, its last progress (a worker of a release before
    the heartbeat writes only that) and the job's start. None for a job that
    is not running, or that never started."""
    if job.status != JobStatus.RUNNING:
        return None
    signs = [job.started_at.timestamp()] if job.started_at else []
    for name in (HEARTBEAT_NAME, PROGRESS_NAME):
        try:
            signs.append((job_folder(job.pk) / name).stat().st_mtime)
        except OSError:
            pass
    return max(signs, default=None)


def fail_if_worker_died(job: ImportJob, now: float | None = None) -> bool:
    """Mark `job` failed, with a message for its page, when it is running
    but its worker has shown no sign of life for DEAD_AFTER_SECONDS.
    Answers whether it did (`job` is then updated in place). A worker that
    comes back after all still records its outcome when it ends."""
    alive_at = last_sign_of_life(job)
    if alive_at is None or (now or time.time()) - alive_at <= DEAD_AFTER_SECONDS:
        return False
    progress = progress_of(job)
    if job.dry_run or job.atomic:
        written = "Nothing was written: " + ("a dry run writes nothing." if job.dry_run
                                             else "an all-or-nothing import rolls back unless it ends.")
    elif progress.done:
        written = (f"The batches it finished stay written (the first {progress.done:,} of "
                   f"{progress.total:,} rows); the rows after them were not imported.")
    else:
        written = "It had not finished a batch: nothing was written."
    stopped = timezone.localtime(datetime.fromtimestamp(alive_at, tz=UTC))
    problem = (f"The worker running this import stopped: no sign of life since {stopped:%Y-%m-%d %H:%M} "
               f"(the process was killed, or its machine restarted). {written} "
               "Upload the file again to run it anew.")
    ended = ImportJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING, started_at=job.started_at).update(
        status=JobStatus.FAILED, problem=problem, finished_at=timezone.now())
    if not ended:
        return False  # it ended meanwhile
    (job_folder(job.pk) / PROGRESS_NAME).unlink(missing_ok=True)
    (job_folder(job.pk) / HEARTBEAT_NAME).unlink(missing_ok=True)
    job.refresh_from_db()
    logger.warning("Import job %s failed: its worker stopped (last sign of life %s)", job.pk, stopped)
    return True


def fail_jobs_whose_worker_died() -> int:
    """`fail_if_worker_died` for every running job; answers how many failed."""
    return sum(fail_if_worker_died(job) for job in ImportJob.objects.filter(status=JobStatus.RUNNING))


@dataclass
class Progress:
    done: int
    total: int
    rate: float | None  # rows per second
    eta: float | None  # seconds left

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.done / self.total)) if self.total else 100


def progress_of(job: ImportJob) -> Progress:
    """How far `job` is: from its progress file while it runs, else from the job."""
    if job.status != JobStatus.RUNNING:
        done = job.done if job.status != JobStatus.QUEUED else 0
        return Progress(done=done, total=job.total, rate=None, eta=None)
    try:
        data = json.loads((job_folder(job.pk) / PROGRESS_NAME).read_text())
    except (OSError, ValueError):
        return Progress(done=0, total=job.total, rate=None, eta=None)
    done, total = int(data["done"]), int(data["total"])
    elapsed = float(data["at"]) - float(data["started"])
    rate = done / elapsed if elapsed > 0 and done else None
    eta = (total - done) / rate if rate else None
    return Progress(done=done, total=total, rate=rate, eta=eta)


def execute_job(job_id) -> str:
    """Run the queued job `job_id` (in the request or in a worker) and record
    its outcome; answers the status it ended with. A job that is not queued
    (run already by another worker, or deleted) is left alone."""
    claimed = ImportJob.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=timezone.now())
    if not claimed:
        return "skipped"
    job = ImportJob.objects.select_related("owner").get(pk=job_id)
    with Heartbeat(job.pk):
        return _execute(job)


def _execute(job: ImportJob) -> str:
    writer = None
    try:
        actor = job.owner
        if not actor.is_active:
            raise Forbidden(detail="The account that uploaded the file is inactive.", code="inactive")
        table = _open(job)
        writer = ErrorsWriter(errors_path(job), table.columns)
        result = run_import(table, IMPORTS[job.entity](), actor=actor, dry_run=job.dry_run, atomic=job.atomic,
                            errors=writer, progress=ProgressFile(job.pk, table.total))
    except DomainError as exc:
        _end(job, JobStatus.FAILED, problem=exc.detail)
    except Exception as exc:  # recorded on the job: its page says what happened
        logger.exception("Import job %s failed", job.pk)
        _end(job, JobStatus.FAILED, problem=f"The import stopped on an unexpected error ({type(exc).__name__}: "
                                            f"{str(exc)[:300]}). Rows before it may have been written.")
    else:
        _end(job, JobStatus.CHECKED if job.dry_run else JobStatus.DONE, result=result)
    finally:
        if writer is not None:
            writer.close()
    return job.status


def _end(job: ImportJob, status: str, *, result: ImportResult | None = None, problem: str = "") -> None:
    job.status, job.problem, job.finished_at = status, problem, timezone.now()
    if result is not None:
        job.done = result.total
        job.created, job.updated, job.unchanged, job.failed = (
            result.created, result.updated, result.unchanged, result.failed)
        job.errors = [{"row": e.row, "column": e.column, "message": e.message}
                      for e in result.errors[:KEPT_ERRORS]]
        job.has_errors_file = result.failed > 0
    else:
        errors_path(job).unlink(missing_ok=True)
    if status != JobStatus.CHECKED:
        upload_path(job).unlink(missing_ok=True)  # imported (or failed): the file is no longer needed
    (job_folder(job.pk) / PROGRESS_NAME).unlink(missing_ok=True)
    job.save(update_fields=["status", "problem", "finished_at", "done", "created", "updated", "unchanged",
                            "failed", "errors", "has_errors_file"])


@task()
def run_import_job(job_id: str) -> str:
    """The background task: run a queued import job (see execute_job)."""
    return execute_job(job_id)


# --- clean-up ------------------------------------------------------------------

def purge_import_files(now=None) -> int:
    """Remove the files of jobs that ended (or were never run) more than
    FILES_KEPT_DAYS ago, and folders that belong to no job; answers how many
    folders were removed. Jobs stay on record."""
    root = Path(settings.IMPORT_DIR)
    if not root.is_dir():
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=FILES_KEPT_DAYS)
    folders = {p.name: p for p in root.iterdir() if p.is_dir()}
    ids = [name for name in folders if _is_uuid(name)]
    jobs = {str(pk): (status, ended or created) for pk, status, ended, created in
            ImportJob.objects.filter(pk__in=ids).values_list("pk", "status", "finished_at", "created_at")}
    removed = []
    for name, folder in folders.items():
        if name in jobs:
            status, ended = jobs[name]
            if status in ACTIVE_STATUSES or ended > cutoff:
                continue
        elif _age_days(folder) < 1:
            continue  # an upload being received right now has no job yet
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(name)
    ImportJob.objects.filter(pk__in=[n for n in removed if n in jobs]).update(has_errors_file=False)
    return len(removed)


def _is_uuid(name: str) -> bool:
    try:
        uuid.UUID(name)
    except ValueError:
        return False
    return True


def _age_days(path: Path) -> float:
    return (time.time() - path.stat().st_mtime) / 86400
