"""Back-office imports: upload a file, look at its first rows, check it (a
dry run with the row errors), then import it; a large file runs as a
background job whose page shows its progress. Every step is one call of
clientbase.transfer.jobs; a job is seen by its owner and administrators only
(any other id is a 404)."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.exceptions import NotRegistered
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST
from unfold.admin import ModelAdmin

from clientbase.backoffice.base import EveryStaffMemberMixin, ScopedMixin
from clientbase.core.errors import DomainError
from clientbase.transfer.jobs import (
    check_upload_size,
    entity_names,
    errors_path,
    fail_if_worker_died,
    preview,
    progress_of,
    receive_upload,
    start_job,
)
from clientbase.transfer.models import ImportJob, JobStatus

# The tasks' own result list is no back-office page: jobs are shown here,
# each to its owner (django_tasks_db registers one for every staff member).
try:
    from django_tasks_db.models import DBTaskResult

    admin.site.unregister(DBTaskResult)
except (ImportError, NotRegistered):
    pass


class UploadForm(forms.Form):
    entity = forms.ChoiceField(label="What the file holds")
    file = forms.FileField(label="CSV (UTF-8, `,` or `;`) or XLSX file")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["entity"].choices = [(name, name) for name in entity_names()]


# What a multipart request adds to its file: the other fields and the boundaries.
FORM_OVERHEAD = 64 * 1024


def _too_large(request: HttpRequest) -> str:
    """The refusal of a request whose body is over the largest import, or ""."""
    try:
        check_upload_size(max(0, int(request.META.get("CONTENT_LENGTH") or 0) - FORM_OVERHEAD))
    except (ValueError, DomainError) as exc:
        return getattr(exc, "detail", "") or ""
    return ""


@admin.register(ImportJob)
class ImportJobAdmin(EveryStaffMemberMixin, ScopedMixin, ModelAdmin):
    list_display = ["file_name", "entity", "owner", "status", "total", "created", "updated", "unchanged",
                    "failed", "created_at"]
    list_filter = ["status", "entity"]
    list_select_related = ["owner"]
    search_fields = ["file_name"]

    def scoped_queryset(self, request: HttpRequest) -> QuerySet:
        return ImportJob.objects.visible_to(request.user)

    # Every staff member may import (EveryStaffMemberMixin): each row is then
    # written, or refused, by the services with the uploader's own
    # permissions and scope.
    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # a job changes by being run, on its page

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # jobs stay on record; `clientbase purge` removes their files

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/run/", wrap(require_POST(self.run_view)), name="transfer_importjob_run"),
            path("<path:object_id>/progress/", wrap(self.progress_view), name="transfer_importjob_progress"),
            path("<path:object_id>/errors.csv", wrap(self.errors_view), name="transfer_importjob_errors"),
            *super().get_urls(),
        ]

    def _job(self, request: HttpRequest, object_id: str) -> ImportJob:
        self._check_id(request, object_id)
        return self.get_object(request, object_id)

    def _context(self, request: HttpRequest, title: str, **extra) -> dict[str, Any]:
        return {**self.admin_site.each_context(request), "title": title, "subtitle": None, "opts": self.opts,
                "app_label": self.opts.app_label, "has_view_permission": True, **extra}

    # -- upload ----------------------------------------------------------------
    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None) -> HttpResponse:
        if not self.has_add_permission(request):
            raise Http404
        refusal = _too_large(request) if request.method == "POST" else ""
        if refusal:
            # Refused before the body is read: nobody waits for 2 GB to upload to hear "too large".
            form = UploadForm()
        elif request.method == "POST":
            form = UploadForm(request.POST, request.FILES)
            if form.is_valid():
                try:
                    job = receive_upload(owner=request.user, entity=form.cleaned_data["entity"],
                                         upload=form.cleaned_data["file"])
                except DomainError as exc:
                    form.add_error("file" if exc.code != "unknown_entity" else "entity", exc.detail)
                else:
                    return HttpResponseRedirect(reverse("admin:transfer_importjob_change", args=[job.pk]))
        else:
            form = UploadForm(initial={"entity": request.GET.get("entity", "contacts")})
        return TemplateResponse(request, "transfer/upload.html",
                                self._context(request, "Import a file", form=form, refusal=refusal))

    # -- the job's page ----------------------------------------------------------
    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        job = self._job(request, object_id)
        fail_if_worker_died(job)
        shown, problem = None, ""
        if job.is_runnable:
            try:
                shown = preview(job)
            except DomainError as exc:
                problem = exc.detail
        context = self._context(
            request, f"Import of {job.entity} from {job.file_name}", job=job, preview=shown,
            file_problem=problem, progress=progress_of(job), may_run=job.owner_id == request.user.pk,
            statuses=JobStatus, run_url=reverse("admin:transfer_importjob_run", args=[job.pk]),
            progress_url=reverse("admin:transfer_importjob_progress", args=[job.pk]),
            errors_url=reverse("admin:transfer_importjob_errors", args=[job.pk]),
            list_url=reverse("admin:transfer_importjob_changelist"))
        return TemplateResponse(request, "transfer/job.html", context)

    def run_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        job = self._job(request, object_id)
        dry_run = request.POST.get("mode") != "import"
        try:
            job = start_job(job, actor=request.user, dry_run=dry_run, atomic=request.POST.get("atomic") == "on")
        except DomainError as exc:
            messages.error(request, exc.detail)
        else:
            if job.task_id:  # handed to the queue
                messages.info(request, f"The file has {job.total:,} rows: it runs in the background. "
                                       "This page shows how far it is.")
        return HttpResponseRedirect(reverse("admin:transfer_importjob_change", args=[job.pk]))

    def progress_view(self, request: HttpRequest, object_id: str) -> JsonResponse:
        """What the job's page polls while the job waits or runs."""
        job = self._job(request, object_id)
        fail_if_worker_died(job)
        progress = progress_of(job)
        return JsonResponse({"status": job.status, "status_label": job.get_status_display(),
                             "active": job.is_active, "done": progress.done, "total": progress.total,
                             "percent": progress.percent, "rate": progress.rate, "eta": progress.eta})

    def errors_view(self, request: HttpRequest, object_id: str) -> FileResponse:
        job = self._job(request, object_id)
        path = errors_path(job)
        if not job.has_errors_file or job.is_active or not path.is_file():
            raise Http404("This job has no errors file.")
        stem = job.file_name.rsplit(".", 1)[0]
        return FileResponse(path.open("rb"), as_attachment=True, filename=f"{stem}-errors.csv",
                            content_type="text/csv; charset=utf-8")
