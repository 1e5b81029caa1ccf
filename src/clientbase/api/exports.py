"""/api/v1/exports/{entity}: contacts, organizations, customer groups,
memberships or prices as the caller sees them, streamed as CSV, XLSX or JSON
lines — the files `clientbase export` writes and `clientbase import` reads."""

from enum import Enum

from django.http import HttpRequest, StreamingHttpResponse
from ninja import Path, Query, Router, Schema
from pydantic import Field

from clientbase.core.errors import Forbidden, NotFound
from clientbase.transfer.exports import CONTENT_TYPES, EXPORTS, export_pieces, exportable

router = Router(tags=["exports"])


class ExportFormat(str, Enum):
    CSV = "csv"
    XLSX = "xlsx"
    JSONL = "jsonl"


class ExportParams(Schema):
    format: ExportFormat = Field(ExportFormat.CSV, description="csv (the default), xlsx or jsonl.")


class ExportPath(Schema):
    entity: str = Field(..., max_length=50, json_schema_extra={"enum": sorted(EXPORTS)},
                        description="What to export.")


FILE_RESPONSE = {
    "description": "The file, streamed: a header row naming the API's fields, then one row per object "
                   "(lists as keys separated by `|`; cells a spreadsheet would run start with an "
                   "apostrophe); JSON lines: one object per line, lists as lists.",
    "content": {
        CONTENT_TYPES["csv"].split(";")[0]: {"schema": {"type": "string"}},
        CONTENT_TYPES["jsonl"].split(";")[0]: {"schema": {"type": "string"}},
        CONTENT_TYPES["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
    },
}


@router.get("/{entity}", summary="Export what you see as a file", openapi_extra={"responses": {200: FILE_RESPONSE}})
def export_entity(request: HttpRequest, path: Path[ExportPath], params: Query[ExportParams]):
    """Needs the permission to view the entity (as its list does: price rows
    need `pricing.view_pricerow`, memberships `customers.view_contact`); holds
    only what the list endpoints would show the caller."""
    if not exportable(request.user):
        # Before the entity is judged: a caller who may export nothing learns nothing here.
        raise Forbidden(detail="You may not export anything.", code="forbidden")
    if path.entity not in EXPORTS:
        raise NotFound(detail=f"No export named '{path.entity}'; exports are {', '.join(sorted(EXPORTS))}.",
                       code="not_found")
    file_format = params.format.value
    # Checked here, before the answer starts: a 403 is a problem, not a broken file.
    pieces = export_pieces(path.entity, actor=request.user, file_format=file_format)
    response = StreamingHttpResponse(
        (piece.encode() if isinstance(piece, str) else piece for piece in pieces),
        content_type=CONTENT_TYPES[file_format])
    response["Content-Disposition"] = f'attachment; filename="{path.entity}.{file_format}"'
    return response
