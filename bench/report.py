"""Print results as a rich table and record them in docs/benchmarks.md."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.measure import Result

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
RUNS_MARKER = "<!-- runs: scripts/bench appends below this line -->"

# The targets, on PostgreSQL at large scale.
TARGET_P50_MS = 20.0
TARGET_RATIO = 1.5


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}×"


def table(results: list[Result], title: str, a: str = "ORM", b: str = "SQL") -> Table:
    """`a` and `b` name the two ways a case is computed (ORM vs hand-written
    SQL; for the tree cases, path range vs recursive CTE)."""
    t = Table(title=title, title_justify="left")
    t.add_column("case")
    t.add_column("rows", justify="right")
    for column in (f"{a} p50 ms", f"{a} p95 ms", f"{b} p50 ms", f"{b} p95 ms", f"{a}/{b}"):
        t.add_column(column, justify="right")
    t.add_column("note")
    for r in results:
        flag = ""
        if r.ratio is not None and r.labels == ("ORM", "SQL"):
            ok = r.orm_p50 <= TARGET_P50_MS and r.ratio <= TARGET_RATIO
            flag = "[green]✓[/]" if ok else "[red]✗[/]"
        t.add_row(r.name, str(r.rows), _ms(r.orm_p50), _ms(r.orm_p95), _ms(r.sql_p50),
                  _ms(r.sql_p95), f"{_ratio(r.ratio)} {flag}".strip(), r.note)
    return t


def markdown(results: list[Result], heading: str, facts: list[str]) -> str:
    lines = [f"### {heading}", ""]
    lines += [f"- {fact}" for fact in facts]
    for labels, group in grouped(results):
        lines += _md_table(group, *labels)
    return "\n".join(lines) + "\n"


def grouped(results: list[Result]) -> list[tuple[tuple[str, str], list[Result]]]:
    """Results grouped by what their two columns compare, in first-seen order."""
    groups: dict[tuple[str, str], list[Result]] = {}
    for r in results:
        groups.setdefault(r.labels, []).append(r)
    return list(groups.items())


def _md_table(results: list[Result], a: str, b: str) -> list[str]:
    lines = ["", f"| case | rows | {a} p50 ms | {a} p95 ms | {b} p50 ms | {b} p95 ms | {a}/{b} | note |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in results:
        lines.append(f"| {r.name} | {r.rows} | {_ms(r.orm_p50)} | {_ms(r.orm_p95)} | "
                     f"{_ms(r.sql_p50)} | {_ms(r.sql_p95)} | {_ratio(r.ratio)} | {r.note} |")
    return lines


def record(text: str, path: Path = DOCS) -> None:
    """Append a run's section after the runs marker of docs/benchmarks.md."""
    content = path.read_text() if path.exists() else f"# Benchmarks\n\n{RUNS_MARKER}\n"
    if RUNS_MARKER not in content:
        content = content.rstrip("\n") + f"\n\n{RUNS_MARKER}\n"
    path.write_text(content.rstrip("\n") + "\n\n" + text)


def now_utc() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


import sys  # noqa: E402

# Wide enough for the tables when the output is a pipe or a log file.
console = Console(width=None if sys.stdout.isatty() else 150)
