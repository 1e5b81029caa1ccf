"""Helpers for import and export tests: files written from rows, commands run
as a user would."""

import csv
from pathlib import Path

import pytest
from django.core.management import ManagementUtility, call_command
from django.core.management.base import CommandError
from django.db import connections

from tests.pricing import conftest as pricing_fixtures


def write_csv(path: Path, rows: list[list[str]], *, delimiter: str = ",", bom: bool = False) -> Path:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as f:
        csv.writer(f, delimiter=delimiter).writerows(rows)
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def run(capsys):
    """run("import", "contacts", FILE, ...) → (stdout, error or None): the
    command's output, and the CommandError message when it failed."""

    def run_command(*args: str) -> tuple[str, str | None]:
        try:
            call_command(*args)
        except CommandError as exc:
            return capsys.readouterr().out, str(exc)
        return capsys.readouterr().out, None

    return run_command


@pytest.fixture
def run_cli(capsys, monkeypatch):
    """The command line as a shell runs it: (exit code, stdout, stderr)."""
    # The command line closes every connection on the way out; that would end
    # the test's own transaction on PostgreSQL.
    monkeypatch.setattr(connections, "close_all", lambda: None)

    def run_command(*args: str) -> tuple[int, str, str]:
        code = 0
        try:
            ManagementUtility(["clientbase", *args]).execute()
        except SystemExit as exited:
            code = exited.code
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run_command


# The pricing tests' catalog (markets EU and US, a T-shirt in S, M, L) and
# their `price(...)` helper, for price files.
catalog, price = pricing_fixtures.catalog, pricing_fixtures.price
