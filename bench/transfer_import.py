"""`scripts/bench transfer [--rows N | --million] [--database sqlite|postgres|both]
[--repeat R] [--memory]`: time `clientbase import contacts` on N generated
rows (default 100,000; `--million`: 1,000,000), each with two organizations
and a customer group, next to a raw load of the same rows into the same
tables in the same run — PostgreSQL `COPY`, SQLite `executemany`, no
validation, no history — and print rows/s and their ratio.

Each step runs in a process of its own (`--step`), so that the peak RSS it
reports is the import's own. Per database: migrate and load the demo data
into a scratch database (a new SQLite file; a new PostgreSQL database on the
server of DATABASE_URL, default postgres://postgres@127.0.0.1:5432, dropped
at the end), then R times: raw load, remove its rows, import (create),
remove them; then the import once more (create), the same file again (every
row unchanged) and a file with every first name changed (every row
updated). `--memory` also imports 100,000 and 1,000,000 rows on PostgreSQL
and compares their peak RSS.
"""

import argparse
import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HEADER = ["key", "first_name", "last_name", "email", "phone", "birth_date", "preferred_language",
          "preferred_currency", "organizations", "customer_groups"]
ORGS = ["EU-HQ|EU-MGMT", "US-HQ|US-SALES", "ADMIN|EU-HQ"]
GROUPS = ["GOLD", "SILVER", "BRONZE"]
PREFIX = "BENCH-"
BATCH = 1000
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432"


def generate(path: Path, rows: int, suffix: str = "") -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for i in range(rows):
            writer.writerow([f"{PREFIX}{i}", f"First{i}{suffix}", f"Last{i % 5000}", f"bench{i}@example.com",
                             f"+49301{i:07d}", f"19{50 + i % 50}-0{1 + i % 9}-1{i % 10}", "de", "EUR",
                             ORGS[i % 3], GROUPS[i % 3]])


# --- steps (in a configured Django process) ---------------------------------

def raw_load(path: Path) -> int:
    """Load the file's rows into the contacts table and the two membership
    tables as fast as the database takes them: CSV parsed, keys looked up in
    a dict, batches of BATCH rows, each committed; COPY on PostgreSQL,
    executemany on SQLite. No validation, no history, no version."""
    from django.db import connection, transaction
    from django.utils import timezone

    from clientbase.customers.models import Contact, ContactSource, CustomerGroup, Organization

    orgs = dict(Organization.objects.values_list("key", "id"))
    groups = dict(CustomerGroup.objects.values_list("key", "id"))
    contacts = Contact._meta.db_table
    org_table = Contact.organizations.through._meta.db_table
    group_table = Contact.customer_groups.through._meta.db_table
    columns = ("id", "version", "created_at", "updated_at", "key", "first_name", "last_name", "email", "phone",
               "birth_date", "preferred_language", "preferred_currency", "source", "search_first_name",
               "search_last_name")
    postgres = connection.vendor == "postgresql"
    now = timezone.now()
    stamp = now if postgres else connection.ops.adapt_datetimefield_value(now)

    def write(cursor, table, names, rows):
        if postgres:
            with cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('%s' for _ in names)})",
                               rows)

    count = 0
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        while True:
            batch = [row for _, row in zip(range(BATCH), reader)]
            if not batch:
                break
            people, in_orgs, in_groups = [], [], []
            for key, first, last, email, phone, birth, lang, currency, org_keys, group_keys in batch:
                pk = uuid.uuid4()
                ref = pk if postgres else pk.hex
                people.append((ref, 1, stamp, stamp, key, first, last, email, phone, birth, lang, currency,
                               ContactSource.IMPORT, first.casefold(), last.casefold()))
                in_orgs += [(ref, orgs[k] if postgres else orgs[k].hex) for k in org_keys.split("|")]
                in_groups += [(ref, groups[k] if postgres else groups[k].hex) for k in group_keys.split("|")]
            with transaction.atomic(), connection.cursor() as cursor:
                write(cursor, contacts, columns, people)
                write(cursor, org_table, ("contact_id", "organization_id"), in_orgs)
                write(cursor, group_table, ("contact_id", "customergroup_id"), in_groups)
            count += len(batch)
    return count


def remove_bench_rows() -> None:
    """Delete the contacts a run added (their memberships and history too), by SQL."""
    from django.db import connection, transaction
    from simple_history.models import HistoricalRecords

    from clientbase.customers.models import Contact

    history = Contact.history.model
    snapshots = [m for f, m in HistoricalRecords.m2m_models.items() if f.model is history]
    contacts = f"SELECT id FROM {Contact._meta.db_table} WHERE key LIKE '{PREFIX}%'"
    records = f"SELECT history_id FROM {history._meta.db_table} WHERE key LIKE '{PREFIX}%'"
    with transaction.atomic(), connection.cursor() as cursor:
        for model in snapshots:
            cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE history_id IN ({records})")
        cursor.execute(f"DELETE FROM {history._meta.db_table} WHERE key LIKE '{PREFIX}%'")
        for through in (Contact.organizations.through, Contact.customer_groups.through):
            cursor.execute(f"DELETE FROM {through._meta.db_table} WHERE contact_id IN ({contacts})")
        cursor.execute(f"DELETE FROM {Contact._meta.db_table} WHERE key LIKE '{PREFIX}%'")


def import_file(path: Path) -> str:
    """`clientbase import contacts FILE` as the command line runs it; its summary line."""
    from django.core.management import call_command
    from django.core.management.base import CommandError

    out = tempfile.TemporaryFile("w+")
    try:
        call_command("import", "contacts", str(path), stdout=out)
    except CommandError as exc:
        out.write(f"FAILED: {exc}\n")
    out.seek(0)
    return out.read().strip().splitlines()[0]


def _step(name: str, path: str) -> None:
    """Run one step in this process; print its seconds and peak RSS as JSON."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clientbase.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    def cpu() -> float:
        """CPU seconds of this process and of its database server process (PostgreSQL on this machine)."""
        usage = resource.getrusage(resource.RUSAGE_SELF)
        seconds = usage.ru_utime + usage.ru_stime
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pid = cursor.fetchone()[0]
            try:
                stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                seconds += (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
            except OSError:  # a server elsewhere: its CPU is not counted
                pass
        return seconds

    connection.ensure_connection()
    cpu_before = cpu()
    started = time.perf_counter()
    answer: dict = {}
    if name == "setup":
        call_command("migrate", verbosity=0)
        call_command("demo", stdout=open(os.devnull, "w"))
        connection.cursor().execute("ANALYZE")
        version = (".".join(map(str, connection.Database.sqlite_version_info)) if connection.vendor == "sqlite"
                   else f"{connection.pg_version // 10000}.{connection.pg_version % 100}")
        answer["database"] = f"{connection.vendor} {version}"
    elif name == "raw":
        raw_load(Path(path))
    elif name == "remove":
        remove_bench_rows()
    elif name == "import":
        answer["summary"] = import_file(Path(path))
    answer["seconds"] = time.perf_counter() - started
    answer["cpu_seconds"] = cpu() - cpu_before
    answer["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(answer))


# --- the run -------------------------------------------------------------------

def _run_step(url: str, name: str, path: Path | str = "") -> dict:
    env = {**os.environ, "DATABASE_URL": url}
    done = subprocess.run([sys.executable, "-m", "bench.transfer_import", "--step", name, str(path)],
                          env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"step {name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


class Database:
    """A scratch database: a new SQLite file, or a new PostgreSQL database."""

    def __init__(self, vendor: str, workdir: Path):
        self.vendor = vendor
        if vendor == "sqlite":
            self.url = f"sqlite:///{workdir / 'bench.sqlite3'}"
        else:
            server = os.environ.get("BENCH_POSTGRES", DEFAULT_SERVER).rstrip("/")
            self.name = f"cb_bench_transfer_{os.getpid()}"
            self.admin = f"{server}/postgres"
            self.url = f"{server}/{self.name}"
            self._sql(f"CREATE DATABASE {self.name}")

    def _sql(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.admin.replace("postgres://", "postgresql://"), autocommit=True) as conn:
            conn.execute(statement)

    def drop(self) -> None:
        if self.vendor == "postgresql":
            self._sql(f"DROP DATABASE IF EXISTS {self.name}")


def _rate(rows: int, seconds: float) -> float:
    return rows / seconds if seconds else 0.0


def measure(vendor: str, rows: int, repeat: int, workdir: Path) -> dict:
    first, changed = workdir / f"contacts-{rows}.csv", workdir / f"changed-{rows}.csv"
    if not first.exists():
        generate(first, rows)
        generate(changed, rows, suffix="x")
    db = Database(vendor, workdir / vendor)
    try:
        (workdir / vendor).mkdir(exist_ok=True)
        result = {"vendor": vendor, "rows": rows, **_run_step(db.url, "setup")}
        raw, created, raw_cpu, created_cpu = [], [], [], []
        for _ in range(repeat):
            step = _run_step(db.url, "raw", first)
            raw.append(_rate(rows, step["seconds"]))
            raw_cpu.append(_rate(rows, step["cpu_seconds"]))
            _run_step(db.url, "remove")
            step = _run_step(db.url, "import", first)
            created.append(_rate(rows, step["seconds"]))
            created_cpu.append(_rate(rows, step["cpu_seconds"]))
            print(f"  {vendor}: raw {raw[-1]:,.0f} rows/s ({raw_cpu[-1]:,.0f} per CPU-s), import {created[-1]:,.0f} "
                  f"rows/s ({created_cpu[-1]:,.0f} per CPU-s) "
                  f"({step['summary']})", file=sys.stderr)
            _run_step(db.url, "remove")
        create = _run_step(db.url, "import", first)
        created.append(_rate(rows, create["seconds"]))
        created_cpu.append(_rate(rows, create["cpu_seconds"]))
        unchanged = _run_step(db.url, "import", first)
        updated = _run_step(db.url, "import", changed)
        result.update(
            raw=raw, create=created, create_summary=create["summary"], raw_cpu=raw_cpu, create_cpu=created_cpu,
            unchanged=_rate(rows, unchanged["seconds"]), update=_rate(rows, updated["seconds"]),
            peak_rss_mb=max(create["peak_rss_mb"], unchanged["peak_rss_mb"], updated["peak_rss_mb"]),
        )
        return result
    finally:
        db.drop()


def _best_median(rates: list[float]) -> str:
    return f"{max(rates):,.0f} / {statistics.median(rates):,.0f}"


def report(results: list[dict], repeat: int) -> str:
    lines = ["| database | rows | raw load rows/s (best / median) | import rows/s (best / median) | "
             "import ÷ raw (best) | raw / import rows per CPU-second | unchanged rows/s | update rows/s | "
             "import peak RSS |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        ratio = max(r["create"]) / max(r["raw"])
        cpu = f"{max(r['raw_cpu']):,.0f} / {max(r['create_cpu']):,.0f}" if r.get("raw_cpu") else "—"
        lines.append(f"| {r['database']} | {r['rows']:,} | {_best_median(r['raw'])} | {_best_median(r['create'])} | "
                     f"{ratio:.2f}× | {cpu} | {r['unchanged']:,.0f} | {r['update']:,.0f} | "
                     f"{r['peak_rss_mb']:,.0f} MB |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--million", action="store_true", help="1,000,000 rows")
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=1, help="raw load and import (create) R times")
    parser.add_argument("--memory", action="store_true",
                        help="also: peak RSS of importing 100,000 and 1,000,000 rows on PostgreSQL")
    parser.add_argument("--only-memory", action="store_true", help="only the --memory comparison")
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--step", nargs=2, metavar=("NAME", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        _step(*args.step)
        return
    rows = 1_000_000 if args.million else args.rows
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="cb-bench-transfer-"))
    workdir.mkdir(parents=True, exist_ok=True)
    vendors = ["sqlite", "postgresql"] if args.database == "both" else [
        "postgresql" if args.database == "postgres" else "sqlite"]
    load = os.getloadavg()[0]
    results = []
    for vendor in vendors if not args.only_memory else ():
        results.append(measure(vendor, rows, args.repeat, workdir))
    print(f"contacts import, {rows:,} rows (2 organizations, 1 group each), batches of {BATCH:,}, "
          f"{args.repeat} repetition(s); Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
          f"load average {load:.1f} → {os.getloadavg()[0]:.1f}")
    print(report(results, args.repeat))
    if args.memory or args.only_memory:
        peaks = {}
        for size in (100_000, 1_000_000):
            path = workdir / f"contacts-{size}.csv"
            if not path.exists():
                generate(path, size)
            db = Database("postgresql", workdir)
            try:
                _run_step(db.url, "setup")
                step = _run_step(db.url, "import", path)
                peaks[size] = step["peak_rss_mb"]
                print(f"  memory: {size:,} rows: peak RSS {step['peak_rss_mb']:,.0f} MB, "
                      f"{_rate(size, step['seconds']):,.0f} rows/s ({step['summary']})")
            finally:
                db.drop()
        print(f"peak RSS, 1,000,000 rows − 100,000 rows: {peaks[1_000_000] - peaks[100_000]:+,.0f} MB")


if __name__ == "__main__":
    main()
