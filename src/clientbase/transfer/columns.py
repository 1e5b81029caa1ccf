"""Cells as files hold them: list fields are keys joined by `|`."""

from collections.abc import Iterable

LIST_SEPARATOR = "|"


def split_keys(cell: str) -> list[str]:
    """The keys of a list cell, in order, blanks dropped: "A| B|" → ["A", "B"]."""
    return [key for key in (part.strip() for part in cell.split(LIST_SEPARATOR)) if key]


def join_keys(keys: Iterable[str | None]) -> str:
    return LIST_SEPARATOR.join(sorted(k for k in keys if k))


# A spreadsheet runs a cell that starts with one of these as a formula
# (`=cmd|' /C calc'!A0`); exports put an apostrophe in front, which the
# spreadsheet shows as text and imports take off again.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: str) -> str:
    """`value` as a cell no spreadsheet will run: "=1+2" → "'=1+2"."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def unneutralise(value: str) -> str:
    """The value an exported cell held: "'=1+2" → "=1+2", "'+4930…" → "+4930…"."""
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_STARTS) else value
