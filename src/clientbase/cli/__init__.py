"""The command-line door: `clientbase` is Django's manage.py, plus
clientbase's own commands in `management/commands` (serve, demo, createtoken).
Like every door it only translates: the commands call the domains' services."""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clientbase.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["clientbase", *(sys.argv[1:] if argv is None else argv)])

