"""Files of trees (organizations, customer groups): rows name their parent by
key, in any order. A row whose parent is not there yet waits until it is —
later in the file — and when the file ends, the rows still waiting fail:
their parents form a cycle, or do not exist."""

from collections.abc import Sequence

from clientbase.core.batches import RowOutcome, RowStatus
from clientbase.core.errors import FieldError
from clientbase.customers.services.organization_batches import UNKNOWN_PARENT
from clientbase.transfer.readers import Row


def _waits(outcome: RowOutcome) -> bool:
    """Whether a row failed only because its parent does not exist (yet)."""
    return outcome.status == RowStatus.FAILED and all(e.code == UNKNOWN_PARENT for e in outcome.errors)


class TreeEntity:
    """An import entity whose rows have `key` and `parent` columns; a
    subclass says how a row becomes the batch service's input (`convert`)
    and which service writes it (`upsert`)."""

    label = "organization"

    def __init__(self):
        # Rows waiting for their parent: as many as the file has children
        # before their parents (tree files are small).
        self.waiting: list[Row] = []

    def convert(self, row: Row):
        raise NotImplementedError

    def upsert(self, rows: list, *, actor) -> list[RowOutcome]:
        raise NotImplementedError

    def _run(self, rows: Sequence[Row], actor) -> list[tuple[Row, RowOutcome]]:
        return list(zip(rows, self.upsert([self.convert(r) for r in rows], actor=actor)))

    def apply(self, rows: Sequence[Row], *, actor) -> list[tuple[Row, RowOutcome]]:
        answered = []
        pending = [*self.waiting, *rows]
        while True:
            pairs = self._run(pending, actor)
            answered += [(row, outcome) for row, outcome in pairs if not _waits(outcome)]
            still = [row for row, outcome in pairs if _waits(outcome)]
            if len(still) == len(pending) or not still:
                break
            pending = still  # some parents arrived: their children may go now
        self.waiting = still
        return answered

    def finish(self, *, actor) -> list[tuple[Row, RowOutcome]]:
        waiting, self.waiting = self.waiting, []
        parents = {r.values["key"].strip(): r.values.get("parent", "").strip() for r in waiting}
        answered = []
        for row in waiting:
            key, seen = row.values["key"].strip(), []
            while key in parents and key not in seen:
                seen.append(key)
                key = parents[key]
            if key in seen:  # the chain of parents came back: a cycle within the file
                cycle = seen[seen.index(key):]
                error = FieldError("parent", f"The parents form a cycle: {' → '.join([*cycle, key])}.", "cycle")
            else:
                error = FieldError("parent", f"No {self.label} with key '{row.values['parent'].strip()}'.",
                                   UNKNOWN_PARENT)
            answered.append((row, RowOutcome.failed([error])))
        return answered
