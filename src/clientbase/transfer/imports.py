"""Running an import: a checked table's rows, in batches, through an entity's
batch service; the outcome of every row counted, and each failed row
reported with its row number, column and message.

Modes: by default each batch commits on its own (good rows land, bad rows
are reported); `atomic` runs the whole file in one transaction that is
rolled back if any row failed; `dry_run` runs it the same way and always
rolls back, so that it validates exactly what a real run would — the
database's own checks included — and writes nothing.
"""

import csv
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Protocol

from django.db import DatabaseError, transaction
from django.utils import translation

from clientbase.core.batches import RowOutcome, RowStatus
from clientbase.core.errors import FieldError
from clientbase.transfer.readers import ERROR_COLUMNS, Row, Table

BATCH_SIZE = 1000
# The errors kept in memory for the summary; the errors file has them all.
KEPT_ERRORS = 1000


@dataclass
class RowError:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}{f', {self.column}' if self.column else ''}: {self.message}"


@dataclass
class ImportResult:
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[RowError] = field(default_factory=list)  # the first KEPT_ERRORS
    dry_run: bool = False
    atomic: bool = False

    @property
    def rolled_back(self) -> bool:
        """Whether nothing of the file stayed in the database."""
        return self.dry_run or (self.atomic and self.failed > 0)

    def count(self, outcome: RowOutcome) -> None:
        setattr(self, outcome.status.value, getattr(self, outcome.status.value) + 1)


Outcomes = list[tuple[Row, RowOutcome]]


class Entity(Protocol):
    """What an import needs to know of one kind of thing."""

    columns: Sequence[str]
    required: Sequence[str]

    def apply(self, rows: Sequence[Row], *, actor) -> Outcomes:
        """Write the rows through the domain's batch service; answers each
        row with its outcome. An entity may hold a row back (a child whose
        parent comes later in the file) and answer it with a later batch."""

    def finish(self, *, actor) -> Outcomes:
        """The rows still held back, once the file has ended."""


class Preparing(Entity, Protocol):
    """An entity that can turn a batch into its batch service's input without
    the database (parsing, cleaning): run_import then prepares the next batch
    in a thread while the current one is written, and passes what `prepare`
    answered to `apply(rows, actor=…, prepared=…)`."""

    def prepare(self, rows: Sequence[Row]) -> Any: ...


class ErrorsWriter:
    """The failed rows as a CSV that can be fixed and imported again: the
    input's columns, then `error_row`, `error_column`, `error_message`
    (several errors of one row joined by ` | ` and `; `)."""

    def __init__(self, path: str | Path, columns: Sequence[str]):
        self._file = open(path, "w", encoding="utf-8", newline="")
        self._columns = list(columns)
        self._writer = csv.writer(self._file)
        self._writer.writerow([*self._columns, *ERROR_COLUMNS])

    def write(self, row: Row, errors: Sequence[FieldError]) -> None:
        self._writer.writerow([*(row.values.get(c, "") for c in self._columns), row.number,
                               " | ".join(dict.fromkeys(e.field for e in errors if e.field)),
                               "; ".join(e.message for e in errors)])

    def close(self) -> None:
        self._file.close()


def _batches(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    while batch := list(islice(rows, size)):
        yield batch


Batch = tuple[list[Row], list[Row], Any]  # the batch's rows, its good rows, what prepare made of them


def _prepared_batches(table: Table, entity: Entity, size: int) -> Iterator[Batch]:
    """The table's batches; for an entity that prepares its rows, each read
    and prepared in a thread while the caller writes the one before (the
    driver releases the GIL while it waits for the database, so the file's
    parsing and cleaning run beside the database's work on another core)."""
    batches = _batches(table.rows(), size)
    prepare = getattr(entity, "prepare", None)
    language = translation.get_language()  # messages in the caller's language, as without the thread

    def next_batch() -> Batch | None:
        batch = next(batches, None)
        if batch is None:
            return None
        good = [row for row in batch if not row.problem]
        if prepare is None or not good:
            return batch, good, None
        with translation.override(language):
            return batch, good, prepare(good)

    if prepare is None:
        while (item := next_batch()) is not None:
            yield item
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-prepare") as pool:
        ahead = pool.submit(next_batch)
        while (item := ahead.result()) is not None:
            ahead = pool.submit(next_batch)
            yield item


def _apply(entity: Entity, rows: list[Row], actor, prepared: Any = None) -> Outcomes:
    """The batch in a savepoint; when the database refuses it (a unique key
    taken meanwhile by another writer), row by row, so that only the row at
    fault fails."""
    try:
        with transaction.atomic():
            if prepared is not None:
                return entity.apply(rows, actor=actor, prepared=prepared)
            return entity.apply(rows, actor=actor)
    except DatabaseError as exc:
        if len(rows) == 1:
            message = f"The database refused the row: {str(exc).strip() or type(exc).__name__}"
            return [(rows[0], RowOutcome.failed([FieldError("", message, "conflict")]))]
        return [pair for row in rows for pair in _apply(entity, [row], actor)]


def _report(result: ImportResult, pairs: Outcomes, errors: "ErrorsWriter | None") -> None:
    for row, outcome in pairs:
        result.count(outcome)
        if outcome.status == RowStatus.FAILED:
            for error in outcome.errors:
                if len(result.errors) < KEPT_ERRORS:
                    result.errors.append(RowError(row.number, error.field, error.message))
            if errors is not None:
                errors.write(row, outcome.errors)


def run_import(table: Table, entity: Entity, *, actor, dry_run: bool = False, atomic: bool = False,
               errors: ErrorsWriter | None = None, batch_size: int = BATCH_SIZE,
               progress: Callable[[int], Any] = lambda done: None) -> ImportResult:
    """Import every row of `table` as `entity` by `actor` (None: the system);
    returns the counts and the first errors. `progress(rows_done)` is called
    after each batch; `errors` receives every failed row."""
    result = ImportResult(total=table.total, dry_run=dry_run, atomic=atomic)
    done = 0
    whole = transaction.atomic() if dry_run or atomic else nullcontext()
    with whole:
        for batch, good, prepared in _prepared_batches(table, entity, batch_size):
            bad = [(row, RowOutcome.failed([FieldError("", row.problem, "bad_row")]))
                   for row in batch if row.problem]
            _report(result, bad + (_apply(entity, good, actor, prepared) if good else []), errors)
            done += len(batch)
            progress(done)
        with transaction.atomic():
            _report(result, entity.finish(actor=actor), errors)
        if result.rolled_back:
            transaction.set_rollback(True)
    return result
