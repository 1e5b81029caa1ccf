"""`clientbase export ENTITY`: what an account sees, as CSV, XLSX or JSON lines."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from clientbase.cli.actors import AS_HELP, acting_account
from clientbase.core.errors import DomainError
from clientbase.core.permissions import require
from clientbase.transfer.exports import EXPORTS, FORMATS, write_export


class Command(BaseCommand):
    help = ("Export contacts, organizations, customer groups, memberships or prices with the API's field names as columns (lists as keys "
            "separated by `|`): the file imports back with `clientbase import`. Cells a spreadsheet "
            "would run as formulas get a leading apostrophe.")

    def add_arguments(self, parser):
        parser.add_argument("entity", choices=sorted(EXPORTS), help="What to export.")
        parser.add_argument("--as", dest="as_email", metavar="EMAIL",
                            help=AS_HELP + " Only what the account may see is exported.")
        parser.add_argument("--format", choices=FORMATS,
                            help="csv (default), xlsx or jsonl; by default from the -o file's extension.")
        parser.add_argument("-o", "--output", metavar="FILE", help="Write here rather than to standard output.")

    def handle(self, *args, entity: str, as_email: str | None, format: str | None, output: str | None,
               **options) -> None:
        actor = acting_account(as_email)
        suffix = Path(output).suffix.lower().lstrip(".") if output else ""
        file_format = format or (suffix if suffix in FORMATS else "csv")
        if file_format == "xlsx" and not output:
            raise CommandError("An XLSX export needs a file: add -o FILE.xlsx.")
        try:
            require(actor, EXPORTS[entity][2])  # before a file is opened
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        if output is None:
            write_export(entity, self.stdout, actor=actor, file_format=file_format)
            return
        mode = ("wb", {}) if file_format == "xlsx" else ("w", {"encoding": "utf-8", "newline": ""})
        try:
            with open(output, mode[0], **mode[1]) as out:
                count = write_export(entity, out, actor=actor, file_format=file_format)
        except OSError as exc:
            raise CommandError(f"Cannot write {output}: {exc.strerror or exc}.") from exc
        sys.stderr.write(f"{entity}: {count} rows written to {output}.\n")
