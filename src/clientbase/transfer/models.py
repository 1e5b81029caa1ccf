"""Import jobs: a file uploaded in the back office, checked and imported by
its owner's account, in the request or in a background worker."""

import uuid

from django.conf import settings
from django.db import models


class JobStatus(models.TextChoices):
    UPLOADED = "uploaded", "Uploaded"      # checked as a file, not run yet
    QUEUED = "queued", "Waiting for a worker"
    RUNNING = "running", "Running"
    CHECKED = "checked", "Checked (dry run)"
    DONE = "done", "Imported"
    FAILED = "failed", "Failed"


# While a job is queued or running, its file must stay; otherwise it may go.
ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)
# A job may be run (again) from these.
RUNNABLE_STATUSES = (JobStatus.UPLOADED, JobStatus.CHECKED)


class ImportJobQuerySet(models.QuerySet):
    def visible_to(self, account) -> "ImportJobQuerySet":
        """A job is its owner's business; administrators see every job."""
        if account is None:
            return self
        if not (account.is_authenticated and account.is_active):
            return self.none()
        if account.sees_everything:
            return self
        return self.filter(owner=account)


class ImportJob(models.Model):
    """One uploaded file and the last run of it (a dry run, then the import).

    The counts and the first row errors are written when a run ends; while it
    runs, its progress is read from the job's progress file (see
    clientbase.transfer.jobs), which a run inside one transaction (a dry run)
    can still update for other processes to see.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="import_jobs")
    entity = models.CharField(max_length=40)
    file_name = models.CharField(max_length=255)
    size = models.BigIntegerField(default=0)
    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.UPLOADED)
    dry_run = models.BooleanField(default=False)
    atomic = models.BooleanField(default=False)  # all or nothing: any failed row rolls the file back
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    # The first row errors: [{"row", "column", "message"}]; the errors file has them all.
    errors = models.JSONField(default=list, blank=True)
    has_errors_file = models.BooleanField(default=False)
    problem = models.TextField(blank=True)  # why the job as a whole failed
    task_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ImportJobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "-created_at"], name="importjob_owner_idx")]

    def __str__(self) -> str:
        return f"{self.entity} from {self.file_name}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def is_runnable(self) -> bool:
        return self.status in RUNNABLE_STATUSES
