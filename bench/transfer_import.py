"""`python -m bench.transfer_import [--rows N] [--workdir DIR]`: time
`clientbase import contacts` on N generated rows (each with two
organizations and a customer group), then the same file again (every row
unchanged), then with every name changed (every row updated).

Runs against the database of DATABASE_URL (default: a fresh SQLite file in
the work directory), which it migrates and fills with the demo data first;
use a scratch database: it adds N contacts.
"""

import argparse
import csv
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

HEADER = ["key", "first_name", "last_name", "email", "phone", "birth_date", "preferred_language",
          "preferred_currency", "organizations", "customer_groups"]
ORGS = ["EU-HQ|EU-MGMT", "US-HQ|US-SALES", "ADMIN|EU-HQ"]
GROUPS = ["GOLD", "SILVER", "BRONZE"]


def generate(path: Path, rows: int, suffix: str = "") -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for i in range(rows):
            writer.writerow([f"BENCH-{i}", f"First{i}{suffix}", f"Last{i % 5000}", f"bench{i}@example.com",
                             f"+49301{i:07d}", f"19{50 + i % 50}-0{1 + i % 9}-1{i % 10}", "de", "EUR",
                             ORGS[i % 3], GROUPS[i % 3]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--workdir", default=tempfile.mkdtemp(prefix="cb-bench-transfer-"))
    args = parser.parse_args()
    workdir = Path(args.workdir)
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clientbase.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.core.management.base import CommandError
    from django.db import connection

    call_command("migrate", verbosity=0)
    call_command("demo", stdout=open(os.devnull, "w"))
    first, changed = workdir / "contacts.csv", workdir / "changed.csv"
    generate(first, args.rows)
    generate(changed, args.rows, suffix="x")
    print(f"{connection.vendor}, {args.rows:,} rows, Python {sys.version.split()[0]}")
    for label, path in (("create", first), ("unchanged", first), ("update", changed)):
        started = time.perf_counter()
        try:
            call_command("import", "contacts", str(path), stdout=open(os.devnull, "w"))
        except CommandError as exc:
            print(f"  {label}: {exc}")
        elapsed = time.perf_counter() - started
        print(f"  {label:9} {elapsed:6.1f}s  {args.rows / elapsed:8,.0f} rows/s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak RSS {peak:,.0f} MB")


if __name__ == "__main__":
    main()
