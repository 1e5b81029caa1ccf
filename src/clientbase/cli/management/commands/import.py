"""`clientbase import ENTITY FILE`: upsert rows of a CSV or XLSX file by key."""

import gc
import sys

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from clientbase.cli.actors import AS_HELP, acting_account
from clientbase.core.errors import DomainError
from clientbase.transfer.entities import IMPORTS
from clientbase.transfer.imports import ErrorsWriter, ImportResult, run_import
from clientbase.transfer.readers import open_table

SHOWN_ERRORS = 20


class Command(BaseCommand):
    help = ("Import a CSV (UTF-8, `,` or `;`) or XLSX file: one row per object, a header row naming "
            "the API's fields, list fields as keys separated by `|`. Rows are matched by `key` "
            "(memberships: one a row, added or, with action=remove, removed; prices: by variant or "
            "product, market, currency, sale type and code, minimum quantity and validity): "
            "an existing one is updated, a new one created. By default good rows land and bad "
            "rows are reported with their row number, column and message.")

    def add_arguments(self, parser):
        parser.add_argument("entity", choices=sorted(IMPORTS), help="What the file holds.")
        parser.add_argument("file", help="The CSV or XLSX file.")
        parser.add_argument("--as", dest="as_email", metavar="EMAIL", help=AS_HELP)
        parser.add_argument("--dry-run", action="store_true",
                            help="Check every row as a real import would, then write nothing.")
        parser.add_argument("--atomic", action="store_true",
                            help="All or nothing: if any row fails, no row is written.")
        parser.add_argument("--errors", metavar="FILE",
                            help="Write the failed rows here (CSV: the file's columns plus error_row, "
                                 "error_column, error_message), to fix and import again.")

    def handle(self, *args, entity: str, file: str, as_email: str | None, dry_run: bool,
               atomic: bool, errors: str | None, **options) -> None:
        actor = acting_account(as_email)
        kind = IMPORTS[entity]()
        try:
            table = open_table(file, allowed=kind.columns, required=kind.required)
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        writer = ErrorsWriter(errors, table.columns) if errors else None
        console = Console(file=sys.stderr)
        progress = Progress(TextColumn(f"Importing {entity}"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[rate]} rows/s"), TimeRemainingColumn(),
                            console=console, disable=not console.is_terminal, transient=True)
        # What the process loaded so far (Django, the apps) lives until it ends: the garbage
        # collector need not scan it again at each of the import's many collections.
        gc.freeze()
        try:
            with progress:
                task = progress.add_task("import", total=table.total, rate="…")

                def advance(done: int) -> None:
                    elapsed = progress.tasks[0].elapsed or 0
                    rate = f"{done / elapsed:,.0f}" if elapsed else "…"
                    progress.update(task, completed=done, rate=rate)

                result = run_import(table, kind, actor=actor, dry_run=dry_run, atomic=atomic,
                                    errors=writer, progress=advance)
                elapsed = progress.tasks[0].elapsed or 0
        finally:
            if writer is not None:
                writer.close()
        self._summary(entity, result, elapsed, errors)

    def _summary(self, entity: str, result: ImportResult, elapsed: float, errors_file: str | None) -> None:
        rate = f", {result.total / elapsed:,.0f} rows/s" if elapsed and result.total else ""
        self.stdout.write(f"{entity}: {result.total} rows in {elapsed:.1f}s{rate} — {result.created} created, "
                          f"{result.updated} updated, {result.unchanged} unchanged, {result.failed} failed.")
        for error in result.errors[:SHOWN_ERRORS]:
            self.stdout.write(f"  {str(error)[:300]}")
        if result.failed > SHOWN_ERRORS:
            self.stdout.write(f"  … and {result.failed - SHOWN_ERRORS} more failed rows"
                              f"{f' (all in {errors_file})' if errors_file else ' (--errors FILE lists them all)'}.")
        if result.dry_run:
            self.stdout.write("Dry run: nothing was written.")
        elif result.rolled_back:
            self.stdout.write("--atomic: a row failed, so nothing was written.")
        if result.failed:
            raise CommandError(f"{result.failed} of {result.total} rows failed"
                               f"{'; nothing was written' if result.rolled_back else ''}.")
