"""The `clientbase` command: Django's manage.py, plus clientbase's own commands
(serve, demo, createtoken, import, export)."""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clientbase.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["clientbase", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
