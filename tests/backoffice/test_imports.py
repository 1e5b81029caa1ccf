"""The back office's import screens: upload a file, see its first rows,
check it (a dry run with the row errors), import it; a large file runs as a
background job. A job is its owner's (and administrators'); the rows are
written with the owner's permissions and scope."""

import html

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from clientbase.customers.models import Contact, CustomerGroup
from clientbase.transfer.models import ImportJob, JobStatus
from tests.backoffice.conftest import login  # noqa: F401  (fixture)
from tests.transfer.jobs_support import contacts_csv, import_dir, numbered_contacts  # noqa: F401

UPLOAD = "/admin/transfer/importjob/add/"


def upload(client: Client, content: bytes, *, entity: str = "contacts", name: str = "contacts.csv"):
    return client.post(UPLOAD, {"entity": entity, "file": SimpleUploadedFile(name, content)})


def nothing_kept(folder) -> bool:
    return not folder.exists() or not any(folder.iterdir())


def job_url(job: ImportJob, page: str = "change/") -> str:
    return f"/admin/transfer/importjob/{job.pk}/{page}"


GOOD_AND_BAD = contacts_csv(
    ["C-ANN", "Ann", "Smith", "ann@example.com", "EU-MGMT"],
    ["C-BOB", "Bob", "Blacksmith", "not-an-email", "EU-HQ"],
    ["C-CARL", "Carl", "Jones", "carl@example.com", "EU-HQ"],
)


def test_an_upload_is_previewed_checked_then_imported(accounts, login, import_dir):
    client = login("admin")
    # when the file is uploaded
    response = upload(client, GOOD_AND_BAD)
    # then its page shows the first rows as read, and nothing is written yet
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == job_url(job)
    page = client.get(job_url(job)).content.decode()
    assert (job.status, job.total, job.owner) == (JobStatus.UPLOADED, 3, accounts["admin"])
    assert page.count('class="preview-row"') == 3
    assert "not-an-email" in page and "Blacksmith" in page
    assert not Contact.objects.exists()

    # when it is checked: the row errors, with row number and column, and still nothing written
    client.post(job_url(job, "run/"), {"mode": "dry_run"})
    job.refresh_from_db()
    assert (job.status, job.created, job.failed) == (JobStatus.CHECKED, 2, 1)
    assert job.errors == [{"row": 3, "column": "email", "message": job.errors[0]["message"]}]
    page = client.get(job_url(job)).content.decode()
    assert 'class="row-error"' in page and job.errors[0]["message"] in page
    assert not Contact.objects.exists()

    # when it is confirmed
    client.post(job_url(job, "run/"), {"mode": "import"})
    # then the good rows land, the bad one is reported, and its errors file can be fixed
    job.refresh_from_db()
    assert (job.status, job.created, job.updated, job.unchanged, job.failed) == (JobStatus.DONE, 2, 0, 0, 1)
    assert set(Contact.objects.values_list("key", flat=True)) == {"C-ANN", "C-CARL"}
    page = client.get(job_url(job)).content.decode()
    assert '<td id="count-created">2</td>' in page
    errors = client.get(job_url(job, "errors.csv"))
    assert errors.status_code == 200
    lines = b"".join(errors.streaming_content).decode().splitlines()
    assert lines[0] == "key,first_name,last_name,email,organizations,error_row,error_column,error_message"
    assert lines[1].startswith("C-BOB,Bob,Blacksmith,not-an-email,EU-HQ,3,email,")
    # the uploaded file is gone once imported; a job runs once
    assert [p.name for p in (import_dir / str(job.pk)).iterdir()] == ["errors.csv"]
    response = client.post(job_url(job, "run/"), {"mode": "import"}, follow=True)
    assert "has run already" in response.content.decode()


def test_all_or_nothing_writes_no_row_when_one_fails(accounts, login, import_dir):
    client = login("admin")
    upload(client, GOOD_AND_BAD)
    job = ImportJob.objects.get()
    # when
    client.post(job_url(job, "run/"), {"mode": "import", "atomic": "on"})
    # then the two good rows were rolled back with the bad one
    job.refresh_from_db()
    assert (job.status, job.atomic, job.created, job.failed) == (JobStatus.DONE, True, 2, 1)
    assert not Contact.objects.exists()
    assert "a row failed, so nothing was written" in client.get(job_url(job)).content.decode()


def test_the_rows_are_written_with_the_uploaders_scope(accounts, login, import_dir):
    # given a representative whose grant covers EU Headquarters only
    client = login("csr")
    upload(client, contacts_csv(["C-EU", "Eve", "Europe", "eve@example.com", "EU-MGMT"],
                                ["C-US", "Sam", "States", "sam@example.com", "US-SALES"]))
    job = ImportJob.objects.get()
    # when
    client.post(job_url(job, "run/"), {"mode": "import"})
    # then the contact outside its scope is a row error, as in `clientbase import --as`
    job.refresh_from_db()
    assert (job.created, job.failed) == (1, 1)
    assert job.errors[0]["row"] == 3 and job.errors[0]["column"] == "organizations"
    assert list(Contact.objects.values_list("key", flat=True)) == ["C-EU"]


@pytest.mark.parametrize("content, entity, message", [
    (contacts_csv(["C-ANN", "Ann", "Smith", "", ""]), "widgets", "Select a valid choice"),
    ("key,first_name\nC-Ä,Jürgen\n".encode("latin-1"), "contacts", "not UTF-8"),
    (b"key,colour\nC-1,red\n", "contacts", "Unknown column 'colour'"),
    (b"", "contacts", "The submitted file is empty"),
], ids=["unknown-entity", "bad-encoding", "unknown-column", "empty"])
def test_a_refused_file_gets_its_message_and_nothing_is_kept(accounts, login, import_dir, content, entity,
                                                             message):
    response = upload(login("admin"), content, entity=entity)
    assert response.status_code == 200
    assert message in html.unescape(response.content.decode())
    assert not ImportJob.objects.exists()
    assert nothing_kept(import_dir)
    assert not Contact.objects.exists()


def test_a_file_over_the_size_limit_is_refused(accounts, login, import_dir, settings):
    settings.IMPORT_MAX_BYTES = 1000
    response = upload(login("admin"), numbered_contacts(50))
    assert "the largest import is 1 kB" in response.content.decode()
    assert not ImportJob.objects.exists()
    assert nothing_kept(import_dir)


def test_a_body_over_the_size_limit_is_refused_before_it_is_read(accounts, login, import_dir, settings):
    settings.IMPORT_MAX_BYTES = 1000
    response = login("admin").post(UPLOAD, {"entity": "contacts",
                                            "file": SimpleUploadedFile("big.csv", numbered_contacts(3000))})
    assert "the largest import is 1 kB" in response.content.decode()
    assert not ImportJob.objects.exists() and nothing_kept(import_dir)


def test_an_xlsx_file_is_previewed_and_imported(accounts, login, import_dir):
    import io

    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["key", "name", "parent"])
    book.active.append(["PLATINUM", "Platinum", "CUSTOMERS"])
    data = io.BytesIO()
    book.save(data)
    client = login("admin")
    upload(client, data.getvalue(), entity="customer-groups", name="groups.xlsx")
    job = ImportJob.objects.get()
    assert "Platinum" in client.get(job_url(job)).content.decode()
    client.post(job_url(job, "run/"), {"mode": "import"})
    job.refresh_from_db()
    assert (job.status, job.created, job.failed) == (JobStatus.DONE, 1, 0)
    assert CustomerGroup.objects.get(key="PLATINUM").parent.key == "CUSTOMERS"


def test_another_accounts_job_is_a_404_and_an_administrator_sees_it_without_running_it(
        accounts, login, import_dir):
    # given a job of the representative
    csr = login("csr")
    upload(csr, GOOD_AND_BAD)
    job = ImportJob.objects.get()
    other = login("csr_nogrant")
    # then another staff member finds nothing there, as if it did not exist
    for page in ("change/", "progress/", "errors.csv"):
        assert other.get(job_url(job, page)).status_code == 404, page
    assert other.post(job_url(job, "run/"), {"mode": "import"}).status_code == 404
    assert str(job.pk) not in other.get("/admin/transfer/importjob/").content.decode()
    # an administrator sees it, but only its owner runs it (with the owner's permissions)
    admin = login("admin")
    assert admin.get(job_url(job)).status_code == 200
    assert str(job.pk) in admin.get("/admin/transfer/importjob/").content.decode()
    admin.post(job_url(job, "run/"), {"mode": "import"})
    job.refresh_from_db()
    assert job.status == JobStatus.UPLOADED
    assert not Contact.objects.exists()


def test_a_large_file_runs_as_a_background_job(accounts, login, import_dir, settings):
    # given files over 5 rows run in the background (immediate backend: at once)
    settings.IMPORT_BACKGROUND_ROWS = 5
    client = login("admin")
    upload(client, numbered_contacts(6))
    job = ImportJob.objects.get()
    # when
    response = client.post(job_url(job, "run/"), {"mode": "import"}, follow=True)
    # then it was handed to the task backend, and its page shows the outcome
    job.refresh_from_db()
    assert job.task_id
    assert (job.status, job.created) == (JobStatus.DONE, 6)
    assert "runs in the background" in response.content.decode()
    assert Contact.objects.count() == 6
    progress = client.get(job_url(job, "progress/")).json()
    assert progress == {"status": "done", "status_label": "Imported", "active": False, "done": 6, "total": 6,
                        "percent": 100, "rate": None, "eta": None}


def left_running_by_a_killed_worker(job: ImportJob, import_dir, *, seconds_ago: float, done: int,
                                    **fields) -> None:
    """The state a worker killed mid-run leaves: the job running, its
    progress and its heartbeat as they were when it died."""
    import json
    import os
    import time

    from django.utils import timezone

    then = time.time() - seconds_ago
    ImportJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, **fields,
                                                started_at=timezone.now() - timezone.timedelta(hours=1))
    folder = import_dir / str(job.pk)
    (folder / "progress.json").write_text(json.dumps({"done": done, "total": 3, "started": then - 1, "at": then}))
    (folder / "heartbeat").touch()
    for name in ("progress.json", "heartbeat"):
        os.utime(folder / name, (then, then))


def test_a_job_whose_worker_died_is_marked_failed_and_its_page_says_why(accounts, login, import_dir):
    # given a job left running by a worker killed 20 minutes ago, after 2 of 3 rows
    client = login("admin")
    upload(client, GOOD_AND_BAD)
    job = ImportJob.objects.get()
    left_running_by_a_killed_worker(job, import_dir, seconds_ago=1200, done=2)
    # when its page polls, then it has ended: failed
    progress = client.get(job_url(job, "progress/")).json()
    assert (progress["status"], progress["active"]) == ("failed", False)
    # and its page says what happened and what was written
    page = html.unescape(client.get(job_url(job)).content.decode())
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.finished_at
    assert "The worker running this import stopped" in job.problem
    assert "the first 2 of 3 rows" in job.problem
    assert 'id="job-problem"' in page and job.problem in page
    assert not (import_dir / str(job.pk) / "heartbeat").exists()


def test_a_dry_run_whose_worker_died_says_nothing_was_written(accounts, login, import_dir):
    client = login("admin")
    upload(client, GOOD_AND_BAD)
    job = ImportJob.objects.get()
    left_running_by_a_killed_worker(job, import_dir, seconds_ago=1200, done=2, dry_run=True)
    client.get(job_url(job))
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "Nothing was written: a dry run writes nothing." in job.problem


def test_a_job_whose_worker_still_beats_keeps_running_however_slow_its_batch(accounts, login, import_dir):
    # given a running job whose last batch ended 20 minutes ago, but whose worker beat a minute ago
    client = login("admin")
    upload(client, GOOD_AND_BAD)
    job = ImportJob.objects.get()
    left_running_by_a_killed_worker(job, import_dir, seconds_ago=1200, done=2)
    import os
    import time
    beat = time.time() - 60
    os.utime(import_dir / str(job.pk) / "heartbeat", (beat, beat))
    # when its page polls, then it still runs
    progress = client.get(job_url(job, "progress/")).json()
    assert (progress["status"], progress["active"], progress["done"]) == ("running", True, 2)
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and not job.problem


def test_a_job_of_a_worker_without_a_heartbeat_lives_as_long_as_its_progress_moves(accounts, login, import_dir):
    # given a running job with no heartbeat file (its worker predates it) whose last batch ended a minute ago
    client = login("admin")
    upload(client, GOOD_AND_BAD)
    job = ImportJob.objects.get()
    left_running_by_a_killed_worker(job, import_dir, seconds_ago=60, done=2)
    (import_dir / str(job.pk) / "heartbeat").unlink()
    # then it still runs
    assert client.get(job_url(job, "progress/")).json()["status"] == "running"


def test_the_jobs_list_costs_the_same_few_queries_for_many_jobs(accounts, login, import_dir):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login("admin")

    def queries_for_the_list() -> int:
        client.get("/admin/transfer/importjob/")  # the session's and the sidebar's first lookups
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/admin/transfer/importjob/")
        assert response.status_code == 200
        return len(captured)

    # given one job, then six of two owners
    upload(login("csr"), GOOD_AND_BAD)
    one = queries_for_the_list()
    for name in ("admin", "csr", "admin", "csr", "admin"):
        upload(login(name), GOOD_AND_BAD)
    # then the list of six costs what the list of one did: owners come with their jobs
    assert queries_for_the_list() == one <= 10
