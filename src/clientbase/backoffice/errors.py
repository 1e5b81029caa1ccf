"""Domain errors in the back office: a message on the page, never a 500."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from clientbase.core.errors import DomainError


def change_url_of_delete(path: str) -> str:
    """The change page of the object whose delete page is `path`."""
    return path.removesuffix("delete/") + "change/" if path.endswith("/delete/") else path


class DomainErrorsAsMessages:
    """A ModelAdmin mixin: a DomainError that slips past a form (a race with
    another writer; the transaction is rolled back already) or that a delete
    raises (a non-empty organization, a market with prices) becomes an error
    message on the page it came from."""

    def changeform_view(self, request: HttpRequest, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as exc:
            messages.error(request, exc.detail)
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(self, request: HttpRequest, object_id: str, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except DomainError as exc:
            messages.error(request, exc.detail)
            return HttpResponseRedirect(change_url_of_delete(request.path))

    def response_action(self, request: HttpRequest, queryset) -> HttpResponse | None:
        try:
            return super().response_action(request, queryset)
        except DomainError as exc:
            messages.error(request, exc.detail)
            return HttpResponseRedirect(request.get_full_path())
