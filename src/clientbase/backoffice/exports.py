"""Exports from the back office's lists: the selected rows (or, with "select
all", the whole list as filtered) of contacts, organizations, customer
groups, price rows — and the memberships of selected contacts or
organizations — as CSV, XLSX or JSON lines.

The page only translates: the file is `transfer.exports.export_pieces`,
the API's and the command line's export (the API's field names, what the
staff member sees, formula cells neutralised), limited to the selection and
streamed as it is written.
"""

from collections.abc import Callable

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone

from clientbase.transfer.exports import CONTENT_TYPES, FORMATS, export_pieces

FORMAT_NAMES = {"csv": "CSV", "xlsx": "XLSX", "jsonl": "JSON lines"}


def export_response(entity: str, request: HttpRequest, file_format: str, selection: QuerySet,
                    name: str | None = None) -> StreamingHttpResponse:
    """The export of `selection` as a streamed download named
    `<name or entity>-<time>.<format>`. Raises the export's DomainError
    (Forbidden) before anything is sent."""
    pieces = export_pieces(entity, actor=request.user, file_format=file_format, selection=selection)
    response = StreamingHttpResponse((p.encode() if isinstance(p, str) else p for p in pieces),
                                     content_type=CONTENT_TYPES[file_format])
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="{name or entity}-{stamp}.{file_format}"'
    return response


def _export_action(entity: str, file_format: str, action_name: str, description: str) -> Callable:
    def export(model_admin, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        # A permission the list's own does not imply (memberships need view_contact) is
        # refused before the answer starts: a message on the list (DomainErrorsAsMessages).
        return export_response(entity, request, file_format, queryset)

    export.__name__ = action_name
    return admin.action(description=description, permissions=["view"])(export)


def export_actions(entity: str, *, what: str = "the selection", prefix: str = "export") -> list[Callable]:
    """A list's admin actions exporting `entity` for the selected rows, one
    per format, named `<prefix>_<format>` ("export_csv", …) and described
    "Export <what> as <format>"."""
    return [_export_action(entity, file_format, f"{prefix}_{file_format}",
                           f"Export {what} as {FORMAT_NAMES[file_format]}")
            for file_format in FORMATS]
