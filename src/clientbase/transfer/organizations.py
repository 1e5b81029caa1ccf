"""Organizations in files: `key`, `name`, `kind`, `parent` (a key; empty: a
root) and `customer_groups`, upserted by key. Parents may come after their
children: a row whose parent is not there yet waits until it is (or the
file ends)."""

from collections.abc import Sequence

from clientbase.core.batches import RowOutcome, RowStatus
from clientbase.core.errors import FieldError
from clientbase.customers.services.organization_batches import (
    UNKNOWN_PARENT, OrganizationRow, upsert_organizations,
)
from clientbase.transfer.columns import split_keys
from clientbase.transfer.readers import Row


def _waits(outcome: RowOutcome) -> bool:
    """Whether a row failed only because its parent does not exist (yet)."""
    return outcome.status == RowStatus.FAILED and all(e.code == UNKNOWN_PARENT for e in outcome.errors)


class OrganizationsEntity:
    name = "organizations"
    columns = ("key", "name", "kind", "parent", "customer_groups")
    required = ("key",)

    def __init__(self):
        # Rows waiting for their parent: as many as the file has children
        # before their parents (organization files are small).
        self.waiting: list[Row] = []

    @staticmethod
    def _row(row: Row) -> OrganizationRow:
        values = row.values
        return OrganizationRow(
            key=values["key"].strip() or None,
            # An empty kind is the default for a new organization and no change for another.
            fields={name: values[name] for name in ("name", "kind") if values.get(name, "").strip()
                    or name == "name" and name in values},
            parent=values.get("parent", "").strip() or None,
            parent_given="parent" in values,
            customer_groups=split_keys(values["customer_groups"]) if "customer_groups" in values else None,
        )

    def _run(self, rows: Sequence[Row], actor) -> list[tuple[Row, RowOutcome]]:
        return list(zip(rows, upsert_organizations([self._row(r) for r in rows], actor=actor)))

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
                message = f"The parents form a cycle: {' → '.join([*cycle, key])}."
                answered.append((row, RowOutcome.failed([FieldError("parent", message, "cycle")])))
            else:
                message = f"No organization with key '{row.values['parent'].strip()}'."
                answered.append((row, RowOutcome.failed([FieldError("parent", message, UNKNOWN_PARENT)])))
        return answered
