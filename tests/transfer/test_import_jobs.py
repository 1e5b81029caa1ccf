"""Import jobs through Django's Tasks API: the database queue and its worker
(the one `clientbase serve` starts), the RQ queue on the real Redis, the
progress a running job shows to other processes, and the purge of old files."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.utils import timezone

from clientbase.customers.models import Contact
from clientbase.transfer import jobs
from clientbase.transfer.jobs import progress_of, purge_import_files, receive_upload, start_job
from clientbase.transfer.models import ImportJob, JobStatus
from tests.core.test_cli import server  # noqa: F401  (fixture)
from tests.transfer.jobs_support import (  # noqa: F401  (import_dir: fixture)
    DB_QUEUE,
    REDIS_URL,
    RQ_QUEUE,
    import_dir,
    numbered_contacts,
)


def new_job(account, rows: int = 3) -> ImportJob:
    return receive_upload(owner=account, entity="contacts",
                          upload=ContentFile(numbered_contacts(rows), name="contacts.csv"))


@pytest.fixture
def signals_kept():
    """A worker run in the test's process sets its own signal handlers."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


@pytest.mark.django_db(transaction=True)
def test_a_large_job_waits_in_the_database_queue_until_the_worker_runs_it(
        world, accounts, import_dir, settings, signals_kept):
    # given the database queue, and files over 2 rows run in the background
    settings.TASKS = DB_QUEUE
    settings.IMPORT_BACKGROUND_ROWS = 2
    job = new_job(accounts["admin"], rows=3)
    # when it is started, it waits for a worker
    job = start_job(job, actor=accounts["admin"], dry_run=False)
    assert job.status == JobStatus.QUEUED and job.task_id
    assert not Contact.objects.exists()
    # when the worker runs what waits
    call_command("worker", "--burst", verbosity=0)
    # then
    job.refresh_from_db()
    assert (job.status, job.created, job.failed) == (JobStatus.DONE, 3, 0)
    assert Contact.objects.count() == 3
    from django_tasks_db.models import DBTaskResult
    assert DBTaskResult.objects.get(id=job.task_id).status == "SUCCESSFUL"


def redis_or_skip():
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(f"Redis is missing at {REDIS_URL}; CI must run the RQ job tests.")
        pytest.skip(f"no Redis at {REDIS_URL}")


@pytest.mark.django_db(transaction=True)
def test_a_large_job_runs_through_rq_on_redis(world, accounts, import_dir, settings):
    redis_or_skip()
    import django_rq
    from django_tasks_rq import Job
    from rq import SimpleWorker

    # given TASKS_BACKEND=rq's settings, on this suite's own Redis database
    settings.TASKS = RQ_QUEUE
    settings.RQ_QUEUES = {"default": {"URL": REDIS_URL}}
    settings.IMPORT_BACKGROUND_ROWS = 2
    queue = django_rq.get_queue("default", job_class=Job)
    queue.empty()
    job = start_job(new_job(accounts["admin"], rows=4), actor=accounts["admin"], dry_run=True)
    assert job.status == JobStatus.QUEUED and queue.count == 1
    # when an RQ worker (in this process, to share the test database) works the queue
    SimpleWorker([queue], connection=queue.connection, job_class=Job).work(burst=True)
    # then the dry run ran: counted, nothing written
    job.refresh_from_db()
    assert (job.status, job.created, job.failed) == (JobStatus.CHECKED, 4, 0)
    assert not Contact.objects.exists()
    assert queue.count == 0


def test_a_running_job_shows_its_progress_from_its_progress_file(world, accounts, import_dir, monkeypatch,
                                                                 client):
    # given batches of 2 rows, and a look at the job's page after each batch
    monkeypatch.setattr(jobs, "run_import", _with_batch_size(jobs.run_import, 2))
    client.force_login(accounts["admin"])
    job = new_job(accounts["admin"], rows=5)
    seen = []
    write = jobs.ProgressFile.__call__

    def write_and_look(self, done):
        write(self, done)
        seen.append(client.get(f"/admin/transfer/importjob/{job.pk}/progress/").json())

    monkeypatch.setattr(jobs.ProgressFile, "__call__", write_and_look)
    # when it runs as a dry run (one transaction: the database shows nothing until it ends)
    start_job(job, actor=accounts["admin"], dry_run=True)
    # then each look saw the rows done so far, out of 5
    assert [(s["status"], s["done"], s["total"]) for s in seen] == [
        ("running", 2, 5), ("running", 4, 5), ("running", 5, 5)]
    assert all(s["active"] for s in seen)
    job.refresh_from_db()
    assert progress_of(job).done == 5 and job.status == JobStatus.CHECKED


def _with_batch_size(run_import, size):
    def run(*args, **kwargs):
        return run_import(*args, batch_size=size, **kwargs)
    return run


def test_purge_removes_the_files_of_old_jobs_only(world, accounts, import_dir, capsys):
    # given an old checked job, a fresh one, a running one, and a stray folder
    old, fresh, running = (new_job(accounts["admin"]) for _ in range(3))
    ImportJob.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=30))
    ImportJob.objects.filter(pk=running.pk).update(status=JobStatus.RUNNING,
                                                   created_at=timezone.now() - timedelta(days=30))
    stray = import_dir / "not-a-job"
    stray.mkdir()
    os.utime(stray, (time.time() - 3 * 86400,) * 2)
    # when
    call_command("purge")
    # then
    assert sorted(p.name for p in import_dir.iterdir()) == sorted([str(fresh.pk), str(running.pk)])
    assert "Removed the files of 2 old import(s)." in capsys.readouterr().out
    assert purge_import_files() == 0


def test_a_running_job_beats_from_its_own_thread_while_a_batch_takes_its_time(world, accounts, import_dir,
                                                                             monkeypatch):
    import threading

    # given beats every 10 ms, and an import whose one batch waits until it has seen three beats
    monkeypatch.setattr(jobs, "HEARTBEAT_SECONDS", 0.01)
    beats, three = [], threading.Event()
    beat = jobs.Heartbeat.beat

    def counted(self):
        beat(self)
        beats.append(self.path.stat().st_mtime)
        if len(beats) >= 3:
            three.set()

    monkeypatch.setattr(jobs.Heartbeat, "beat", counted)
    run_import = jobs.run_import

    def slow_batch(*args, **kwargs):
        assert three.wait(timeout=30), "no heartbeat while the batch ran"
        return run_import(*args, **kwargs)

    monkeypatch.setattr(jobs, "run_import", slow_batch)
    job = new_job(accounts["admin"], rows=3)
    # when it runs
    job = start_job(job, actor=accounts["admin"], dry_run=False)
    # then the worker beat while the batch ran, and the job ended as usual, its heartbeat gone
    assert len(beats) >= 3
    assert (job.status, job.created) == (JobStatus.DONE, 3)
    assert not (import_dir / str(job.pk) / jobs.HEARTBEAT_NAME).exists()


def test_purge_marks_failed_the_jobs_whose_worker_died_and_leaves_the_live_ones(world, accounts, import_dir,
                                                                                capsys):
    # given two running jobs: one whose worker last beat an hour ago, one whose worker beats still
    dead, alive = new_job(accounts["admin"]), new_job(accounts["admin"])
    ImportJob.objects.filter(pk__in=[dead.pk, alive.pk]).update(
        status=JobStatus.RUNNING, started_at=timezone.now() - timedelta(hours=2))
    for job in (dead, alive):
        (import_dir / str(job.pk) / jobs.HEARTBEAT_NAME).touch()
    os.utime(import_dir / str(dead.pk) / jobs.HEARTBEAT_NAME, (time.time() - 3600,) * 2)
    # when
    call_command("purge")
    # then
    assert "Marked 1 import(s) failed: their worker had stopped." in capsys.readouterr().out
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert (dead.status, alive.status) == (JobStatus.FAILED, JobStatus.RUNNING)
    assert dead.problem.startswith("The worker running this import stopped")
    assert "It had not finished a batch: nothing was written." in dead.problem


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def test_serve_runs_the_database_queue_worker_and_stops_it(server):  # noqa: F811
    base, proc, env, _ = server
    home = Path(env["CLIENTBASE_HOME"])
    # given serve's worker beside the web workers
    workers = [pid for pid in _children(proc.pid) if "clientbase.cli worker" in _cmdline(pid)]
    assert len(workers) == 1
    # when a large import is started (by another process, as a web worker would)
    script = ("from django.core.files.base import ContentFile\n"
              "from clientbase.customers.models import Account\n"
              "from clientbase.transfer.jobs import receive_upload, start_job\n"
              "admin = Account.objects.get(email='admin@example.com')\n"
              "rows = 'key,first_name,last_name\\n' + ''.join(f'W-{i},Worker,Row{i}\\n' for i in range(30))\n"
              "job = receive_upload(owner=admin, entity='contacts', upload=ContentFile(rows.encode(), name='w.csv'))\n"
              "print(start_job(job, actor=admin, dry_run=False).status)\n")
    started = subprocess.run([sys.executable, "-m", "clientbase.cli", "shell", "-c", script],
                             env={**env, "IMPORT_BACKGROUND_ROWS": "10"}, cwd=home, capture_output=True,
                             text=True, timeout=120)
    assert started.stdout.strip().splitlines()[-1:] == ["queued"], started.stderr
    # then serve's worker runs it
    deadline = time.monotonic() + 90
    with sqlite3.connect(home / "clientbase.sqlite3") as db:
        while True:
            status, created = db.execute("select status, created from transfer_importjob").fetchone()
            if status not in ("queued", "running") or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    assert (status, created) == ("done", 30)
    # and stopping serve stops its worker
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 0
    assert not Path(f"/proc/{workers[0]}").exists()
