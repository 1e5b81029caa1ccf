"""Files of independent rows (memberships, prices): no row waits for
another. Each row's cells are converted to the batch service's input — a
cell that cannot be read (a bad number, a bad date) fails its row with its
column — and the good rows go to the service in one call."""

from collections.abc import Sequence

from clientbase.core.batches import RowOutcome
from clientbase.core.errors import FieldError
from clientbase.transfer.readers import Row


class CellError(Exception):
    """A cell that cannot be read as its column's type."""

    def __init__(self, column: str, message: str):
        super().__init__(message)
        self.error = FieldError(column, message, "invalid")


class FlatEntity:
    """An import entity whose rows stand alone; a subclass says how a row
    becomes the service's input (`convert`, raising CellError) and which
    batch service writes them (`upsert`)."""

    def convert(self, row: Row):
        raise NotImplementedError

    def upsert(self, inputs: list, *, actor) -> list[RowOutcome]:
        raise NotImplementedError

    def apply(self, rows: Sequence[Row], *, actor) -> list[tuple[Row, RowOutcome]]:
        answered: list[RowOutcome | None] = [None] * len(rows)
        good, inputs = [], []
        for index, row in enumerate(rows):
            try:
                inputs.append(self.convert(row))
                good.append(index)
            except CellError as exc:
                answered[index] = RowOutcome.failed([exc.error])
        for index, outcome in zip(good, self.upsert(inputs, actor=actor) if inputs else []):
            answered[index] = outcome
        return list(zip(rows, answered))

    def finish(self, *, actor) -> list[tuple[Row, RowOutcome]]:
        return []


def cell(row: Row, column: str) -> str:
    """The cell's text without surrounding blanks ("" when the file has no such column)."""
    return row.values.get(column, "").strip()
