"""Reading import files: CSV (UTF-8 with or without BOM, `,` or `;`) and XLSX,
streamed row by row so that memory stays flat whatever the file's size.

`open_table` checks the whole file before anything is written — encoding,
header, the size of every field — and raises `FileProblem` with one clear
message when the file cannot be imported at all. Rows then come as
`Row(number, values)`, numbered as a spreadsheet shows them (the header is
row 1).
"""

import csv
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from clientbase.core.errors import Invalid
from clientbase.transfer.columns import unneutralise

# The longest value a cell may hold. Far above any field clientbase keeps
# (a name holds 200 characters), far below what would hurt memory.
MAX_FIELD = 100_000
# Columns an errors file adds (see results.ErrorsWriter): a fixed errors file
# imports again, so the importer ignores them.
ERROR_COLUMNS = ("error_row", "error_column", "error_message")
_XLSX_MAGIC = b"PK\x03\x04"


class FileProblem(Invalid):
    """The file as a whole cannot be imported; nothing was written."""


@dataclass
class Row:
    number: int
    values: dict[str, str]
    problem: str = ""  # a row-level fault of the file itself (too many cells)


@dataclass
class Table:
    columns: list[str]
    total: int  # data rows, counted by the check
    _open_rows: object = field(repr=False, default=None)

    def rows(self) -> Iterator[Row]:
        return self._open_rows()


def _is_xlsx(path: Path) -> bool:
    if path.suffix.lower() == ".xlsx":
        return True
    with path.open("rb") as f:
        return f.read(4) == _XLSX_MAGIC


# --- CSV --------------------------------------------------------------------

def _csv_records(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(record number, cells) for each CSV record, header first (number 1).
    Raises FileProblem on an encoding error or an oversized field."""
    csv.field_size_limit(MAX_FIELD)
    with path.open("rb") as raw:
        start = raw.read(4096)
        raw.seek(0)
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        header_line = start.decode("utf-8-sig", errors="replace").splitlines()[0] if start else ""
        delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
        reader = csv.reader(text, delimiter=delimiter, strict=True)
        number = 0
        try:
            for number, cells in enumerate(reader, start=1):
                yield number, cells
        except UnicodeDecodeError as exc:
            raise FileProblem(detail=f"The file is not UTF-8 text (after row {number}): save it as "
                                     "CSV UTF-8 and import it again.", code="bad_encoding") from exc
        except csv.Error as exc:
            message = str(exc)
            if "field larger than field limit" in message:
                message = f"a field is longer than {MAX_FIELD:,} characters"
            raise FileProblem(detail=f"Row {number + 1}: {message}; nothing was imported.",
                              code="bad_csv") from exc


# --- XLSX -------------------------------------------------------------------

def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@contextmanager
def _workbook(path: Path):
    from zipfile import BadZipFile

    import openpyxl  # only XLSX files need it
    from openpyxl.utils.exceptions import InvalidFileException

    with path.open("rb") as f:  # a file object: openpyxl would judge a path by its extension
        try:
            book = openpyxl.load_workbook(f, read_only=True, data_only=True)
        except (BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
            raise FileProblem(detail=f"Not a readable XLSX workbook ({exc}).", code="bad_xlsx") from exc
        try:
            yield book
        finally:
            book.close()


def _xlsx_records(path: Path) -> Iterator[tuple[int, list[str]]]:
    with _workbook(path) as book:
        sheet = book.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [_cell_text(v) for v in values]


# --- both -------------------------------------------------------------------

def _records(path: Path) -> Iterator[tuple[int, list[str]]]:
    for number, cells in (_xlsx_records(path) if _is_xlsx(path) else _csv_records(path)):
        for cell in cells:
            if len(cell) > MAX_FIELD:
                raise FileProblem(detail=f"Row {number}: a field is longer than {MAX_FIELD:,} characters; "
                                         "nothing was imported.", code="field_too_long")
        if any(cell.strip() for cell in cells) or number == 1:
            yield number, cells


def _header(cells: list[str], allowed: Sequence[str], required: Sequence[str]) -> list[str]:
    columns = [c.strip() for c in cells]
    # Trailing empty header cells (a spreadsheet's formatting) are no columns.
    while columns and not columns[-1]:
        columns.pop()
    if not columns:
        raise FileProblem(detail="The file has no header row: its first row must name the columns "
                                 f"({', '.join(allowed)}).", code="missing_header")
    for column in columns:
        if column in ERROR_COLUMNS:
            continue
        if column not in allowed:
            raise FileProblem(detail=f"Unknown column '{column}'. Columns are: {', '.join(allowed)}.",
                              code="unknown_column")
    duplicates = sorted({c for c in columns if columns.count(c) > 1})
    if duplicates:
        raise FileProblem(detail=f"The column '{duplicates[0]}' appears twice.", code="duplicate_column")
    missing = [c for c in required if c not in columns]
    if missing:
        raise FileProblem(detail=f"Missing column '{missing[0]}' (the header row needs "
                                 f"{', '.join(required)}).", code="missing_column")
    return columns


def _rows(path: Path, columns: list[str]) -> Iterator[Row]:
    width = len(columns)
    kept = [(i, c) for i, c in enumerate(columns) if c not in ERROR_COLUMNS]
    records = _records(path)
    next(records)  # the header, checked already
    for number, cells in records:
        problem = ""
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            problem = f"The row has {len(cells)} cells but the header names {width} columns."
        cells = cells + [""] * (width - len(cells))
        yield Row(number, {c: unneutralise(cells[i]) for i, c in kept}, problem)


def open_table(path: str | Path, *, allowed: Sequence[str], required: Sequence[str]) -> Table:
    """Check the file at `path` from end to end and return its table.

    The header must name only `allowed` columns (in any order) and every
    `required` one. Raises FileProblem (with nothing written, since nothing
    was read into the database yet) on a missing file, a wrong encoding, a
    bad header or an oversized field.
    """
    path = Path(path)
    if not path.is_file():
        raise FileProblem(detail=f"No such file: {path}.", code="no_file")
    records = _records(path)
    first = next(records, None)
    columns = _header(first[1] if first else [], allowed, required)
    total = sum(1 for _ in records)  # reads to the end: every problem shows before any write
    return Table(columns=[c for c in columns if c not in ERROR_COLUMNS], total=total,
                 _open_rows=lambda: _rows(path, columns))
